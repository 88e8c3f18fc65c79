package experiment

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/params"
	"github.com/lora-playground/lora-playground/core/train"
)

// Run is one training run of an experiment.
type Run struct {
	Method  train.Method // lora, full or none (the frozen base)
	Targets []string     // LoRA target modules, e.g. q_proj, v_proj
	Rank    int          // LoRA r
	// FullRank is set when Rank equals the smaller side of a target's
	// weight: ΔW = B·A can then be any matrix, and more rank would add
	// parameters but nothing B·A could express.
	FullRank bool
}

// Label names r the way tables and charts show it: "W_q,W_v r=4",
// "full fine-tuning" or "frozen base".
func (r Run) Label() string {
	switch r.Method {
	case train.MethodFull:
		return "full fine-tuning"
	case train.MethodNone:
		return "frozen base"
	}
	return WeightsLabel(r.Targets) + fmt.Sprintf(" r=%d", r.Rank)
}

// WeightsLabel writes target modules as the paper does: W_q,W_k,W_v,W_o.
func WeightsLabel(targets []string) string {
	var b strings.Builder
	for i, t := range targets {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("W_" + strings.TrimSuffix(t, "_proj"))
	}
	return b.String()
}

// ArchOf describes a model's shape for package params.
func ArchOf(c model.Config) params.Arch {
	return params.Arch{Name: c.Name, VocabSize: c.VocabSize, NCtx: c.NCtx, NEmbd: c.NEmbd, NHead: c.NHead, NLayer: c.NLayer}
}

// perRank is the number of trainable parameters one unit of rank costs on
// targets over all layers: L · Σ_t (in_t + out_t).
func perRank(a params.Arch, targets []string) (int, error) {
	if len(targets) == 0 {
		return 0, fmt.Errorf("experiment: no target modules")
	}
	n := 0
	for _, t := range targets {
		out, in, err := params.ModuleShape(a, t)
		if err != nil {
			return 0, err
		}
		n += in + out
	}
	return a.NLayer * n, nil
}

// LoRAParams is the number of trainable parameters of LoRA at rank r on
// targets in every layer: r · L · Σ_t (in_t + out_t).
func LoRAParams(a params.Arch, targets []string, r int) (int, error) {
	n, err := perRank(a, targets)
	return r * n, err
}

// RankForBudget returns the rank r at which LoRA on targets in every layer
// trains exactly budget parameters, r = budget / (L · Σ_t (in_t + out_t)).
// A budget that does not divide into a whole rank ≥ 1 is an error naming
// the nearest budgets that do.
func RankForBudget(a params.Arch, targets []string, budget int) (int, error) {
	n, err := perRank(a, targets)
	if err != nil {
		return 0, err
	}
	if budget < n || budget%n != 0 {
		lo := budget / n * n
		hint := fmt.Sprintf("%d", lo+n)
		if lo >= n {
			hint = fmt.Sprintf("%d or %d", lo, lo+n)
		}
		return 0, fmt.Errorf("experiment: a budget of %d parameters is not a whole rank on %s (one rank costs %d); try %s",
			budget, WeightsLabel(targets), n, hint)
	}
	return budget / n, nil
}

// Table5Targets are the weight choices of the paper's Table 5, in its order.
var Table5Targets = [][]string{
	{params.QProj}, {params.KProj}, {params.VProj}, {params.OProj},
	{params.QProj, params.KProj}, {params.QProj, params.VProj},
	{params.QProj, params.KProj, params.VProj, params.OProj},
}

// WhichWeights returns the runs of the paper's Table 5 on architecture a:
// every weight choice of Table5Targets under one trainable-parameter
// budget, that of rank r1 on a single attention projection in every layer
// (L·r1·2C). Two projections then get r1/2 and four r1/4, so r1 must be a
// positive multiple of 4. It also returns the budget.
func WhichWeights(a params.Arch, r1 int) ([]Run, int, error) {
	if r1 < 4 || r1%4 != 0 {
		return nil, 0, fmt.Errorf("experiment: the single-matrix rank must be a positive multiple of 4 (so that 2 and 4 matrices get whole ranks), got %d", r1)
	}
	budget, err := LoRAParams(a, []string{params.QProj}, r1)
	if err != nil {
		return nil, 0, err
	}
	var runs []Run
	for _, t := range Table5Targets {
		r, err := RankForBudget(a, t, budget)
		if err != nil {
			return nil, 0, err
		}
		run := Run{Method: train.MethodLoRA, Targets: slices.Clone(t), Rank: r}
		if run.FullRank, err = fullRank(a, t, r); err != nil {
			return nil, 0, err
		}
		runs = append(runs, run)
	}
	return runs, budget, nil
}

// fullRank reports whether r equals the smaller side of some target's
// weight, and refuses an r above it.
func fullRank(a params.Arch, targets []string, r int) (bool, error) {
	full := false
	for _, t := range targets {
		out, in, err := params.ModuleShape(a, t)
		if err != nil {
			return false, err
		}
		m := min(out, in)
		if r > m {
			return false, fmt.Errorf("experiment: rank %d is above %s's smaller side %d (it is %d×%d): ΔW = B·A cannot have rank above %d, so the extra rank would train parameters that add nothing; use r ≤ %d",
				r, WeightsLabel([]string{t}), m, out, in, m, m)
		}
		full = full || r == m
	}
	return full, nil
}

// DefaultRanks are the ranks of the rank sweep: the paper's 1, 2, 4, 8, 64
// with 16 added.
var DefaultRanks = []int{1, 2, 4, 8, 16, 64}

// RankSweep returns the runs of the paper's Table 6 on architecture a: LoRA
// on targets at each rank, then (if asked) full fine-tuning and the frozen
// base as reference lines. A rank above a target's smaller side is an error
// (see [Run.FullRank]); use [CapRanks] to drop such ranks first.
func RankSweep(a params.Arch, targets []string, ranks []int, full, frozen bool) ([]Run, error) {
	if len(ranks) == 0 && !full && !frozen {
		return nil, fmt.Errorf("experiment: nothing to run: no ranks, no full fine-tuning, no frozen base")
	}
	var runs []Run
	seen := map[int]bool{}
	for _, r := range ranks {
		if r < 1 {
			return nil, fmt.Errorf("experiment: rank must be at least 1, got %d", r)
		}
		if seen[r] {
			return nil, fmt.Errorf("experiment: rank %d is listed twice", r)
		}
		seen[r] = true
		fr, err := fullRank(a, targets, r)
		if err != nil {
			return nil, err
		}
		runs = append(runs, Run{Method: train.MethodLoRA, Targets: slices.Clone(targets), Rank: r, FullRank: fr})
	}
	if full {
		runs = append(runs, Run{Method: train.MethodFull})
	}
	if frozen {
		runs = append(runs, Run{Method: train.MethodNone})
	}
	return runs, nil
}

// CapRanks returns the ranks that fit every target's weights on a (r ≤ the
// smaller side) and the ones it dropped.
func CapRanks(a params.Arch, targets []string, ranks []int) (kept, dropped []int) {
	for _, r := range ranks {
		if _, err := fullRank(a, targets, r); err != nil {
			dropped = append(dropped, r)
		} else {
			kept = append(kept, r)
		}
	}
	return kept, dropped
}
