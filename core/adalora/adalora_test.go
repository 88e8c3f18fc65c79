package adalora

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/lora-playground/lora-playground/core/lora"
)

func TestBudgetScheduleHandComputed(t *testing.T) {
	// T = 100, t_init = 10, t_final = 20: the cube runs over t ∈ (10, 80),
	// b⁽⁰⁾ = 48, b⁽ᵀ⁾ = 16, ΔT = 5. b(t) = ⌊16 + 32·(1 − (t−10)/70)³⌋.
	for _, c := range []struct {
		t, budget int
		prune     bool
	}{
		{0, 48, false},
		{10, 48, false}, // still warm-up
		{15, 41, true},  // 16 + 32·(13/14)³ = 16 + 32·2197/2744 = 41.62 → 41
		{45, 20, true},  // 16 + 32·(1/2)³ = 20
		{46, 19, false}, // 16 + 32·(34/70)³ = 19.667 → 19, not a multiple of 5
		{80, 16, true},  // T − t_final: the final allocation
		{81, 16, true},  // fixed afterwards
		{100, 16, true}, // the last step
		{150, 16, true}, // training beyond T keeps the target
	} {
		b, p := Budget(c.t, 100, 48, 16, 10, 20, 5)
		want := c.budget
		if b != want || p != c.prune {
			t.Errorf("Budget(%d) = %d, %v; want %d, %v", c.t, b, p, want, c.prune)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig(100)
	if err := ok.Validate(100); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		mut  func(*Config)
		want string
	}{
		{"target above init", func(c *Config) { c.TargetRank = 13 }, "target rank"},
		{"init 0", func(c *Config) { c.InitRank = 0 }, "initial rank"},
		{"no pruning steps", func(c *Config) { c.WarmupSteps, c.FinalSteps = 50, 50 }, "leave no steps"},
		{"interval 0", func(c *Config) { c.Interval = 0 }, "interval"},
		{"beta 1", func(c *Config) { c.Beta1 = 1 }, "beta1"},
		{"negative gamma", func(c *Config) { c.OrthReg = -1 }, "orthogonality"},
		{"unknown module", func(c *Config) { c.Targets = []string{"c_attn"} }, "unknown target"},
		{"NaN alpha", func(c *Config) { c.Alpha = math.NaN() }, "alpha"},
	} {
		cfg := ok
		c.mut(&cfg)
		if err := cfg.Validate(100); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

func randSlice(r *rand.Rand, n int, scale float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64() * scale)
	}
	return s
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// checkGrad compares analytic with central differences of loss over x.
func checkGrad(t *testing.T, name string, x, analytic []float32, loss func() float64) {
	t.Helper()
	const h = 1e-2
	for i := range x {
		orig := x[i]
		x[i] = orig + h
		lp := loss()
		x[i] = orig - h
		lm := loss()
		x[i] = orig
		num := (lp - lm) / (2 * h)
		if d := math.Abs(num - float64(analytic[i])); d > 1e-2*math.Max(math.Abs(num), math.Abs(float64(analytic[i])))+1e-3 {
			t.Fatalf("%s[%d]: finite difference %.6g, backward %.6g", name, i, num, analytic[i])
		}
	}
}

// The adapter runs as a lora.Adapter with A = Q and B = P·diag(λ); its
// gradients with respect to P, λ and Q (through PackBackward) must match
// finite differences of L = Σ dout·out + γ·R(P,Q).
func TestGradientsMatchFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const N, in, out, rank = 3, 5, 4, 3
	const gamma = 0.3
	la := lora.NewAdapter("h.0.attn.q_proj", rank, in, out, 1.5, 0, lora.InitDefault, r)
	a := Wrap(la, r)
	copy(a.Lambda, []float32{0.7, -1.2, 0.4}) // λ = 0 would hide dP and dQ
	a.Pack()
	x := randSlice(r, N*in, 1)
	dout := randSlice(r, N*out, 1)
	loss := func() float64 {
		a.Pack()
		y := make([]float32, N*out)
		la.Forward(y, x, N, false, nil)
		return dot(y, dout) + gamma*OrthForward(a.P, a.Q, out, rank, in)
	}
	loss()
	dx := make([]float32, N*in)
	la.Backward(dx, dout, N)
	PackBackward(a.DP, a.DLambda, la.DB, a.P, a.Lambda, out, rank)
	OrthBackward(a.DP, a.DQ, a.P, a.Q, out, rank, in, gamma)
	checkGrad(t, "P", a.P, a.DP, loss)
	checkGrad(t, "λ", a.Lambda, a.DLambda, loss)
	checkGrad(t, "Q", a.Q, a.DQ, loss)
	checkGrad(t, "x", x, dx, loss)
}

func TestOrthPenaltyZeroForOrthonormalFactors(t *testing.T) {
	// P: the first 2 columns of a 3×3 rotation; Q: 2 rows of a 4×4 permutation
	// scaled by ±1. Both have orthonormal columns / rows.
	c, s := float32(math.Cos(0.3)), float32(math.Sin(0.3))
	P := []float32{c, -s, s, c, 0, 0} // (3,2)
	Q := []float32{0, 0, -1, 0, 1, 0, 0, 0}
	if v := OrthForward(P, Q, 3, 2, 4); v > 1e-12 {
		t.Errorf("R(P,Q) = %g for orthonormal factors, want 0", v)
	}
	dP, dQ := make([]float32, 6), make([]float32, 8)
	OrthBackward(dP, dQ, P, Q, 3, 2, 4, 1)
	for _, g := range append(dP, dQ...) {
		if math.Abs(float64(g)) > 1e-6 {
			t.Fatalf("gradient %v at an orthonormal minimum, want 0", g)
		}
	}
	// Doubling P's first column gives PᵀP − I = diag(3, 0): penalty 9.
	P2 := slices.Clone(P)
	P2[0], P2[2], P2[4] = 2*P[0], 2*P[2], 2*P[4]
	if v := OrthForward(P2, Q, 3, 2, 4); math.Abs(v-9) > 1e-5 {
		t.Errorf("R = %v, want 9", v)
	}
}

func TestImportanceHandComputed(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	la := lora.NewAdapter("h.0.attn.v_proj", 2, 3, 2, 1, 0, lora.InitDefault, r)
	a := Wrap(la, r)
	copy(a.Lambda, []float32{2, -1})
	copy(a.DLambda, []float32{0.5, 3}) // I(λ) = 1, 3
	const b1, b2 = 0.8, 0.5
	a.UpdateImportance(b1, b2)
	// One step from zero: Ī = 0.2·I, Ū = 0.5·|I − Ī| = 0.4·I.
	for i, I := range []float64{1, 3} {
		if got := float64(a.barL[i]); math.Abs(got-0.2*I) > 1e-6 {
			t.Errorf("Ī(λ%d) = %v, want %v", i, got, 0.2*I)
		}
		if got := float64(a.uncL[i]); math.Abs(got-0.4*I) > 1e-6 {
			t.Errorf("Ū(λ%d) = %v, want %v", i, got, 0.4*I)
		}
	}
	// Scores add s(λ) to the means of P's column and Q's row.
	for k := range a.barP {
		a.barP[k], a.uncP[k] = 1, float32(k%2+1) // column 0 → 1, column 1 → 2
	}
	for k := range a.barQ {
		a.barQ[k], a.uncQ[k] = float32(k), 1 // row 0: 0,1,2 → mean 1; row 1: 3,4,5 → 4
	}
	S := make([]float64, 2)
	a.Scores(S)
	want := []float64{0.2*0.4*1 + 1 + 1, 0.6*1.2 + 2 + 4}
	for i := range S {
		if math.Abs(S[i]-want[i]) > 1e-5 {
			t.Errorf("S[%d] = %v, want %v", i, S[i], want[i])
		}
	}
}

// newTestAllocator builds three adapters of rank 4 whose importance is set
// to given numbers through λ's smoothed sensitivity alone.
func newTestAllocator(t *testing.T, scores [][]float64) *Allocator {
	t.Helper()
	r := rand.New(rand.NewPCG(5, 6))
	var las []*lora.Adapter
	for m := range scores {
		las = append(las, lora.NewAdapter("h."+string(rune('0'+m))+".attn.q_proj", 4, 6, 5, 1, 0, lora.InitDefault, r))
	}
	cfg := DefaultConfig(100)
	cfg.InitRank, cfg.TargetRank = 4, 2
	al, err := NewAllocator(cfg, 100, las, r)
	if err != nil {
		t.Fatal(err)
	}
	for m, s := range scores {
		a := al.Adapters[m]
		for i, v := range s {
			a.barL[i], a.uncL[i] = float32(v), 1
			a.Lambda[i] = float32(i + 1)
		}
	}
	return al
}

func TestPruneKeepsExactlyTheTopBudget(t *testing.T) {
	scores := [][]float64{{9, 1, 5, 3}, {2, 8, 0.5, 7}, {4, 6, 10, 0.1}}
	for _, budget := range []int{12, 11, 7, 3, 1, 0} {
		al := newTestAllocator(t, scores)
		var all []float64
		for _, s := range scores {
			all = append(all, s...)
		}
		slices.Sort(all)
		threshold := math.Inf(-1)
		if budget < len(all) {
			threshold = all[len(all)-budget-1] // largest pruned score
		}
		al.PruneTo(budget)
		if got := al.TotalRank(); got != budget {
			t.Errorf("budget %d: %d triplets kept", budget, got)
		}
		for m, s := range scores {
			a := al.Adapters[m]
			for i, v := range s {
				if a.Kept[i] != (v > threshold) {
					t.Errorf("budget %d: triplet (%d,%d) score %v kept=%v", budget, m, i, v, a.Kept[i])
				}
				if !a.Kept[i] && a.Lambda[i] != 0 {
					t.Errorf("pruned λ = %v, want 0", a.Lambda[i])
				}
			}
		}
	}
}

func TestPrunedTripletsStayPrunedAndRankHistory(t *testing.T) {
	al := newTestAllocator(t, [][]float64{{9, 1, 5, 3}, {2, 8, 0.5, 7}, {4, 6, 10, 0.1}})
	al.PruneTo(9)
	// Even if a pruned triplet now looked important, a larger budget does not revive it.
	al.Adapters[2].barL[3] = 1000
	if al.PruneTo(11) || al.TotalRank() != 9 {
		t.Errorf("a larger budget changed the kept set: total %d", al.TotalRank())
	}
	// AfterUpdate at T − t_final prunes to the target and records the ranks.
	al.AfterUpdate(al.Total - al.Cfg.FinalSteps)
	if got := al.TotalRank(); got != al.TargetBudget() {
		t.Errorf("total rank %d after the final allocation, want %d", got, al.TargetBudget())
	}
	h := al.History[len(al.History)-1]
	if h.Step != 70 || h.Budget != 6 || !slices.Equal(h.Ranks, al.Ranks()) {
		t.Errorf("history %+v, ranks %v", h, al.Ranks())
	}
	if !slices.Equal(al.History[0].Ranks, []int{4, 4, 4}) {
		t.Errorf("initial ranks %v", al.History[0].Ranks)
	}
}
