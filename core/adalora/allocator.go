package adalora

import (
	"cmp"
	"math/rand/v2"
	"slices"

	"github.com/lora-playground/lora-playground/core/lora"
)

// RankStep records every matrix's rank after a pruning step that changed
// any of them (and once at step 0).
type RankStep struct {
	Step   int   `json:"step"`
	Budget int   `json:"budget"` // b(t), the total rank the schedule allows
	Ranks  []int `json:"ranks"`  // per matrix, in Allocator.Adapters order
}

// Allocator owns the adaptive adapters of a model and runs AdaLoRA's
// bookkeeping around each training step: the chain rule from B to P and λ
// and the orthogonality penalty after the backward pass, then the importance
// update, the budget schedule and pruning after the optimiser's update.
type Allocator struct {
	Cfg      Config
	Total    int // T, the schedule's length in steps
	Adapters []*Adapter
	History  []RankStep

	scores []float64
}

// NewAllocator wraps the LoRA adapters las (created for cfg.LoRA(), in the
// model's layer, module order) for a run of total steps.
func NewAllocator(cfg Config, total int, las []*lora.Adapter, rng *rand.Rand) (*Allocator, error) {
	if err := cfg.Validate(total); err != nil {
		return nil, err
	}
	al := &Allocator{Cfg: cfg, Total: total}
	for _, la := range las {
		al.Adapters = append(al.Adapters, Wrap(la, rng))
	}
	al.History = []RankStep{{Step: 0, Budget: al.InitialBudget(), Ranks: al.Ranks()}}
	return al, nil
}

// InitialBudget is b⁽⁰⁾ = r⁽⁰⁾ · (number of matrices).
func (al *Allocator) InitialBudget() int { return al.Cfg.InitRank * len(al.Adapters) }

// TargetBudget is b⁽ᵀ⁾ = r̄ · (number of matrices).
func (al *Allocator) TargetBudget() int { return al.Cfg.TargetRank * len(al.Adapters) }

// Budget is b(t) and whether step t prunes, for this run.
func (al *Allocator) Budget(t int) (int, bool) {
	c := al.Cfg
	return Budget(t, al.Total, al.InitialBudget(), al.TargetBudget(), c.WarmupSteps, c.FinalSteps, c.Interval)
}

// Ranks returns every matrix's current rank.
func (al *Allocator) Ranks() []int {
	r := make([]int, len(al.Adapters))
	for i, a := range al.Adapters {
		r[i] = a.Rank()
	}
	return r
}

// TotalRank is the sum of the ranks.
func (al *Allocator) TotalRank() int {
	n := 0
	for _, r := range al.Ranks() {
		n += r
	}
	return n
}

// Penalty is γ·Σ R(P,Q) over the matrices, the regulariser's share of the
// loss (reported, not part of the model's loss value).
func (al *Allocator) Penalty() float64 {
	var s float64
	for _, a := range al.Adapters {
		s += OrthForward(a.P, a.Q, a.Out, a.R, a.In)
	}
	return al.Cfg.OrthReg * s
}

// ChainB runs after a backward pass has filled every driven LoRA adapter's
// dA (which is dQ) and dB: it adds dB's share to dP and dλ (PackBackward)
// and clears dB for the next pass. Call it after each backward pass over
// part of a batch; the gradients add up.
func (al *Allocator) ChainB() {
	for _, a := range al.Adapters {
		PackBackward(a.DP, a.DLambda, a.LoRA.DB, a.P, a.Lambda, a.Out, a.R)
		clear(a.LoRA.DB)
	}
}

// AfterBackward runs once per step on the whole batch's gradient of P, λ
// and Q (after ChainB): it adds the orthogonality penalty's gradient,
// clears the gradients of pruned λ, and, while the budget can still change
// (step < T − t_final, step being the number of steps applied before this
// one), updates the smoothed importance.
func (al *Allocator) AfterBackward(step int) {
	for _, a := range al.Adapters {
		if al.Cfg.OrthReg > 0 {
			OrthBackward(a.DP, a.DQ, a.P, a.Q, a.Out, a.R, a.In, al.Cfg.OrthReg)
		}
		a.ClearPrunedGrads()
		if step < al.Total-al.Cfg.FinalSteps {
			a.UpdateImportance(al.Cfg.Beta1, al.Cfg.Beta2)
		}
	}
}

// AfterUpdate runs after the optimiser has updated P, λ and Q for step t
// (1-based): it keeps pruned λ at zero, prunes to the budget when the
// schedule says so, and repacks every B = P·diag(λ). It reports whether any
// rank changed.
func (al *Allocator) AfterUpdate(t int) bool {
	changed := false
	budget, prune := al.Budget(t)
	if prune {
		changed = al.PruneTo(budget)
	}
	for _, a := range al.Adapters {
		for i, k := range a.Kept {
			if !k {
				a.Lambda[i] = 0
			}
		}
		a.Pack()
	}
	if changed {
		al.History = append(al.History, RankStep{Step: t, Budget: budget, Ranks: al.Ranks()})
	}
	return changed
}

// triplet names triplet i of adapter m.
type triplet struct{ m, i int }

// PruneTo prunes the kept triplets of lowest importance over all matrices
// until at most budget remain, and reports whether it pruned any. Among
// equal scores the later matrix and the later triplet go first, so the
// result does not depend on map or sort order.
func (al *Allocator) PruneTo(budget int) bool {
	var kept []triplet
	var score []float64
	for m, a := range al.Adapters {
		if cap(al.scores) < a.R {
			al.scores = make([]float64, a.R)
		}
		s := al.scores[:a.R]
		a.Scores(s)
		for i, k := range a.Kept {
			if k {
				kept = append(kept, triplet{m, i})
				score = append(score, s[i])
			}
		}
	}
	drop := len(kept) - max(budget, 0)
	if drop <= 0 {
		return false
	}
	idx := make([]int, len(kept))
	for i := range idx {
		idx[i] = i
	}
	// Ascending importance; ties: later matrix, then later triplet, first.
	slices.SortStableFunc(idx, func(x, y int) int {
		if c := cmp.Compare(score[x], score[y]); c != 0 {
			return c
		}
		if c := cmp.Compare(kept[y].m, kept[x].m); c != 0 {
			return c
		}
		return cmp.Compare(kept[y].i, kept[x].i)
	})
	for _, k := range idx[:drop] {
		t := kept[k]
		al.Adapters[t.m].Prune(t.i)
	}
	return true
}
