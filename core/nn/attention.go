package nn

import (
	"math"
	"time"

	"github.com/lora-playground/lora-playground/core/kernels"
	"github.com/lora-playground/lora-playground/core/profile"
)

// AttentionForward is causal multi-head self-attention on already projected
// queries, keys and values. Head h of position t uses channels
// [h·hs, (h+1)·hs) with hs = C/NH:
//
//	att[b,h,t,t2] = softmax_t2≤t( q[b,t,h]·k[b,t2,h] / √hs )
//	out[b,t,h]    = Σ_t2 att[b,h,t,t2] · v[b,t2,h]
//
// out, q, k, v (B,T,C). The attention weights are not kept: each head's
// (T,T) weights live in scratch only while that head is computed, and
// AttentionBackward recomputes them from q and k (one more Q·Kᵀ product
// and softmax) instead of reading B·NH·T·T stored floats — for the
// reference configuration 512 KiB per layer, against 2–3% of a step.
func AttentionForward(out, q, k, v []float32, B, T, C, NH int) {
	if kernels.SIMD {
		attentionForwardGemm(out, q, k, v, B, T, C, NH)
		return
	}
	attentionForwardLoops(out, q, k, v, B, T, C, NH)
}

// attentionForwardLoops is AttentionForward row by row, for scalar code.
func attentionForwardLoops(out, q, k, v []float32, B, T, C, NH int) {
	hs := C / NH
	s := kernels.Scratch(T * T)
	p := *s // one head's weights
	for b := 0; b < B; b++ {
		for h := 0; h < NH; h++ {
			t0 := headWeightsLoops(p, q, k, b, h, T, C, hs, profile.Begin())
			for t := 0; t < T; t++ {
				row := p[t*T : (t+1)*T]
				o := out[(b*T+t)*C+h*hs : (b*T+t)*C+(h+1)*hs]
				for i := range o {
					o[i] = 0
				}
				// Four positions a pass (addRows4), still summing each
				// o[i] in ascending t2: the numbers are the one-at-a-time
				// loop's (and the gemm form's).
				t2 := 0
				for ; t2+4 <= t+1; t2 += 4 {
					off := (b*T+t2)*C + h*hs
					addRows4(o, row[t2:t2+4], v[off:], C)
				}
				for ; t2 <= t; t2++ {
					off := (b*T+t2)*C + h*hs
					addRow(o, row[t2], v[off:off+hs])
				}
			}
			profile.End(profile.Attention, t0)
		}
	}
	kernels.ReleaseScratch(s)
}

// addRows4 adds a[0]·r0 + a[1]·r1 + a[2]·r2 + a[3]·r3 to o, where rj is
// rows[j·stride:][:len(o)], each element summed in that order. Holding o[i]
// in a register across the four rows, with four products to each load and
// store, is what makes the pure-Go attention loops fast; reslicing every row
// to len(o) lets the compiler drop the bounds checks inside.
func addRows4(o, a, rows []float32, stride int) {
	a0, a1, a2, a3 := a[0], a[1], a[2], a[3]
	r0, r1, r2, r3 := rows4(rows, stride, len(o))
	for i, x := range o {
		x += a0 * r0[i]
		x += a1 * r1[i]
		x += a2 * r2[i]
		x += a3 * r3[i]
		o[i] = x
	}
}

// rows4 returns four rows of m, stride apart from its start, each n long.
func rows4(m []float32, stride, n int) (r0, r1, r2, r3 []float32) {
	return m[:n], m[stride:][:n], m[2*stride:][:n], m[3*stride:][:n]
}

// addRow adds a·r to o (r at least as long as o).
func addRow(o []float32, a float32, r []float32) {
	r = r[:len(o)]
	for i := range o {
		o[i] += a * r[i]
	}
}

// headWeightsLoops writes the attention weights of head h of sequence b
// into p (T,T) in three passes over its rows: the scaled scores of every
// row, then the softmax of every row. These are CausalSoftmaxRow's
// operations in its order, so the weights are the decoder's to the bit; the
// passes only let the profile time the softmax apart from the products.
// The forward and the backward pass both call it. t0 is the running profile
// bracket; it returns the next one.
func headWeightsLoops(p, q, k []float32, b, h, T, C, hs int, t0 time.Duration) time.Duration {
	scale := float32(1 / math.Sqrt(float64(hs)))
	for t := 0; t < T; t++ {
		qt := q[(b*T+t)*C+h*hs : (b*T+t)*C+(h+1)*hs]
		causalScores(p[t*T:t*T+t+1], qt, k[b*T*C:], C, h*hs, scale)
	}
	t1 := profile.Next(profile.Attention, t0)
	softmaxCausalRows(p, T, 1)
	return profile.Next(profile.Softmax, t1)
}

// AttentionBackward accumulates dq, dk, dv (B,T,C) from dout (B,T,C),
// recomputing each head's attention weights as AttentionForward made them.
// dk may be nil when nothing needs the keys' gradient (the bottom block
// under LoRA without k_proj, where only the adapters' gradients flow on):
// its products are skipped. With p = att[b,h,t,:] and
// g[t2] = dout[b,t,h]·v[b,t2,h]:
//
//	dv[t2] += p[t2]·dout[t]
//	ds[t2]  = p[t2]·(g[t2] - Σ_j p[j]·g[j])       (softmax backward)
//	dq[t]  += Σ_t2 ds[t2]·k[t2] / √hs,   dk[t2] += ds[t2]·q[t] / √hs
func AttentionBackward(dq, dk, dv, dout, q, k, v []float32, B, T, C, NH int) {
	if kernels.SIMD {
		attentionBackwardGemm(dq, dk, dv, dout, q, k, v, B, T, C, NH)
		return
	}
	attentionBackwardLoops(dq, dk, dv, dout, q, k, v, B, T, C, NH)
}

// attentionBackwardLoops is AttentionBackward row by row, for scalar code.
//
// The softmax backward is fused into these loops, so the profile counts
// all of it as attention.
func attentionBackwardLoops(dq, dk, dv, dout, q, k, v []float32, B, T, C, NH int) {
	hs := C / NH
	scale := float32(1 / math.Sqrt(float64(hs)))
	s := kernels.Scratch(T*T + T)
	p, g := (*s)[:T*T], (*s)[T*T:] // one head's weights, recomputed; g (T)
	for b := 0; b < B; b++ {
		for h := 0; h < NH; h++ {
			t0 := headWeightsLoops(p, q, k, b, h, T, C, hs, profile.Begin())
			for t := 0; t < T; t++ {
				row := p[t*T : (t+1)*T]
				do := dout[(b*T+t)*C+h*hs : (b*T+t)*C+(h+1)*hs]
				var dot float32
				// Four positions a pass, as in the forward pass: four
				// independent dot products (each summed in ascending i)
				// share each load of do, and dot adds them in t2 order.
				t2 := 0
				for ; t2+4 <= t+1; t2 += 4 {
					off := (b*T+t2)*C + h*hs
					v0, v1, v2, v3 := rows4(v[off:], C, len(do))
					d0, d1, d2, d3 := rows4(dv[off:], C, len(do))
					p0, p1, p2, p3 := row[t2], row[t2+1], row[t2+2], row[t2+3]
					var s0, s1, s2, s3 float32
					for i, x := range do {
						s0 += x * v0[i]
						d0[i] += p0 * x
						s1 += x * v1[i]
						d1[i] += p1 * x
						s2 += x * v2[i]
						d2[i] += p2 * x
						s3 += x * v3[i]
						d3[i] += p3 * x
					}
					g[t2], g[t2+1], g[t2+2], g[t2+3] = s0, s1, s2, s3
					dot += p0 * s0
					dot += p1 * s1
					dot += p2 * s2
					dot += p3 * s3
				}
				for ; t2 <= t; t2++ {
					off := (b*T+t2)*C + h*hs
					vt := v[off : off+hs][:len(do)] // as long as do: no bounds checks inside
					dvt := dv[off : off+hs][:len(do)]
					var s float32
					p := row[t2]
					for i := range do {
						s += do[i] * vt[i]
						dvt[i] += p * do[i]
					}
					g[t2] = s
					dot += p * s
				}
				// dq (and dk) four positions a pass; dk is nil when nothing
				// needs it.
				dqt := dq[(b*T+t)*C+h*hs : (b*T+t)*C+(h+1)*hs]
				qt := q[(b*T+t)*C+h*hs : (b*T+t)*C+(h+1)*hs][:len(dqt)]
				t2 = 0
				for ; t2+4 <= t+1; t2 += 4 {
					ds := [4]float32{
						row[t2] * (g[t2] - dot) * scale,
						row[t2+1] * (g[t2+1] - dot) * scale,
						row[t2+2] * (g[t2+2] - dot) * scale,
						row[t2+3] * (g[t2+3] - dot) * scale,
					}
					off := (b*T+t2)*C + h*hs
					if dk == nil {
						addRows4(dqt, ds[:], k[off:], C)
						continue
					}
					k0, k1, k2, k3 := rows4(k[off:], C, len(qt))
					e0, e1, e2, e3 := rows4(dk[off:], C, len(qt))
					for i, x := range qt {
						y := dqt[i]
						y += ds[0] * k0[i]
						e0[i] += ds[0] * x
						y += ds[1] * k1[i]
						e1[i] += ds[1] * x
						y += ds[2] * k2[i]
						e2[i] += ds[2] * x
						y += ds[3] * k3[i]
						e3[i] += ds[3] * x
						dqt[i] = y
					}
				}
				for ; t2 <= t; t2++ {
					ds := row[t2] * (g[t2] - dot) * scale
					off := (b*T+t2)*C + h*hs
					addRow(dqt, ds, k[off:off+hs])
					if dk != nil {
						addRow(dk[off:off+hs], ds, qt)
					}
				}
			}
			profile.End(profile.Attention, t0)
		}
	}
	kernels.ReleaseScratch(s)
}

// CausalSoftmaxRow computes one row of attention weights: for the query qh
// (one head, hs values) against the keys of positions 0..len(row)-1, stored
// in keys with row stride C and the head's channels starting at off:
//
//	row[t2] = softmax_t2( qh·keys[t2, off:off+hs] / √hs )
//
// It is shared by the batched forward pass and the cached decoder so that
// both compute exactly the same numbers.
func CausalSoftmaxRow(row, qh, keys []float32, C, off int) {
	causalScores(row, qh, keys, C, off, float32(1/math.Sqrt(float64(len(qh)))))
	softmaxInPlace(row)
}

// causalScores writes row[t2] = (qh·keys[t2, off:off+hs])·scale, each dot
// product summed in ascending order.
//
// Four keys at a time share each load of qh (each dot product still sums
// in ascending order on its own, so the scores are the same).
func causalScores(row, qh, keys []float32, C, off int, scale float32) {
	hs := len(qh)
	t2 := 0
	for ; t2+4 <= len(row); t2 += 4 {
		k0 := keys[t2*C+off : t2*C+off+hs]
		k1 := keys[(t2+1)*C+off : (t2+1)*C+off+hs][:len(k0)]
		k2 := keys[(t2+2)*C+off : (t2+2)*C+off+hs][:len(k0)]
		k3 := keys[(t2+3)*C+off : (t2+3)*C+off+hs][:len(k0)]
		var s0, s1, s2, s3 float32
		for i, x := range qh[:len(k0)] {
			s0 += x * k0[i]
			s1 += x * k1[i]
			s2 += x * k2[i]
			s3 += x * k3[i]
		}
		row[t2], row[t2+1], row[t2+2], row[t2+3] = s0*scale, s1*scale, s2*scale, s3*scale
	}
	for ; t2 < len(row); t2++ {
		kt := keys[t2*C+off : t2*C+off+hs]
		var s float32
		for i := range qh {
			s += qh[i] * kt[i]
		}
		row[t2] = s * scale
	}
}

// softmaxInPlace replaces row by softmax(row), subtracting the maximum
// first. CausalSoftmaxRow and the per-head matrix form of AttentionForward
// both end with it, so they compute the same weights from the same scores.
func softmaxInPlace(row []float32) {
	maxv := float32(math.Inf(-1))
	for _, s := range row {
		if s > maxv {
			maxv = s
		}
	}
	var sum float32
	for t2, s := range row {
		e := kernels.Exp32(s - maxv)
		row[t2] = e
		sum += e
	}
	inv := 1 / sum
	for t2 := range row {
		row[t2] *= inv
	}
}
