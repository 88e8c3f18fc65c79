package analysis

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/lora-playground/lora-playground/core/linalg"
)

// Similarity is the grid φ(A₁, A₂, i, j) of Eq. 4 for i = 1..R1, j = 1..R2.
type Similarity struct {
	R1 int `json:"r1"` // grid rows: the rank of A₁ (at most K)
	R2 int `json:"r2"` // grid columns: the rank of A₂ (at most K)
	K  int `json:"k"`  // dimension of the input space (A's columns)
	// Phi[i-1][j-1] = ‖V₁⁽ⁱ⁾ᵀ V₂⁽ʲ⁾‖²_F / min(i, j).
	Phi [][]float64 `json:"phi"`
}

// At returns φ(i, j) with 1-based i and j, as in the paper.
func (s Similarity) At(i, j int) float64 { return s.Phi[i-1][j-1] }

// RightSingularVectors returns the right-singular vectors of a (r×k) as the
// columns of a k×min(r,k) matrix, ordered by decreasing singular value.
func RightSingularVectors(a *linalg.Dense) (*linalg.Dense, error) {
	r, k := a.Dims()
	if r < 1 || k < 1 {
		return nil, errors.New("analysis: empty matrix")
	}
	svd, err := linalg.Factorize(a, true)
	if err != nil {
		return nil, fmt.Errorf("analysis: %w", err)
	}
	return svd.V, nil
}

// SubspaceSimilarity returns φ(A₁, A₂, i, j) for every i ≤ rank-dimension of
// A₁ and j of A₂: A₁ is r₁×k, A₂ is r₂×k (the same k), and the grid is
// min(r₁,k) × min(r₂,k).
//
// φ is computed from the prefix sums of the squared entries of
// M = V₁ᵀV₂ (min(r₁,k) × min(r₂,k)): ‖V₁⁽ⁱ⁾ᵀ V₂⁽ʲ⁾‖²_F is the sum of M's
// top-left i×j block.
func SubspaceSimilarity(a1, a2 *linalg.Dense) (Similarity, error) {
	_, k1 := a1.Dims()
	_, k2 := a2.Dims()
	if k1 != k2 {
		return Similarity{}, fmt.Errorf("analysis: the two A matrices read inputs of different sizes (%d and %d columns)", k1, k2)
	}
	v1, err := RightSingularVectors(a1)
	if err != nil {
		return Similarity{}, err
	}
	v2, err := RightSingularVectors(a2)
	if err != nil {
		return Similarity{}, err
	}
	_, n1 := v1.Dims()
	_, n2 := v2.Dims()
	m := linalg.Mul(v1, true, v2) // (n1,n2)
	// cum[i][j] = Σ_{p<i, q<j} M[p][q]²
	cum := make([][]float64, n1+1)
	for i := range cum {
		cum[i] = make([]float64, n2+1)
	}
	for i := 1; i <= n1; i++ {
		for j := 1; j <= n2; j++ {
			x := m.At(i-1, j-1)
			cum[i][j] = x*x + cum[i-1][j] + cum[i][j-1] - cum[i-1][j-1]
		}
	}
	s := Similarity{R1: n1, R2: n2, K: k1, Phi: make([][]float64, n1)}
	for i := 1; i <= n1; i++ {
		s.Phi[i-1] = make([]float64, n2)
		for j := 1; j <= n2; j++ {
			// Rounding can push a sum of squared cosines a hair past min(i,j).
			s.Phi[i-1][j-1] = min(1, max(0, cum[i][j]/float64(min(i, j))))
		}
	}
	return s, nil
}

// ExpectedRandomPhi is E φ(i, j) = max(i, j)/k for two independent uniformly
// random subspaces of R^k (see the package doc for the derivation).
func ExpectedRandomPhi(i, j, k int) float64 { return float64(max(i, j)) / float64(k) }

// Gaussian returns a rows×cols matrix of independent N(0,1) draws from rng.
func Gaussian(rows, cols int, rng *rand.Rand) *linalg.Dense {
	d := make([]float64, rows*cols)
	for i := range d {
		d[i] = rng.NormFloat64()
	}
	return linalg.NewDense(rows, cols, d)
}

// RandomBaseline is φ between two Gaussian matrices of shapes r₁×k and r₂×k,
// drawn from a generator seeded with seed: what SubspaceSimilarity gives when
// the two adapters share nothing.
func RandomBaseline(r1, r2, k int, seed uint64) (Similarity, error) {
	if r1 < 1 || r2 < 1 || k < 1 {
		return Similarity{}, fmt.Errorf("analysis: random baseline needs positive sizes, got r₁=%d r₂=%d k=%d", r1, r2, k)
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	return SubspaceSimilarity(Gaussian(r1, k, rng), Gaussian(r2, k, rng))
}

// Float32Matrix copies a row-major float32 slice into a rows×cols float64
// matrix.
func Float32Matrix(v []float32, rows, cols int) (*linalg.Dense, error) {
	if rows < 1 || cols < 1 || len(v) != rows*cols {
		return nil, fmt.Errorf("analysis: %d values do not make a %d×%d matrix", len(v), rows, cols)
	}
	d := make([]float64, len(v))
	for i, x := range v {
		d[i] = float64(x)
	}
	return linalg.NewDense(rows, cols, d), nil
}
