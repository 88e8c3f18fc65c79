package nn

import (
	"math"
	"math/rand/v2"
	"testing"
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
