package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lora-playground/lora-playground/core/kernels"
)

// TestLinearWithTransposeMatchesWithout: giving the layer Wᵀ changes which
// layout each kernel reads, never the numbers. For 32 rows and more every
// build runs the same products in the same order (bit for bit); with fewer
// rows the SIMD build's backward takes the dot-product kernel instead,
// which sums in another order (within float32 rounding).
func TestLinearWithTransposeMatchesWithout(t *testing.T) {
	for _, s := range []struct{ N, In, Out int }{{64, 48, 40}, {512, 128, 128}, {5, 24, 20}, {33, 7, 9}} {
		r := rand.New(rand.NewPCG(uint64(s.N), uint64(s.In)))
		inp, w, b := randSlice(r, s.N*s.In, 1), randSlice(r, s.Out*s.In, 1), randSlice(r, s.Out, 1)
		dout := randSlice(r, s.N*s.Out, 1)
		wt := make([]float32, s.In*s.Out)
		kernels.Transpose(wt, w, s.Out, s.In)

		y0, y1 := make([]float32, s.N*s.Out), make([]float32, s.N*s.Out)
		LinearForward(y0, inp, w, b, s.N, s.In, s.Out)
		LinearForwardT(y1, inp, w, wt, b, s.N, s.In, s.Out)
		d0, d1 := make([]float32, s.N*s.In), make([]float32, s.N*s.In)
		LinearBackward(d0, nil, nil, dout, inp, w, s.N, s.In, s.Out)
		LinearBackwardT(d1, nil, nil, dout, inp, w, wt, s.N, s.In, s.Out)

		exact := s.N >= 32 || !kernels.SIMD
		for _, c := range []struct {
			name      string
			got, want []float32
			k         int
		}{{"forward", y1, y0, s.In}, {"dinp", d1, d0, s.Out}} {
			for i := range c.want {
				diff := math.Abs(float64(c.got[i] - c.want[i]))
				if (exact && diff != 0) || diff > float64(c.k)*1e-6*8 {
					t.Fatalf("%v %s[%d]: %v with Wᵀ, %v without", s, c.name, i, c.got[i], c.want[i])
				}
			}
		}
	}
}
