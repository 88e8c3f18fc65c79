package analysis

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// The small kernels of dense.go agree with gonum's, which the package
// avoids only for the size of the worker's wasm.
func TestDenseKernelsMatchGonum(t *testing.T) {
	rng := newRNG(9)
	a, b, c := Gaussian(5, 7, rng), Gaussian(7, 3, rng), Gaussian(5, 3, rng)
	view := Gaussian(9, 9, rng).Slice(1, 8, 2, 5) // 7×3 with a stride
	for _, tc := range []struct {
		name      string
		got, want mat.Matrix
	}{
		{"a·b", mul(a, false, b), func() mat.Matrix { var m mat.Dense; m.Mul(a, b); return &m }()},
		{"aᵀ·c", mul(a, true, c), func() mat.Matrix { var m mat.Dense; m.Mul(a.T(), c); return &m }()},
		{"a·view", mul(a, false, view), func() mat.Matrix { var m mat.Dense; m.Mul(a, view); return &m }()},
		{"a·bᵀᵀ (not Dense)", mul(a, false, b.T().T()), func() mat.Matrix { var m mat.Dense; m.Mul(a, b); return &m }()},
	} {
		if !mat.EqualApprox(tc.got, tc.want, 1e-12) {
			t.Errorf("%s differs from gonum", tc.name)
		}
	}
	if got, want := frobenius(view), mat.Norm(view, 2); math.Abs(got-want) > 1e-12 {
		t.Errorf("‖view‖_F = %v, gonum %v", got, want)
	}
	d := mat.DenseCopyOf(a)
	axpby(d, 2, -3, a)
	var want mat.Dense
	want.Scale(-1, a)
	if !mat.EqualApprox(d, &want, 1e-12) {
		t.Error("axpby(2, −3) is not −a")
	}
}

func TestRandomOrthonormal(t *testing.T) {
	rng := newRNG(10)
	for _, s := range [][2]int{{1, 1}, {6, 6}, {64, 8}, {256, 64}} {
		q := RandomOrthonormal(s[0], s[1], rng)
		if r, c := q.Dims(); r != s[0] || c != s[1] {
			t.Fatalf("%v: shape %d×%d", s, r, c)
		}
		qtq := mul(q, true, q)
		if !mat.EqualApprox(qtq, eye(s[1]), 1e-12) {
			t.Errorf("%d×%d: QᵀQ is not I", s[0], s[1])
		}
	}
}

func eye(n int) *mat.Dense {
	m := mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		m.Set(i, i, 1)
	}
	return m
}
