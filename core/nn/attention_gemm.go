package nn

import (
	"math"
	"time"

	"github.com/lora-playground/lora-playground/core/kernels"
	"github.com/lora-playground/lora-playground/core/profile"
)

// Attention as per-head matrix products, the form AttentionForward and
// AttentionBackward take when the products run on SIMD kernels
// (kernels.SIMD): each head's q, k, v are (T, hs) sub-matrices of the
// (T, C) activations with row stride C, which kernels.Gemm reads in place.
// Per batch element b and head h, with P = the head's attention weights (T, T):
//
//	forward   S  = Q·Kᵀ (K transposed once per b, all heads), P = causal softmax(S/√hs), O = P·V
//	backward  P again as in the forward pass, then
//	          dP = dO·Vᵀ, dV += Pᵀ·dO, dS = P⊙(dP − rowsum(P⊙dP))/√hs, dQ += dS·K, dK += dSᵀ·Q
//
// The products of a block of rows run over the columns up to the block's
// last row; above the diagonal P and dS are zero there, which adds exact
// zeros. The forward pass sums every score and output in the same order as
// the row-by-row loops and ends each row with the same softmax, so it gives
// the same numbers; the backward pass adds each block's contribution to dq,
// dk, dv as one sum per element instead of term by term, which changes only
// float32 rounding.

// attnBlock is the row block of the causal products: rows r0..r0+attnBlock
// of a head need only the first r0+attnBlock columns, which cuts the
// multiply-adds to about (1 + attnBlock/T)/2 of the full square.
const attnBlock = 16

// headWeightsGemm writes head h's attention weights P (T, T) into p from the
// queries q (at offset o = b·T·C + h·hs, row stride C) and the sequence's
// transposed keys kt (C, T). The forward and the backward pass both call it,
// so the backward pass recomputes exactly the weights the forward pass used.
// t0 is the running profile bracket; it returns the next one.
func headWeightsGemm(p, q, kt []float32, o, h, T, C, hs int, scale float32, t0 time.Duration) time.Duration {
	for r0 := 0; r0 < T; r0 += attnBlock { // S[r0:r1, :r1]
		r1 := min(r0+attnBlock, T)
		kernels.Gemm(p[r0*T:], q[o+r0*C:], kt[h*hs*T:], r1-r0, r1, hs, C, 1, T, T, false)
	}
	t1 := profile.Next(profile.Attention, t0)
	if !kernels.SoftmaxCausalSIMD(p, T, scale) {
		softmaxCausalRows(p, T, scale)
	}
	return profile.Next(profile.Softmax, t1)
}

func attentionForwardGemm(out, q, k, v []float32, B, T, C, NH int) {
	hs := C / NH
	scale := float32(1 / math.Sqrt(float64(hs)))
	s := kernels.Scratch(C*T + T*T)
	kt, p := (*s)[:C*T], (*s)[C*T:] // kt (C, T): the keys of one sequence, transposed; p (T, T): one head's weights
	for b := 0; b < B; b++ {
		base := b * T * C
		t0 := profile.Begin()
		kernels.Transpose(kt, k[base:base+T*C], T, C)
		for h := 0; h < NH; h++ {
			o := base + h*hs
			t0 = headWeightsGemm(p, q, kt, o, h, T, C, hs, scale, t0)
			for r0 := 0; r0 < T; r0 += attnBlock { // O[r0:r1] = P[r0:r1, :r1]·V[:r1]
				r1 := min(r0+attnBlock, T)
				kernels.Gemm(out[o+r0*C:], p[r0*T:], v[o:], r1-r0, hs, r1, T, 1, C, C, false)
			}
		}
		profile.End(profile.Attention, t0)
	}
	kernels.ReleaseScratch(s)
}

// softmaxCausalRows turns the T×T scores p into causal attention weights;
// kernels.SoftmaxCausalSIMD does the same with the same operations.
func softmaxCausalRows(p []float32, T int, scale float32) {
	for t := 0; t < T; t++ {
		row := p[t*T : (t+1)*T]
		for t2 := 0; t2 <= t; t2++ {
			row[t2] *= scale
		}
		softmaxInPlace(row[:t+1])
		clear(row[t+1:])
	}
}

func attentionBackwardGemm(dq, dk, dv, dout, q, k, v []float32, B, T, C, NH int) {
	hs := C / NH
	scale := float32(1 / math.Sqrt(float64(hs)))
	s := kernels.Scratch(2*C*T + 2*T*T)
	// kt, vt (C, T): one sequence's keys and values transposed; p (T, T):
	// one head's weights, recomputed; ds (T, T).
	kt, vt, p, ds := (*s)[:C*T], (*s)[C*T:2*C*T], (*s)[2*C*T:2*C*T+T*T], (*s)[2*C*T+T*T:]
	for b := 0; b < B; b++ {
		base := b * T * C
		t0 := profile.Begin()
		kernels.Transpose(kt, k[base:base+T*C], T, C)
		kernels.Transpose(vt, v[base:base+T*C], T, C)
		for h := 0; h < NH; h++ {
			o := base + h*hs
			t0 = headWeightsGemm(p, q, kt, o, h, T, C, hs, scale, t0)
			for r0 := 0; r0 < T; r0 += attnBlock { // rows r0:r1 need columns :r1 only
				r1 := min(r0+attnBlock, T)
				mb := r1 - r0
				kernels.Gemm(ds[r0*T:], dout[o+r0*C:], vt[h*hs*T:], mb, r1, hs, C, 1, T, T, false) // dP
				kernels.Gemm(dv[o:], p[r0*T:], dout[o+r0*C:], r1, hs, mb, 1, T, C, C, true)        // dV += Pᵀ·dO
				t1 := profile.Next(profile.Attention, t0)
				for t := r0; t < r1; t++ {
					row, g := p[t*T:(t+1)*T], ds[t*T:(t+1)*T]
					var dot float32
					for t2 := 0; t2 <= t; t2++ {
						dot += row[t2] * g[t2]
					}
					for t2 := 0; t2 <= t; t2++ {
						g[t2] = row[t2] * (g[t2] - dot) * scale
					}
					clear(g[t+1 : r1])
				}
				t0 = profile.Next(profile.Softmax, t1)
				kernels.Gemm(dq[o+r0*C:], ds[r0*T:], k[o:], mb, hs, r1, T, 1, C, C, true) // dQ += dS·K
				if dk != nil {
					kernels.Gemm(dk[o:], ds[r0*T:], q[o+r0*C:], r1, hs, mb, 1, T, C, C, true) // dK += dSᵀ·Q
				}
			}
		}
		profile.End(profile.Attention, t0)
	}
	kernels.ReleaseScratch(s)
}
