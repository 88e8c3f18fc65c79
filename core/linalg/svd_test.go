package linalg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// gaussian returns a rows×cols matrix of N(0,1) draws.
func gaussian(rows, cols int, rng *rand.Rand) *Dense {
	m := NewDense(rows, cols, nil)
	for i := range m.Data {
		m.Data[i] = rng.NormFloat64()
	}
	return m
}

// orthonormal returns n×k orthonormal columns (gonum's QR of a Gaussian).
func orthonormal(n, k int, rng *rand.Rand) *Dense {
	var qr mat.QR
	qr.Factorize(toGonum(gaussian(n, k, rng)))
	var q mat.Dense
	qr.QTo(&q)
	return fromGonum(q.Slice(0, n, 0, k))
}

// withSpectrum returns U·diag(sigma)·Vᵀ for random orthonormal U (rows×p)
// and V (cols×p), p = len(sigma).
func withSpectrum(rows, cols int, sigma []float64, rng *rand.Rand) *Dense {
	u, v := orthonormal(rows, len(sigma), rng), orthonormal(cols, len(sigma), rng)
	for i := 0; i < rows; i++ {
		for j, s := range sigma {
			u.Data[i*len(sigma)+j] *= s
		}
	}
	return Mul(u, false, v.T())
}

func toGonum(m *Dense) *mat.Dense { return mat.NewDense(m.Rows, m.Cols, m.Data) }

func fromGonum(m mat.Matrix) *Dense {
	r, c := m.Dims()
	out := NewDense(r, c, nil)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out.Set(i, j, m.At(i, j))
		}
	}
	return out
}

// gonumSVD is the reference: LAPACK's dgesvd as gonum implements it.
func gonumSVD(t *testing.T, a *Dense) (values []float64, u, v *Dense) {
	var svd mat.SVD
	if !svd.Factorize(toGonum(a), mat.SVDThin) {
		t.Fatal("gonum's SVD did not converge")
	}
	var gu, gv mat.Dense
	svd.UTo(&gu)
	svd.VTo(&gv)
	return svd.Values(nil), fromGonum(&gu), fromGonum(&gv)
}

// distanceFromIdentity returns ‖QᵀQ − I‖_max.
func distanceFromIdentity(q *Dense) float64 {
	qtq := Mul(q, true, q)
	var worst float64
	for i := 0; i < qtq.Rows; i++ {
		for j := 0; j < qtq.Cols; j++ {
			want := 0.0
			if i == j {
				want = 1
			}
			worst = max(worst, math.Abs(qtq.At(i, j)-want))
		}
	}
	return worst
}

// projector returns Q·Qᵀ over columns [from, to) of q: it does not depend
// on which orthonormal basis of their span q holds.
func projector(q *Dense, from, to int) *Dense {
	c := NewDense(q.Rows, to-from, nil)
	for i := 0; i < q.Rows; i++ {
		copy(c.Data[i*c.Cols:(i+1)*c.Cols], q.Data[i*q.Cols+from:i*q.Cols+to])
	}
	return Mul(c, false, c.T())
}

func maxAbsDiff(a, b *Dense) float64 {
	var worst float64
	for i, x := range a.Data {
		worst = max(worst, math.Abs(x-b.Data[i]))
	}
	return worst
}

func svdCases() []struct {
	name string
	a    *Dense
} {
	rng := rand.New(rand.NewPCG(1, 2))
	logspace := func(n int, from, to float64) []float64 {
		s := make([]float64, n)
		for i := range s {
			s[i] = math.Pow(10, from+(to-from)*float64(i)/float64(n-1))
		}
		return s
	}
	lowRank := Mul(gaussian(30, 3, rng), false, gaussian(3, 20, rng)) // rank 3, like ΔW = B·A
	zeroColumn := gaussian(9, 6, rng)
	for i := 0; i < 9; i++ {
		zeroColumn.Set(i, 2, 0)
	}
	return []struct {
		name string
		a    *Dense
	}{
		{"1×1", NewDense(1, 1, []float64{-3})},
		{"row 1×7", gaussian(1, 7, rng)},
		{"column 7×1", gaussian(7, 1, rng)},
		{"random square 8×8", gaussian(8, 8, rng)},
		{"tall 40×7", gaussian(40, 7, rng)},
		{"wide 6×30", gaussian(6, 30, rng)},
		{"square 64×64", gaussian(64, 64, rng)},
		{"rank 3 of 30×20 (B·A)", lowRank},
		{"rank 3 of 20×30 (wide)", lowRank.T()},
		{"a zero column 9×6", zeroColumn},
		{"zero 5×4", NewDense(5, 4, nil)},
		{"ill-conditioned 20×15 (σ from 1 to 1e-12)", withSpectrum(20, 15, logspace(15, 0, -12), rng)},
		{"wide ill-conditioned 12×25 (σ from 1e3 to 1e-9)", withSpectrum(12, 25, logspace(12, 3, -9), rng)},
		{"repeated σ = 2, 2, 2, 1, 1 (12×5)", withSpectrum(12, 5, []float64{2, 2, 2, 1, 1}, rng)},
		{"identity 6×6 (all σ repeated)", func() *Dense {
			m := NewDense(6, 6, nil)
			for i := 0; i < 6; i++ {
				m.Set(i, i, 1)
			}
			return m
		}()},
		{"graded 10×10 (rows scaled 1 to 1e-15)", func() *Dense {
			m := gaussian(10, 10, rng)
			for i := 0; i < 10; i++ {
				for j := 0; j < 10; j++ {
					m.Data[i*10+j] *= math.Pow(10, -15*float64(i)/9)
				}
			}
			return m
		}()},
	}
}

// TestFactorizeMatchesGonum holds Factorize to gonum's SVD: the same
// singular values; U and V orthonormal; A = U Σ Vᵀ; and, for each group of
// equal singular values above zero, the same left and right subspaces
// (vectors are unique only up to sign, and up to rotation within a group of
// repeated values, so the test compares projectors onto the groups).
func TestFactorizeMatchesGonum(t *testing.T) {
	for _, tc := range svdCases() {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.a
			orig := append([]float64(nil), a.Data...)
			m, n := a.Dims()
			p := min(m, n)
			s, err := Factorize(a, true)
			if err != nil {
				t.Fatal(err)
			}
			if maxAbsDiff(a, NewDense(m, n, orig)) != 0 {
				t.Fatal("Factorize modified its input")
			}
			wantV, gu, gv := gonumSVD(t, a)
			norm := a.Norm()
			tol := 1e-14 * float64(max(m, n)) * max(norm, 1e-300)
			if len(s.Values) != p {
				t.Fatalf("%d singular values, want %d", len(s.Values), p)
			}
			for k := range p {
				if k > 0 && s.Values[k] > s.Values[k-1] {
					t.Errorf("values not decreasing: %v", s.Values)
				}
				if math.Abs(s.Values[k]-wantV[k]) > tol {
					t.Errorf("σ%d = %.17g, gonum %.17g", k+1, s.Values[k], wantV[k])
				}
			}
			if r, c := s.U.Dims(); r != m || c != p {
				t.Fatalf("U is %d×%d, want %d×%d", r, c, m, p)
			}
			if r, c := s.V.Dims(); r != n || c != p {
				t.Fatalf("V is %d×%d, want %d×%d", r, c, n, p)
			}
			if d := distanceFromIdentity(s.U); d > 1e-13 {
				t.Errorf("UᵀU differs from I by %g", d)
			}
			if d := distanceFromIdentity(s.V); d > 1e-13 {
				t.Errorf("VᵀV differs from I by %g", d)
			}
			us := NewDense(m, p, append([]float64(nil), s.U.Data...))
			for i := 0; i < m; i++ {
				for j := 0; j < p; j++ {
					us.Data[i*p+j] *= s.Values[j]
				}
			}
			if d := maxAbsDiff(Mul(us, false, s.V.T()), a); d > tol {
				t.Errorf("‖A − UΣVᵀ‖_max = %g > %g", d, tol)
			}
			// Groups of (numerically) equal non-zero singular values.
			for from := 0; from < p; {
				to := from + 1
				for to < p && wantV[to-1]-wantV[to] <= 1e-8*wantV[0] {
					to++
				}
				if wantV[from] <= 1e-10*wantV[0] {
					break // the rest is (numerically) zero: its vectors are not unique
				}
				gap := wantV[to-1]
				if to < p {
					gap -= wantV[to]
				}
				ptol := 1e-12 * wantV[0] / gap
				if d := maxAbsDiff(projector(s.U, from, to), projector(gu, from, to)); d > ptol {
					t.Errorf("left subspace of σ%d..σ%d differs from gonum's by %g > %g", from+1, to, d, ptol)
				}
				if d := maxAbsDiff(projector(s.V, from, to), projector(gv, from, to)); d > ptol {
					t.Errorf("right subspace of σ%d..σ%d differs from gonum's by %g > %g", from+1, to, d, ptol)
				}
				from = to
			}
			values, err := SingularValues(a)
			if err != nil {
				t.Fatal(err)
			}
			for k := range p {
				if math.Abs(values[k]-s.Values[k]) > tol {
					t.Errorf("values only: σ%d = %g, with vectors %g", k+1, values[k], s.Values[k])
				}
			}
		})
	}
}

// One-sided Jacobi keeps small singular values accurate relative to
// themselves: on a diagonal matrix scaled by an orthogonal one the
// values are known exactly up to the rounding of the product.
func TestFactorizeSmallValuesRelative(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	q := orthonormal(8, 8, rng)
	want := []float64{1, 1e-3, 1e-6, 1e-9, 1e-12, 1e-15, 1e-18, 1e-21}
	a := NewDense(8, 8, nil) // a = diag(want)·Q: rows of very different sizes
	for i := 0; i < 8; i++ {
		for j := 0; j < 8; j++ {
			a.Set(i, j, want[i]*q.At(i, j))
		}
	}
	got, err := SingularValues(a)
	if err != nil {
		t.Fatal(err)
	}
	for k, w := range want {
		if math.Abs(got[k]-w) > 1e-13*w {
			t.Errorf("σ%d = %.17g, want %g (relative error %.2g)", k+1, got[k], w, math.Abs(got[k]-w)/w)
		}
	}
}

func TestFactorizeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    *Dense
	}{
		{"empty", NewDense(0, 3, nil)},
		{"NaN", NewDense(2, 2, []float64{1, math.NaN(), 0, 1})},
		{"+Inf", NewDense(2, 2, []float64{1, 0, math.Inf(1), 1})},
	} {
		if _, err := Factorize(tc.a, true); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
		if _, err := SingularValues(tc.a); err == nil {
			t.Errorf("%s: values only: no error", tc.name)
		}
	}
}

func ExampleFactorize() {
	// A = [3 0; 4 5] has singular values √45 and √5.
	a := NewDense(2, 2, []float64{3, 0, 4, 5})
	s, err := Factorize(a, true)
	if err != nil {
		panic(err)
	}
	fmt.Printf("σ = %.4f, %.4f (√45 = %.4f, √5 = %.4f)\n", s.Values[0], s.Values[1], math.Sqrt(45), math.Sqrt(5))
	// Σ σ² is ‖A‖²_F.
	fmt.Printf("σ₁² + σ₂² = %.4f = ‖A‖²_F = %.4f\n", s.Values[0]*s.Values[0]+s.Values[1]*s.Values[1], a.Norm()*a.Norm())
	// Output:
	// σ = 6.7082, 2.2361 (√45 = 6.7082, √5 = 2.2361)
	// σ₁² + σ₂² = 50.0000 = ‖A‖²_F = 50.0000
}

func benchmarkSVD(b *testing.B, rows, cols int, ours bool) {
	a := gaussian(rows, cols, rand.New(rand.NewPCG(5, 6)))
	for b.Loop() {
		if ours {
			if _, err := Factorize(a, true); err != nil {
				b.Fatal(err)
			}
		} else {
			var svd mat.SVD
			if !svd.Factorize(toGonum(a), mat.SVDThin) {
				b.Fatal("no convergence")
			}
		}
	}
}

// The sizes the playground factors: a tiny model's q/v (128×128) and MLP
// (512×128) weights. Compare Jacobi's time with gonum's in the same run.
func BenchmarkSVD128x128Jacobi(b *testing.B) { benchmarkSVD(b, 128, 128, true) }
func BenchmarkSVD128x128Gonum(b *testing.B)  { benchmarkSVD(b, 128, 128, false) }
func BenchmarkSVD512x128Jacobi(b *testing.B) { benchmarkSVD(b, 512, 128, true) }
func BenchmarkSVD512x128Gonum(b *testing.B)  { benchmarkSVD(b, 512, 128, false) }
