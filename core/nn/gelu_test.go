package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lora-playground/lora-playground/core/kernels"
	"github.com/lora-playground/lora-playground/core/kernels/simd"
)

// TestGeluMatchesScalar holds GeluForward and GeluBackward (the SIMD128
// kernels in the simd build) equal bit for bit to the scalar loops, over a
// sweep through every branch of Tanh32 and special values. Without SIMD it
// checks the trivial identity.
func TestGeluMatchesScalar(t *testing.T) {
	xs := []float32{0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 1e-8, 0.3, -0.3, 0.6, -0.6, 0.7, 1, -1, 2.5, -2.5,
		4.4, -4.4, 5, -5, 9, -9, 10, -10, 100, -100, 1e20, -1e20, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	r := rand.New(rand.NewPCG(31, 32))
	for i := 0; i < 20000; i++ {
		x := float32(r.NormFloat64() * 3)
		if i%4 == 0 {
			x = float32(r.Float64()*24 - 12)
		}
		xs = append(xs, x)
	}
	// Every length mod 4, so the SIMD part and the scalar tail both run.
	for _, n := range []int{len(xs), len(xs) - 1, len(xs) - 2, len(xs) - 3, 3} {
		inp := xs[:n]
		dout := make([]float32, n)
		for i := range dout {
			dout[i] = float32(r.NormFloat64())
		}
		got, want := make([]float32, n), make([]float32, n)
		GeluForward(got, inp)
		geluForwardScalar(want, inp)
		same(t, "forward", inp, got, want)
		got, want = make([]float32, n), make([]float32, n)
		for i := range got {
			got[i] = float32(i % 7)
			want[i] = got[i]
		}
		GeluBackward(got, inp, dout)
		geluBackwardScalar(want, inp, dout)
		same(t, "backward", inp, got, want)
		inPlace := append([]float32(nil), dout...)
		GeluBackward(inPlace, inp, inPlace)
		same(t, "backward in place", inp, inPlace, want)
	}
}

func same(t *testing.T, what string, inp, got, want []float32) {
	t.Helper()
	for i := range want {
		g, w := got[i], want[i]
		if math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
			t.Fatalf("%s at x = %v (%#x): got %v (%#x), scalar %v (%#x)", what, inp[i], math.Float32bits(inp[i]), g, math.Float32bits(g), w, math.Float32bits(w))
		}
	}
}

// TestLinearForwardBias checks that adding the product to the copied bias
// gives exactly product + bias, as adding the bias afterwards did.
func TestLinearForwardBias(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, s := range []struct{ N, In, Out int }{{1, 128, 128}, {5, 7, 9}, {64, 128, 97}, {512, 128, 8}} {
		inp, w, b := randSlice(r, s.N*s.In, 1), randSlice(r, s.Out*s.In, 0.1), randSlice(r, s.Out, 1)
		got, want := make([]float32, s.N*s.Out), make([]float32, s.N*s.Out)
		LinearForward(got, inp, w, b, s.N, s.In, s.Out)
		kernels.MatMulNT(want, inp, w, s.N, s.Out, s.In, false)
		for i := range want {
			want[i] += b[i%s.Out]
		}
		same(t, "linear", inp, got, want)
	}
}

// TestLayerNormMatchesScalar compares LayerNormForward and the frozen-norm
// LayerNormBackward (SIMD kernels in the simd build, whose row sums run in
// four lanes) with the scalar loops, within float32 rounding.
func TestLayerNormMatchesScalar(t *testing.T) {
	if simd.LayerNormEps != LayerNormEps {
		t.Fatalf("core/kernels/simd's ε %v differs from %v", simd.LayerNormEps, LayerNormEps)
	}
	r := rand.New(rand.NewPCG(61, 62))
	for _, s := range []struct{ N, C int }{{1, 4}, {3, 8}, {5, 6}, {64, 128}, {7, 100}} {
		N, C := s.N, s.C
		inp, w, b := randSlice(r, N*C, 3), randSlice(r, C, 1), randSlice(r, C, 1)
		for i := range inp {
			inp[i] += 5 // an offset, so the mean matters
		}
		out1, m1, s1 := make([]float32, N*C), make([]float32, N), make([]float32, N)
		out2, m2, s2 := make([]float32, N*C), make([]float32, N), make([]float32, N)
		LayerNormForward(out1, m1, s1, inp, w, b, N, C)
		layerNormForwardScalar(out2, m2, s2, inp, w, b, N, C)
		close := func(what string, got, want []float32) {
			t.Helper()
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > 2e-5*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("%v %s[%d] = %v, scalar %v", s, what, i, got[i], want[i])
				}
			}
		}
		close("out", out1, out2)
		close("mean", m1, m2)
		close("rstd", s1, s2)
		dout := randSlice(r, N*C, 1)
		d1, d2 := randSlice(r, N*C, 1), make([]float32, N*C)
		copy(d2, d1)
		LayerNormBackward(d1, nil, nil, dout, inp, w, m2, s2, N, C)
		layerNormBackwardScalar(d2, nil, nil, dout, inp, w, m2, s2, N, C)
		close("dinp", d1, d2)
	}
}
