package linalg

import (
	"errors"
	"math"
	"slices"
)

// maxSweeps bounds the Jacobi sweeps; the matrices the playground factors
// converge in about ten.
const maxSweeps = 60

// SVD is A = U·diag(Values)·Vᵀ for an m×n matrix A, p = min(m, n).
type SVD struct {
	Values []float64 // σ₁ ≥ σ₂ ≥ … ≥ σ_p ≥ 0
	U      *Dense    // m×p, orthonormal columns: the left-singular vectors (nil without vectors)
	V      *Dense    // n×p, orthonormal columns: the right-singular vectors (nil without vectors)
}

// Factorize returns the thin SVD of a, with U and V when vectors is true
// and only the singular values otherwise (cheaper: V's rotations are
// skipped). a is not modified. It fails on an empty matrix, on NaN or
// infinite entries, and if the rotations have not converged after
// maxSweeps sweeps (which the tests have never seen happen).
func Factorize(a *Dense, vectors bool) (SVD, error) {
	m, n := a.Dims()
	if m == 0 || n == 0 {
		return SVD{}, errors.New("linalg: SVD of an empty matrix")
	}
	for _, x := range a.Data {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return SVD{}, errors.New("linalg: SVD of a matrix with NaN or infinite entries")
		}
	}
	// g holds p vectors of length l as rows: the columns of A (tall) or of
	// Aᵀ, i.e. A's rows (wide).
	wide := m < n
	var g *Dense
	if wide {
		g = NewDense(m, n, slices.Clone(a.Data))
	} else {
		g = a.T()
	}
	p, l := g.Dims()
	var r *Dense // rows: the rotations' accumulated columns (R = I to start)
	if vectors {
		r = NewDense(p, p, nil)
		for j := 0; j < p; j++ {
			r.Set(j, j, 1)
		}
	}
	if !jacobi(g, r) {
		return SVD{}, errors.New("linalg: the SVD did not converge")
	}
	// σⱼ = ‖gⱼ‖, in decreasing order.
	sigma := make([]float64, p)
	for j := range sigma {
		sigma[j] = math.Sqrt(dot(row(g, j), row(g, j)))
	}
	order := make([]int, p)
	for j := range order {
		order[j] = j
	}
	slices.SortStableFunc(order, func(i, j int) int { return -cmpFloat(sigma[i], sigma[j]) })
	s := SVD{Values: make([]float64, p)}
	for k, j := range order {
		s.Values[k] = sigma[j]
	}
	if !vectors {
		return s, nil
	}
	// The factored matrix F (l×p: A, or Aᵀ when wide) has F·R = G ᵀ, so its
	// left vectors are gⱼ/σⱼ and its right vectors R's rows.
	left := NewDense(p, l, nil)
	right := NewDense(p, p, nil)
	for k, j := range order {
		if sigma[j] > 0 {
			for i, x := range row(g, j) {
				left.Data[k*l+i] = x / sigma[j]
			}
		}
		copy(row(right, k), row(r, j))
	}
	complete(left, s.Values)
	if wide { // A = (Aᵀ)ᵀ = right·Σ·leftᵀ
		s.U, s.V = right.T(), left.T()
	} else {
		s.U, s.V = left.T(), right.T()
	}
	return s, nil
}

// SingularValues returns the singular values of a, largest first.
func SingularValues(a *Dense) ([]float64, error) {
	s, err := Factorize(a, false)
	return s.Values, err
}

// jacobi rotates pairs of g's rows until they are mutually orthogonal
// (|gₚ·g_q| ≤ √l·ε·‖gₚ‖‖g_q‖ for all pairs), applying each rotation to the
// same rows of r too when r is not nil. It reports whether that happened
// within maxSweeps sweeps.
func jacobi(g, r *Dense) bool {
	p, l := g.Dims()
	tol := math.Sqrt(float64(l)) * 0x1p-52
	for range maxSweeps {
		rotated := false
		for i := 0; i < p-1; i++ {
			for j := i + 1; j < p; j++ {
				gi, gj := row(g, i), row(g, j)
				var alpha, beta, gamma float64 // ‖gᵢ‖², ‖gⱼ‖², gᵢ·gⱼ
				for k, x := range gi {
					y := gj[k]
					alpha += x * x
					beta += y * y
					gamma += x * y
				}
				if math.Abs(gamma) <= tol*math.Sqrt(alpha)*math.Sqrt(beta) {
					continue
				}
				rotated = true
				zeta := (beta - alpha) / (2 * gamma)
				t := math.Copysign(1, zeta) / (math.Abs(zeta) + math.Hypot(1, zeta))
				c := 1 / math.Sqrt(1+t*t)
				rotate(gi, gj, c, c*t)
				if r != nil {
					rotate(row(r, i), row(r, j), c, c*t)
				}
			}
		}
		if !rotated {
			return true
		}
	}
	return false
}

// rotate sets (x, y) ← (c·x − s·y, s·x + c·y).
func rotate(x, y []float64, c, s float64) {
	for k, a := range x {
		b := y[k]
		x[k] = c*a - s*b
		y[k] = s*a + c*b
	}
}

// complete replaces the zero rows of q (those with σ = 0: directions a
// rank-deficient matrix does not have) by unit vectors orthogonal to every
// other row, so that q's rows are orthonormal. Candidates are the unit
// vectors e₀, e₁, … in turn, orthogonalised against all rows twice
// (classical Gram–Schmidt, repeated for accuracy); one is kept when at
// least 1/√(2l) of it remains. One always does: the rows so far span
// k < l dimensions, so Σᵢ ‖(I−P)eᵢ‖² = l − k ≥ 1 and some eᵢ keeps at least
// 1/√l; and a candidate refused once is refused for good, since the span
// only grows, so the scan never goes back.
func complete(q *Dense, sigma []float64) {
	p, l := q.Dims()
	next := 0 // the next unit vector to try
	v := make([]float64, l)
	for k := 0; k < p; k++ {
		if sigma[k] > 0 {
			continue
		}
		for ; next < l; next++ {
			clear(v)
			v[next] = 1
			for range 2 {
				for j := 0; j < p; j++ { // q's zero rows subtract nothing
					u := row(q, j)
					d := dot(u, v)
					for t := range v {
						v[t] -= d * u[t]
					}
				}
			}
			if n := math.Sqrt(dot(v, v)); n*n >= 0.5/float64(l) {
				for t, x := range v {
					q.Data[k*l+t] = x / n
				}
				next++
				break
			}
		}
	}
}

func row(m *Dense, i int) []float64 { return m.Data[i*m.Cols : (i+1)*m.Cols] }

func dot(x, y []float64) float64 {
	var s float64
	for k, a := range x {
		s += a * y[k]
	}
	return s
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
