package analysis

import (
	"math"
	"testing"

	"github.com/lora-playground/lora-playground/core/linalg"
)

// withSpectrum returns U·diag(σ)·Vᵀ (d×k) using the first len(σ) columns of
// u (d×n) and v (k×n) starting at column from.
func withSpectrum(u, v *linalg.Dense, from int, sigma ...float64) *linalg.Dense {
	d, _ := u.Dims()
	k, _ := v.Dims()
	out := linalg.NewDense(d, k, nil)
	for n, s := range sigma {
		for i := 0; i < d; i++ {
			for j := 0; j < k; j++ {
				out.Set(i, j, out.At(i, j)+s*u.At(i, from+n)*v.At(j, from+n))
			}
		}
	}
	return out
}

func TestAmplifyKnownAnswers(t *testing.T) {
	rng := newRNG(3)
	u, v := RandomOrthonormal(7, 5, rng), RandomOrthonormal(6, 5, rng)
	wFull := withSpectrum(u, v, 0, 5, 4, 3, 2, 1) // rank 5
	wTop3 := withSpectrum(u, v, 0, 5, 4, 3)       // nothing along columns 3, 4
	for _, tc := range []struct {
		name      string
		w, delta  *linalg.Dense
		r         int
		wantDelta float64 // ‖U_ΔWᵀ W V_ΔW‖_F
		wantW     float64
	}{
		// ΔW lives in W's top-2 subspace (with another spectrum, so another
		// order): the projection is W's top-2 energy √(5²+4²).
		{"ΔW in W's top subspace", wFull, withSpectrum(u, v, 0, 0.1, 0.3), 2, math.Sqrt(41), math.Sqrt(41)},
		// ΔW along W's 4th and 5th directions: √(2²+1²).
		{"ΔW in W's weak directions", wFull, withSpectrum(u, v, 3, 0.5, 0.2), 2, math.Sqrt(5), math.Sqrt(41)},
		// ΔW orthogonal to everything W has: 0.
		{"ΔW orthogonal to W", wTop3, withSpectrum(u, v, 3, 0.5, 0.2), 2, 0, math.Sqrt(41)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Amplify(tc.w, tc.delta, tc.r, 1)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(a.ProjDelta-tc.wantDelta) > 1e-9 || math.Abs(a.ProjW-tc.wantW) > 1e-9 {
				t.Fatalf("proj ΔW %v, W %v; want %v, %v", a.ProjDelta, a.ProjW, tc.wantDelta, tc.wantW)
			}
			if math.Abs(a.NormW-tc.w.Norm()) > 1e-12 || math.Abs(a.NormDelta-tc.delta.Norm()) > 1e-12 {
				t.Fatalf("norms %v %v", a.NormW, a.NormDelta)
			}
			wantFactor := 0.0
			if tc.wantDelta > 0 {
				wantFactor = a.NormDelta / tc.wantDelta
			}
			if math.Abs(a.Factor-wantFactor) > 1e-9 {
				t.Fatalf("factor %v, want %v", a.Factor, wantFactor)
			}
			// W's own directions are the best any orthonormal pair can do
			// (Ky Fan), so they bound the other two.
			if a.ProjRandom > a.ProjW+1e-12 || a.ProjDelta > a.ProjW+1e-12 {
				t.Fatalf("projection onto W's top subspace %v is not the largest (ΔW %v, random %v)", a.ProjW, a.ProjDelta, a.ProjRandom)
			}
		})
	}
}

// W = diag(3, 1), ΔW = diag(0, 2), r = 1: ΔW's direction is e₁ on both
// sides, e₁ᵀWe₁ = 1, so the factor is ‖ΔW‖_F/1 = 2; W's own top is 3.
func TestAmplifyHandComputed(t *testing.T) {
	a, err := Amplify(linalg.NewDense(2, 2, []float64{3, 0, 0, 1}), linalg.NewDense(2, 2, []float64{0, 0, 0, 2}), 1, 5)
	if err != nil {
		t.Fatal(err)
	}
	want := Amplification{R: 1, NormW: math.Sqrt(10), NormDelta: 2, ProjDelta: 1, ProjW: 3, Factor: 2}
	for _, c := range [][2]float64{{a.NormW, want.NormW}, {a.NormDelta, want.NormDelta}, {a.ProjDelta, want.ProjDelta}, {a.ProjW, want.ProjW}, {a.Factor, want.Factor}} {
		if math.Abs(c[0]-c[1]) > 1e-12 {
			t.Fatalf("got %+v, want %+v (random part aside)", a, want)
		}
	}
	if a.ProjRandom > 3 {
		t.Fatalf("random projection %v exceeds σ₁ = 3", a.ProjRandom)
	}
}

// For random orthonormal U (d×r), V (k×r), E‖UᵀWV‖²_F = (r/d)(r/k)‖W‖²_F.
func TestAmplifyRandomMean(t *testing.T) {
	rng := newRNG(4)
	const d, k, r, n = 12, 9, 3, 400
	w := Gaussian(d, k, rng)
	delta := Gaussian(d, k, rng)
	var mean float64
	for seed := uint64(0); seed < n; seed++ {
		a, err := Amplify(w, delta, r, seed)
		if err != nil {
			t.Fatal(err)
		}
		mean += a.ProjRandom * a.ProjRandom / n
	}
	nw := w.Norm()
	want := float64(r*r) / float64(d*k) * nw * nw
	if math.Abs(mean-want) > 0.1*want {
		t.Fatalf("mean ‖UᵀWV‖² over random U, V = %v, want (r²/dk)‖W‖² = %v", mean, want)
	}
}

func TestAmplifyErrors(t *testing.T) {
	w := linalg.NewDense(3, 2, []float64{1, 2, 3, 4, 5, 6})
	for _, tc := range []struct {
		name  string
		delta *linalg.Dense
		r     int
	}{
		{"shape", linalg.NewDense(2, 3, nil), 1},
		{"r=0", linalg.NewDense(3, 2, nil), 0},
		{"r too large", linalg.NewDense(3, 2, nil), 3},
	} {
		if _, err := Amplify(w, tc.delta, tc.r, 1); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func TestPaperTable7Factors(t *testing.T) {
	// The paper rounds: 6.91/0.32 ≈ 21.6, "≈ 21.5" in its text.
	if f := PaperTable7[0].Factor; math.Abs(f-21.5) > 0.2 {
		t.Fatalf("r=4 factor %v", f)
	}
	if f := PaperTable7[1].Factor; math.Abs(f-1.9) > 0.1 {
		t.Fatalf("r=64 factor %v", f)
	}
}
