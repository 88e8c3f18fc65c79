package analysis_test

import (
	"fmt"
	"math"

	"github.com/lora-playground/lora-playground/core/analysis"
	"github.com/lora-playground/lora-playground/core/linalg"
)

// Two rank-1 "adapters" in R² whose A rows are 60° apart share cos²60° =
// 1/4 of their subspace.
func ExampleSubspaceSimilarity() {
	a1 := linalg.NewDense(1, 2, []float64{1, 0})
	a2 := linalg.NewDense(1, 2, []float64{math.Cos(math.Pi / 3), math.Sin(math.Pi / 3)})
	s, _ := analysis.SubspaceSimilarity(a1, a2)
	fmt.Printf("φ(1,1) = %.2f\n", s.At(1, 1))
	// Output: φ(1,1) = 0.25
}

// W = diag(3, 1) and an update ΔW = diag(0, 2) along W's weak direction:
// W has only 1 there, ΔW has 2, an amplification of 2.
func ExampleAmplify() {
	w := linalg.NewDense(2, 2, []float64{3, 0, 0, 1})
	dw := linalg.NewDense(2, 2, []float64{0, 0, 0, 2})
	a, _ := analysis.Amplify(w, dw, 1, 1)
	fmt.Printf("‖UᵀWV‖ with ΔW's U,V: %.2f, with W's: %.2f, factor %.1f\n", a.ProjDelta, a.ProjW, a.Factor)
	// Output: ‖UᵀWV‖ with ΔW's U,V: 1.00, with W's: 3.00, factor 2.0
}
