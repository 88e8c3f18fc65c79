package kernels

import (
	"math/rand"
	"os"
	"testing"
	"time"
)

// alternate times the functions fs in turn, reps rounds of one call each,
// and returns each one's fastest call. On a shared machine the fastest of
// many interleaved calls is the one least disturbed by other processes,
// and interleaving gives every candidate the same conditions, so the
// ratio of two results is a same-run A/B comparison.
func alternate(reps int, fs ...func()) []time.Duration {
	best := make([]time.Duration, len(fs))
	for r := 0; r < reps; r++ {
		for i, f := range fs {
			t0 := time.Now()
			f()
			if d := time.Since(t0); r == 0 || d < best[i] {
				best[i] = d
			}
		}
	}
	return best
}

// goTNWhole is MatMulTN's pure-Go path as it was before k was chunked:
// both operands transposed whole, (m+n)·k floats of scratch. It is kept
// as the baseline of TestKernelAB.
func goTNWhole(out, a, b []float32, m, n, k int, accumulate bool) {
	s := getScratch((m + n) * k)
	at, bt := (*s)[:m*k], (*s)[m*k:]
	transpose(at, a, k, m)
	transpose(bt, b, k, n)
	ntTile(out, at, bt, m, n, k, accumulate)
	putScratch(s)
}

// TestKernelAB prints same-run A/B ratios of the pure-Go kernels against
// their previous forms (best of alternating calls; > 1 means faster now).
// It runs only with LORA_KERNEL_AB=1.
func TestKernelAB(t *testing.T) {
	if os.Getenv("LORA_KERNEL_AB") == "" {
		t.Skip("set LORA_KERNEL_AB=1 to measure")
	}
	for _, s := range []shape{{128, 128, 512}, {512, 128, 512}, {128, 512, 512}, {8, 128, 512}, {128, 8, 512},
		{128, 128, 4096}, {8, 128, 4096}} {
		rng := rand.New(rand.NewSource(6))
		a, b, out := randSlice(rng, s.m*s.k), randSlice(rng, s.n*s.k), make([]float32, s.m*s.n)
		best := alternate(max(15, int(4e8/float64(s.m*s.n*s.k))),
			func() { goTNWhole(out, a, b, s.m, s.n, s.k, true) },
			func() { goTN(out, a, b, s.m, s.n, s.k, true) })
		t.Logf("TN %-13v whole-k %8.0fµs  chunked %8.0fµs  ×%.2f  scratch %d → %d floats", s,
			float64(best[0].Nanoseconds())/1e3, float64(best[1].Nanoseconds())/1e3, float64(best[0])/float64(best[1]),
			(s.m+s.n)*s.k, (s.m+s.n)*min(s.k, tnBlockK))
	} // A frozen weight's products with and without its transpose at hand:
	// the forward X·Wᵀ (NT) and the backward dY·W (NN) of the linear layers
	// (m = B·T = 512 rows), each transposing W per call, or not.
	for _, s := range []struct{ N, In, Out int }{{512, 128, 128}, {512, 128, 512}, {512, 512, 128}, {512, 128, 97}} {
		rng := rand.New(rand.NewSource(7))
		x, w, dy := randSlice(rng, s.N*s.In), randSlice(rng, s.Out*s.In), randSlice(rng, s.N*s.Out)
		wt, y, dx := make([]float32, s.In*s.Out), make([]float32, s.N*s.Out), make([]float32, s.N*s.In)
		Transpose(wt, w, s.Out, s.In)
		reps := max(15, int(4e8/float64(s.N*s.In*s.Out)))
		fwd := alternate(reps,
			func() { MatMulNT(y, x, w, s.N, s.Out, s.In, true) },
			func() { MatMulNTBoth(y, x, w, wt, s.N, s.Out, s.In, true) })
		bwd := alternate(reps,
			func() { MatMulNN(dx, dy, w, s.N, s.In, s.Out, true) },
			func() { MatMulNTBoth(dx, dy, wt, w, s.N, s.In, s.Out, true) })
		t.Logf("linear N=%d In=%d Out=%d: forward X·Wᵀ %7.0fµs → %7.0fµs ×%.3f   backward dY·W %7.0fµs → %7.0fµs ×%.3f (with Wᵀ kept)",
			s.N, s.In, s.Out, float64(fwd[0].Nanoseconds())/1e3, float64(fwd[1].Nanoseconds())/1e3, float64(fwd[0])/float64(fwd[1]),
			float64(bwd[0].Nanoseconds())/1e3, float64(bwd[1].Nanoseconds())/1e3, float64(bwd[0])/float64(bwd[1]))
	}
}
