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
