package analysis

import (
	"math"
	"math/rand/v2"

	"github.com/lora-playground/lora-playground/core/linalg"
)

// axpby sets dst = α·dst + β·x elementwise (same shapes).
func axpby(dst *linalg.Dense, alpha, beta float64, x *linalg.Dense) {
	for i, v := range x.Data {
		dst.Data[i] = alpha*dst.Data[i] + beta*v
	}
}

// RandomOrthonormal returns n×r orthonormal columns (n ≥ r), uniformly
// distributed over such bases: the Q of an n×r Gaussian matrix, computed
// by modified Gram–Schmidt applied twice (which keeps the columns
// orthonormal to rounding, as Householder QR would).
func RandomOrthonormal(n, r int, rng *rand.Rand) *linalg.Dense {
	if r > n {
		panic("analysis: more orthonormal columns than dimensions")
	}
	q := Gaussian(r, n, rng).Data // rows are the columns to orthonormalise
	for c := 0; c < r; c++ {
		v := q[c*n : (c+1)*n]
		for range 2 {
			for p := 0; p < c; p++ {
				u := q[p*n : (p+1)*n]
				var dot float64
				for i := range v {
					dot += u[i] * v[i]
				}
				for i := range v {
					v[i] -= dot * u[i]
				}
			}
		}
		var s float64
		for _, x := range v {
			s += x * x
		}
		s = 1 / math.Sqrt(s)
		for i := range v {
			v[i] *= s
		}
	}
	return linalg.NewDense(r, n, q).T()
}
