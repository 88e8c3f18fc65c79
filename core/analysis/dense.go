package analysis

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// Small dense kernels over gonum's storage. Only the SVD comes from gonum:
// its general Mul, Norm and QR would add ~40 KB (gzip) to the training
// worker's wasm for products of matrices no larger than 256×256, which
// these loops compute exactly as well.

// raw returns m's row-major data, rows, cols and stride, copying only when
// m is not a *mat.Dense.
func raw(m mat.Matrix) (data []float64, rows, cols, stride int) {
	if d, ok := m.(*mat.Dense); ok {
		r := d.RawMatrix()
		return r.Data, r.Rows, r.Cols, r.Stride
	}
	rows, cols = m.Dims()
	data = make([]float64, rows*cols)
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			data[i*cols+j] = m.At(i, j)
		}
	}
	return data, rows, cols, cols
}

// frobenius returns ‖m‖_F.
func frobenius(m mat.Matrix) float64 {
	d, rows, cols, stride := raw(m)
	var s float64
	for i := 0; i < rows; i++ {
		for _, x := range d[i*stride : i*stride+cols] {
			s += x * x
		}
	}
	return math.Sqrt(s)
}

// mul returns a·b, or aᵀ·b when transA.
func mul(a mat.Matrix, transA bool, b mat.Matrix) *mat.Dense {
	ad, ar, ac, as := raw(a)
	bd, br, bc, bs := raw(b)
	at := func(i, p int) float64 { return ad[i*as+p] } // a[i][p]
	n, k := ar, ac
	if transA {
		n, k = ac, ar
		at = func(i, p int) float64 { return ad[p*as+i] } // aᵀ[i][p]
	}
	if k != br {
		panic("analysis: inner dimensions differ")
	}
	out := make([]float64, n*bc)
	for i := 0; i < n; i++ {
		row := out[i*bc : (i+1)*bc]
		for p := 0; p < k; p++ {
			x := at(i, p)
			if x == 0 {
				continue
			}
			for j, y := range bd[p*bs : p*bs+bc] {
				row[j] += x * y
			}
		}
	}
	return mat.NewDense(n, bc, out)
}

// firstColumns copies the first r columns of m.
func firstColumns(m *mat.Dense, r int) *mat.Dense {
	d, rows, _, stride := raw(m)
	out := make([]float64, rows*r)
	for i := 0; i < rows; i++ {
		copy(out[i*r:(i+1)*r], d[i*stride:i*stride+r])
	}
	return mat.NewDense(rows, r, out)
}

// axpby sets dst = α·dst + β·x elementwise (same shapes, dense storage).
func axpby(dst *mat.Dense, alpha, beta float64, x *mat.Dense) {
	dd, rows, cols, ds := raw(dst)
	xd, _, _, xs := raw(x)
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			dd[i*ds+j] = alpha*dd[i*ds+j] + beta*xd[i*xs+j]
		}
	}
}

// RandomOrthonormal returns n×r orthonormal columns (n ≥ r), uniformly
// distributed over such bases: the Q of an n×r Gaussian matrix, computed
// by modified Gram–Schmidt applied twice (which keeps the columns
// orthonormal to rounding, as Householder QR would).
func RandomOrthonormal(n, r int, rng *rand.Rand) *mat.Dense {
	if r > n {
		panic("analysis: more orthonormal columns than dimensions")
	}
	g := Gaussian(r, n, rng) // rows are the columns to orthonormalise
	q, _, _, _ := raw(g)
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
	out := make([]float64, n*r)
	for c := 0; c < r; c++ {
		for i := 0; i < n; i++ {
			out[i*r+c] = q[c*n+i]
		}
	}
	return mat.NewDense(n, r, out)
}
