package analysis

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lora-playground/lora-playground/core/linalg"
)

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }

func allPhi(t *testing.T, s Similarity, want, tol float64) {
	t.Helper()
	for i := 1; i <= s.R1; i++ {
		for j := 1; j <= s.R2; j++ {
			if got := s.At(i, j); math.Abs(got-want) > tol {
				t.Fatalf("φ(%d,%d) = %.9f, want %v", i, j, got, want)
			}
		}
	}
}

func TestSubspaceSimilarityKnownAnswers(t *testing.T) {
	rng := newRNG(1)
	a := Gaussian(4, 10, rng)
	// Q·A with Q orthogonal (4×4) and a scale: same right-singular vectors,
	// only the left ones rotate.
	q := RandomOrthonormal(4, 4, rng)
	qa := linalg.Mul(q, false, a)
	axpby(qa, -3.5, 0, qa)
	// Rows of B in span(e₀..e₂), rows of C in span(e₅..e₈): orthogonal.
	b, c := linalg.NewDense(3, 10, nil), linalg.NewDense(4, 10, nil)
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			b.Set(i, j, rng.NormFloat64())
		}
	}
	for i := 0; i < 4; i++ {
		for j := 5; j < 9; j++ {
			c.Set(i, j, rng.NormFloat64())
		}
	}
	for _, tc := range []struct {
		name   string
		a1, a2 *linalg.Dense
		want   float64
	}{
		{"identical", a, a, 1},
		{"scaled and rotated within the subspace", a, qa, 1},
		{"orthogonal", b, c, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := SubspaceSimilarity(tc.a1, tc.a2)
			if err != nil {
				t.Fatal(err)
			}
			r1, _ := tc.a1.Dims()
			r2, _ := tc.a2.Dims()
			if s.R1 != r1 || s.R2 != r2 || s.K != 10 {
				t.Fatalf("grid %d×%d k=%d, want %d×%d k=10", s.R1, s.R2, s.K, r1, r2)
			}
			allPhi(t, s, tc.want, 1e-9)
		})
	}
}

// A full-rank mix M·A keeps A's row space, so φ at full size is 1, though
// the order of directions (and so the smaller i, j) changes.
func TestSubspaceSimilarityMixedBasisFullSize(t *testing.T) {
	rng := newRNG(2)
	a := Gaussian(3, 7, rng)
	m := linalg.NewDense(3, 3, []float64{1, 2, 0, 0, 1, 5, 3, 0, 1})
	s, err := SubspaceSimilarity(a, linalg.Mul(m, false, a))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.At(3, 3); math.Abs(got-1) > 1e-9 {
		t.Fatalf("φ(3,3) = %v, want 1", got)
	}
	// φ(i, 3) = 1 for every i: A's top-i directions lie inside MA's 3.
	for i := 1; i <= 3; i++ {
		if got := s.At(i, 3); math.Abs(got-1) > 1e-9 {
			t.Fatalf("φ(%d,3) = %v, want 1", i, got)
		}
	}
}

// Hand-computed: in R², A₁ = [1 0] and A₂ = [cos θ, sin θ] give φ(1,1) =
// cos²θ. In R³, A₁ = diag(2,1) on (e₀, e₁) has top direction e₀ then e₁;
// A₂ = [1 1 0]/√2: φ(1,1) = (e₀·a)² = 1/2, φ(2,1) = (1/2 + 1/2)/1 = 1.
func TestSubspaceSimilarityHandComputed(t *testing.T) {
	for _, theta := range []float64{0, 0.3, math.Pi / 4, 1.2, math.Pi / 2} {
		s, err := SubspaceSimilarity(linalg.NewDense(1, 2, []float64{1, 0}), linalg.NewDense(1, 2, []float64{math.Cos(theta), math.Sin(theta)}))
		if err != nil {
			t.Fatal(err)
		}
		if want := math.Pow(math.Cos(theta), 2); math.Abs(s.At(1, 1)-want) > 1e-12 {
			t.Errorf("θ=%v: φ = %v, want cos²θ = %v", theta, s.At(1, 1), want)
		}
	}
	a1 := linalg.NewDense(2, 3, []float64{2, 0, 0, 0, 1, 0})
	a2 := linalg.NewDense(1, 3, []float64{1 / math.Sqrt2, 1 / math.Sqrt2, 0})
	s, err := SubspaceSimilarity(a1, a2)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		i, j int
		want float64
	}{{1, 1, 0.5}, {2, 1, 1}} {
		if got := s.At(c.i, c.j); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("φ(%d,%d) = %v, want %v", c.i, c.j, got, c.want)
		}
	}
}

// The mean of φ over random pairs is max(i,j)/k (package doc). 300 pairs
// put the standard error of each cell below 0.003; the tolerance is 0.015.
func TestRandomBaselineMean(t *testing.T) {
	const r1, r2, k, n = 4, 8, 32, 300
	mean := make([][]float64, r1)
	for i := range mean {
		mean[i] = make([]float64, r2)
	}
	for seed := uint64(0); seed < n; seed++ {
		s, err := RandomBaseline(r1, r2, k, seed)
		if err != nil {
			t.Fatal(err)
		}
		for i := range mean {
			for j := range mean[i] {
				mean[i][j] += s.Phi[i][j] / n
			}
		}
	}
	for i := 1; i <= r1; i++ {
		for j := 1; j <= r2; j++ {
			if want := ExpectedRandomPhi(i, j, k); math.Abs(mean[i-1][j-1]-want) > 0.015 {
				t.Errorf("mean φ(%d,%d) = %.4f, want max(i,j)/k = %.4f", i, j, mean[i-1][j-1], want)
			}
		}
	}
}

func TestRandomBaselineSeeded(t *testing.T) {
	x, _ := RandomBaseline(3, 5, 16, 7)
	y, _ := RandomBaseline(3, 5, 16, 7)
	z, _ := RandomBaseline(3, 5, 16, 8)
	if x.At(2, 3) != y.At(2, 3) {
		t.Fatal("the same seed gave different baselines")
	}
	if x.At(2, 3) == z.At(2, 3) {
		t.Fatal("different seeds gave the same baseline")
	}
}

func TestSubspaceSimilarityErrors(t *testing.T) {
	if _, err := SubspaceSimilarity(linalg.NewDense(2, 3, nil), linalg.NewDense(2, 4, nil)); err == nil {
		t.Fatal("A matrices with different input sizes were accepted")
	}
	if _, err := RandomBaseline(0, 2, 4, 1); err == nil {
		t.Fatal("rank 0 accepted")
	}
	if _, err := Float32Matrix([]float32{1, 2, 3}, 2, 2); err == nil {
		t.Fatal("3 values accepted as 2×2")
	}
}
