package analysis

import (
	"fmt"
	"math/rand/v2"

	"github.com/lora-playground/lora-playground/core/linalg"
)

// Amplification is the paper's Table 7 for one layer: how much of W lies in
// the r-dimensional subspaces that ΔW uses, against W's own top subspaces
// and random ones.
type Amplification struct {
	R         int     `json:"r"`          // number of singular directions used
	NormW     float64 `json:"norm_w"`     // ‖W‖_F
	NormDelta float64 `json:"norm_delta"` // ‖ΔW‖_F
	// ‖UᵀWV‖_F with U (d×r), V (k×r) the top-r left and right singular
	// vectors of ΔW, of W, and random orthonormal columns.
	ProjDelta  float64 `json:"proj_delta"`
	ProjW      float64 `json:"proj_w"`
	ProjRandom float64 `json:"proj_random"`
	// Factor = ‖ΔW‖_F / ‖U_ΔWᵀ W V_ΔW‖_F: how much larger ΔW is along its
	// directions than W is (the paper: 6.91/0.32 ≈ 21.5 at r = 4). 0 when
	// undefined: W has nothing (beyond rounding) in ΔW's directions.
	Factor float64 `json:"factor"`
}

// topSingular returns the first r left and right singular vectors of m.
func topSingular(m *linalg.Dense, r int) (u, v *linalg.Dense, err error) {
	svd, err := linalg.Factorize(m, true)
	if err != nil {
		return nil, nil, fmt.Errorf("analysis: %w", err)
	}
	return svd.U.Columns(r), svd.V.Columns(r), nil
}

// Projection returns ‖UᵀWV‖_F for U (d×r), W (d×k), V (k×r).
func Projection(u, w, v *linalg.Dense) float64 {
	return linalg.Mul(linalg.Mul(u, true, w), false, v).Norm()
}

// Amplify computes Table 7's numbers for a layer with weight w (d×k) and
// update delta (d×k), using r singular directions (1 ≤ r ≤ min(d,k)); the
// random directions come from a generator seeded with seed.
func Amplify(w, delta *linalg.Dense, r int, seed uint64) (Amplification, error) {
	d, k := w.Dims()
	if dd, dk := delta.Dims(); dd != d || dk != k {
		return Amplification{}, fmt.Errorf("analysis: W is %d×%d but ΔW is %d×%d", d, k, dd, dk)
	}
	if r < 1 || r > min(d, k) {
		return Amplification{}, fmt.Errorf("analysis: r must be between 1 and %d for a %d×%d layer, got %d", min(d, k), d, k, r)
	}
	a := Amplification{R: r, NormW: w.Norm(), NormDelta: delta.Norm()}
	ud, vd, err := topSingular(delta, r)
	if err != nil {
		return Amplification{}, err
	}
	uw, vw, err := topSingular(w, r)
	if err != nil {
		return Amplification{}, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x2545f4914f6cdd1d))
	ur, vr := RandomOrthonormal(d, r, rng), RandomOrthonormal(k, r, rng)
	a.ProjDelta = Projection(ud, w, vd)
	a.ProjW = Projection(uw, w, vw)
	a.ProjRandom = Projection(ur, w, vr)
	// Below ‖W‖_F·1e-12 the projection is float64 rounding, not W.
	if a.ProjDelta > a.NormW*1e-12 {
		a.Factor = a.NormDelta / a.ProjDelta
	}
	return a, nil
}

// PaperTable7 holds the numbers the paper reports for GPT-3 175B, layer 48,
// W_q (Table 7), for display beside a learner's own.
var PaperTable7 = []Amplification{
	{R: 4, NormW: 61.95, NormDelta: 6.91, ProjDelta: 0.32, ProjW: 21.67, ProjRandom: 0.02, Factor: 6.91 / 0.32},
	{R: 64, NormW: 61.95, NormDelta: 3.57, ProjDelta: 1.90, ProjW: 37.71, ProjRandom: 0.33, Factor: 3.57 / 1.90},
}
