package linalg

import (
	"fmt"
	"math"
)

// Dense is a rows×cols matrix of float64 stored row-major: element (i, j)
// is Data[i*Cols+j].
type Dense struct {
	Rows, Cols int
	Data       []float64
}

// NewDense returns a rows×cols matrix holding data (not copied), or zeros
// when data is nil. It panics when len(data) is not rows·cols.
func NewDense(rows, cols int, data []float64) *Dense {
	if rows < 0 || cols < 0 {
		panic(fmt.Sprintf("linalg: negative shape %d×%d", rows, cols))
	}
	if data == nil {
		data = make([]float64, rows*cols)
	}
	if len(data) != rows*cols {
		panic(fmt.Sprintf("linalg: %d values do not make a %d×%d matrix", len(data), rows, cols))
	}
	return &Dense{Rows: rows, Cols: cols, Data: data}
}

// Dims returns the number of rows and columns.
func (m *Dense) Dims() (rows, cols int) { return m.Rows, m.Cols }

// At returns element (i, j).
func (m *Dense) At(i, j int) float64 { return m.Data[i*m.Cols+j] }

// Set sets element (i, j) to v.
func (m *Dense) Set(i, j int, v float64) { m.Data[i*m.Cols+j] = v }

// T returns the transpose of m as a new matrix.
func (m *Dense) T() *Dense {
	t := NewDense(m.Cols, m.Rows, nil)
	for i := 0; i < m.Rows; i++ {
		for j, x := range m.Data[i*m.Cols : (i+1)*m.Cols] {
			t.Data[j*m.Rows+i] = x
		}
	}
	return t
}

// Mul returns a·b, or aᵀ·b when transA. It panics when the inner
// dimensions differ.
func Mul(a *Dense, transA bool, b *Dense) *Dense {
	n, k := a.Rows, a.Cols
	at := func(i, p int) float64 { return a.Data[i*a.Cols+p] } // a[i][p]
	if transA {
		n, k = a.Cols, a.Rows
		at = func(i, p int) float64 { return a.Data[p*a.Cols+i] } // aᵀ[i][p]
	}
	if k != b.Rows {
		panic(fmt.Sprintf("linalg: cannot multiply: inner dimensions %d and %d differ", k, b.Rows))
	}
	out := NewDense(n, b.Cols, nil)
	for i := 0; i < n; i++ {
		row := out.Data[i*b.Cols : (i+1)*b.Cols]
		for p := 0; p < k; p++ {
			x := at(i, p)
			if x == 0 {
				continue
			}
			for j, y := range b.Data[p*b.Cols : (p+1)*b.Cols] {
				row[j] += x * y
			}
		}
	}
	return out
}

// Norm returns the Frobenius norm ‖m‖_F = √(Σᵢⱼ mᵢⱼ²).
func (m *Dense) Norm() float64 {
	var s float64
	for _, x := range m.Data {
		s += x * x
	}
	return math.Sqrt(s)
}

// Columns returns a copy of the first n columns of m.
func (m *Dense) Columns(n int) *Dense {
	out := NewDense(m.Rows, n, nil)
	for i := 0; i < m.Rows; i++ {
		copy(out.Data[i*n:(i+1)*n], m.Data[i*m.Cols:i*m.Cols+n])
	}
	return out
}
