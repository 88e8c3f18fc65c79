package main

import (
	"errors"
	"fmt"
	"math"

	"github.com/lora-playground/lora-playground/core/linalg"
)

// float32Eps is the spacing of float32 numbers near 1 (2⁻²³). ΔW is
// computed in float32, so singular values below σ₁·max(m,n)·ε are rounding
// noise, not directions the adapter has learnt.
const float32Eps = 1.0 / (1 << 23)

// singularValues returns the singular values of the rows×cols row-major
// matrix v, largest first, computed in float64 by core/linalg's SVD
// (one-sided Jacobi, values only; its tests hold it equal to gonum's).
func singularValues(v []float32, rows, cols int) ([]float64, error) {
	if rows*cols != len(v) || rows < 1 || cols < 1 {
		return nil, errors.New("singular values: matrix shape does not match its data")
	}
	d := make([]float64, len(v))
	for i, x := range v {
		d[i] = float64(x)
	}
	sv, err := linalg.SingularValues(linalg.NewDense(rows, cols, d))
	if err != nil {
		return nil, fmt.Errorf("singular values: %v", err)
	}
	return sv, nil
}

// numericalRank counts the singular values above tol = σ₁·max(rows,cols)·ε
// (the rank rule of numpy.linalg.matrix_rank, with float32's ε). A LoRA
// update ΔW = s·B·A has B (out×r) and A (r×in), so its rank is at most r
// whatever the layer's size: this is the number the playground shows
// beside r.
func numericalRank(sv []float64, rows, cols int) (rank int, tol float64) {
	if len(sv) == 0 {
		return 0, 0
	}
	tol = sv[0] * float64(max(rows, cols)) * float32Eps
	for _, s := range sv {
		if s > tol && !math.IsNaN(s) {
			rank++
		}
	}
	return rank, tol
}
