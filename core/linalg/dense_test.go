package linalg

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// Mul, T, Norm and Columns agree with gonum's, which the package avoids
// only for the size of the worker's wasm.
func TestDenseMatchesGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 1))
	a, b, c := gaussian(5, 7, rng), gaussian(7, 3, rng), gaussian(5, 3, rng)
	ga, gb, gc := toGonum(a), toGonum(b), toGonum(c)
	for _, tc := range []struct {
		name string
		got  *Dense
		want mat.Matrix
	}{
		{"a·b", Mul(a, false, b), func() mat.Matrix { var m mat.Dense; m.Mul(ga, gb); return &m }()},
		{"aᵀ·c", Mul(a, true, c), func() mat.Matrix { var m mat.Dense; m.Mul(ga.T(), gc); return &m }()},
		{"aᵀ", a.T(), ga.T()},
		{"first 4 columns of a", a.Columns(4), ga.Slice(0, 5, 0, 4)},
	} {
		if !mat.EqualApprox(toGonum(tc.got), tc.want, 1e-12) {
			t.Errorf("%s differs from gonum", tc.name)
		}
	}
	if got, want := a.Norm(), mat.Norm(ga, 2); math.Abs(got-want) > 1e-12 {
		t.Errorf("‖a‖_F = %v, gonum %v", got, want)
	}
}

func TestNewDensePanicsOnBadShape(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("3 values accepted as 2×2")
		}
	}()
	NewDense(2, 2, []float64{1, 2, 3})
}
