package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lora-playground/lora-playground/core/kernels"
)

// TestAttentionGemmMatchesLoops compares the per-head matrix form of
// attention (what the SIMD build runs) with the row-by-row loops (what
// every other build runs), whichever of them AttentionForward and
// AttentionBackward use here: the forward pass bit for bit, the backward
// pass within float32 rounding.
func TestAttentionGemmMatchesLoops(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, c := range []struct{ B, T, C, NH int }{{1, 1, 4, 2}, {2, 5, 6, 2}, {2, 16, 32, 4}, {1, 37, 32, 2}, {1, 64, 128, 4}} {
		B, T, C, NH := c.B, c.T, c.C, c.NH
		q, k, v := randSlice(r, B*T*C, 1), randSlice(r, B*T*C, 1), randSlice(r, B*T*C, 1)
		dout := randSlice(r, B*T*C, 1)
		out1, out2 := make([]float32, B*T*C), make([]float32, B*T*C)
		attentionForwardLoops(out1, q, k, v, B, T, C, NH)
		attentionForwardGemm(out2, q, k, v, B, T, C, NH)
		for i := range out1 {
			if out1[i] != out2[i] {
				t.Fatalf("%v: out[%d] loops %v, gemm %v", c, i, out1[i], out2[i])
			}
		}
		// The weights both forms compute (and recompute in the backward
		// pass), head by head, over stale values above the diagonal.
		hs := C / NH
		kt := make([]float32, C*T)
		for b := 0; b < B; b++ {
			kernels.Transpose(kt, k[b*T*C:(b+1)*T*C], T, C)
			for h := 0; h < NH; h++ {
				p1, p2 := make([]float32, T*T), make([]float32, T*T)
				for i := range p1 {
					p1[i], p2[i] = 7, 7
				}
				headWeightsLoops(p1, q, k, b, h, T, C, hs, 0)
				headWeightsGemm(p2, q, kt, b*T*C+h*hs, h, T, C, hs, float32(1/math.Sqrt(float64(hs))), 0)
				for i := range p1 {
					if p1[i] != p2[i] || (i%T > i/T && p1[i] != 0) {
						t.Fatalf("%v: b %d h %d weight %d loops %v, gemm %v", c, b, h, i, p1[i], p2[i])
					}
				}
			}
		}
		init := randSlice(r, 3*B*T*C, 1) // backward accumulates into what is there
		g1 := append([]float32(nil), init...)
		g2 := append([]float32(nil), init...)
		n := B * T * C
		attentionBackwardLoops(g1[:n], g1[n:2*n], g1[2*n:], dout, q, k, v, B, T, C, NH)
		attentionBackwardGemm(g2[:n], g2[n:2*n], g2[2*n:], dout, q, k, v, B, T, C, NH)
		for i := range g1 {
			if d := math.Abs(float64(g1[i] - g2[i])); d > 1e-5*(1+math.Abs(float64(g1[i]))) {
				t.Fatalf("%v: gradient %d (of dq|dk|dv) loops %v, gemm %v", c, i, g1[i], g2[i])
			}
		}
		// Without dk (nil), dq and dv are the very numbers computed with it.
		for _, variant := range []struct {
			name string
			run  func(dq, dk, dv []float32)
			want []float32
		}{
			{"loops", func(dq, dk, dv []float32) { attentionBackwardLoops(dq, dk, dv, dout, q, k, v, B, T, C, NH) }, g1},
			{"gemm", func(dq, dk, dv []float32) { attentionBackwardGemm(dq, dk, dv, dout, q, k, v, B, T, C, NH) }, g2},
		} {
			g := append([]float32(nil), init...)
			variant.run(g[:n], nil, g[2*n:])
			for i := range g {
				if i >= n && i < 2*n {
					continue
				}
				if g[i] != variant.want[i] {
					t.Fatalf("%v %s without dk: gradient %d (of dq|·|dv) %v, with dk %v", c, variant.name, i, g[i], variant.want[i])
				}
			}
		}
	}
}

// TestSoftmaxCausalMatchesRows holds kernels.SoftmaxCausalSIMD (in the simd
// build) equal bit for bit to the row loop, for every T mod 4 and scores
// that reach Exp32's underflow limit, infinities and NaN.
func TestSoftmaxCausalMatchesRows(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	for T := 1; T <= 13; T++ {
		for _, spread := range []float64{1, 10, 100} {
			p := randSlice(r, T*T, float32(spread))
			if T > 3 {
				p[T+1] = float32(math.Inf(-1))
				p[2*T+2] = float32(math.Inf(1))
				p[3*T] = float32(math.NaN())
			}
			got, want := append([]float32(nil), p...), append([]float32(nil), p...)
			if !kernels.SoftmaxCausalSIMD(got, T, 0.17677669) {
				softmaxCausalRows(got, T, 0.17677669)
			}
			softmaxCausalRows(want, T, 0.17677669)
			same(t, "softmax", p, got, want)
		}
	}
}

// attentionOneAtATime is attention's forward and backward pass one key
// position at a time, the plain form of attentionForwardLoops and
// attentionBackwardLoops (which take four positions a pass for speed): the
// reference TestAttentionLoopsMatchOneAtATime holds them to, bit for bit.
// It reuses headWeightsLoops for the weights.
func attentionOneAtATime(out, dq, dk, dv, dout, q, k, v []float32, B, T, C, NH int) {
	hs := C / NH
	scale := float32(1 / math.Sqrt(float64(hs)))
	p, g := make([]float32, T*T), make([]float32, T)
	for b := 0; b < B; b++ {
		for h := 0; h < NH; h++ {
			headWeightsLoops(p, q, k, b, h, T, C, hs, 0)
			for t := 0; t < T; t++ {
				row := p[t*T : (t+1)*T]
				at := (b*T+t)*C + h*hs
				if out != nil {
					o := out[at : at+hs]
					clear(o)
					for t2 := 0; t2 <= t; t2++ {
						vt := v[(b*T+t2)*C+h*hs:]
						for i := range o {
							o[i] += row[t2] * vt[i]
						}
					}
					continue
				}
				do := dout[at : at+hs]
				var dot float32
				for t2 := 0; t2 <= t; t2++ {
					off := (b*T+t2)*C + h*hs
					var s float32
					for i := range do {
						s += do[i] * v[off+i]
						dv[off+i] += row[t2] * do[i]
					}
					g[t2] = s
					dot += row[t2] * s
				}
				for t2 := 0; t2 <= t; t2++ {
					ds := row[t2] * (g[t2] - dot) * scale
					off := (b*T+t2)*C + h*hs
					for i := 0; i < hs; i++ {
						dq[at+i] += ds * k[off+i]
						if dk != nil {
							dk[off+i] += ds * q[at+i]
						}
					}
				}
			}
		}
	}
}

// TestAttentionLoopsMatchOneAtATime: the four-positions-a-pass loops sum
// every element in the order of the one-position loops, so their numbers
// are the same to the bit, for every T mod 4, with and without dk.
func TestAttentionLoopsMatchOneAtATime(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, c := range []struct{ B, T, C, NH int }{{1, 1, 4, 2}, {2, 5, 6, 2}, {1, 6, 8, 2}, {2, 7, 8, 2}, {2, 16, 32, 4}, {1, 37, 32, 2}, {1, 64, 128, 4}} {
		B, T, C, NH := c.B, c.T, c.C, c.NH
		n := B * T * C
		q, k, v := randSlice(r, n, 1), randSlice(r, n, 1), randSlice(r, n, 1)
		dout := randSlice(r, n, 1)
		got, want := make([]float32, n), make([]float32, n)
		attentionForwardLoops(got, q, k, v, B, T, C, NH)
		attentionOneAtATime(want, nil, nil, nil, nil, q, k, v, B, T, C, NH)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%v: out[%d] = %v, one at a time %v", c, i, got[i], want[i])
			}
		}
		for _, withDK := range []bool{true, false} {
			init := randSlice(r, 3*n, 1) // backward accumulates into what is there
			g1 := append([]float32(nil), init...)
			g2 := append([]float32(nil), init...)
			dk1, dk2 := g1[n:2*n], g2[n:2*n]
			if !withDK {
				dk1, dk2 = nil, nil
			}
			attentionBackwardLoops(g1[:n], dk1, g1[2*n:], dout, q, k, v, B, T, C, NH)
			attentionOneAtATime(nil, g2[:n], dk2, g2[2*n:], dout, q, k, v, B, T, C, NH)
			for i := range g1 {
				if g1[i] != g2[i] {
					t.Fatalf("%v, dk %v: gradient %d (of dq|dk|dv) = %v, one at a time %v", c, withDK, i, g1[i], g2[i])
				}
			}
		}
	}
}
