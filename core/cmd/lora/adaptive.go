package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/lora-playground/lora-playground/core/adalora"
	"github.com/lora-playground/lora-playground/core/lora"
	"github.com/lora-playground/lora-playground/core/peft"
	"github.com/lora-playground/lora-playground/core/train"
)

// adaptiveFlags are train's flags for --method adaptive (AdaLoRA); the
// adapter's alpha, dropout and targets come from the LoRA flags.
type adaptiveFlags struct {
	initRank, targetRank, warmup, final, every *int
	beta1, beta2, orth                         *float64
}

func addAdaptiveFlags(fs interface {
	Int(string, int, string) *int
	Float64(string, float64, string) *float64
}) adaptiveFlags {
	d := adalora.DefaultConfig(0)
	return adaptiveFlags{
		initRank:   fs.Int("init-rank", d.InitRank, "adaptive: every matrix's rank at the start, r⁽⁰⁾"),
		targetRank: fs.Int("target-rank", d.TargetRank, "adaptive: the average rank per matrix at the end"),
		warmup:     fs.Int("prune-warmup", -1, "adaptive: steps before pruning starts (default: 10% of steps)"),
		final:      fs.Int("prune-final", -1, "adaptive: steps at the final ranks at the end (default: 30% of steps)"),
		every:      fs.Int("prune-every", d.Interval, "adaptive: prune every this many steps while the budget falls"),
		beta1:      fs.Float64("beta1", d.Beta1, "adaptive: smoothing of the sensitivity |θ·∂L/∂θ|"),
		beta2:      fs.Float64("beta2", d.Beta2, "adaptive: smoothing of its uncertainty"),
		orth:       fs.Float64("orth-reg", d.OrthReg, "adaptive: weight γ of the orthogonality penalty on P and Q"),
	}
}

// config builds the adaptive configuration for a run of steps, taking alpha,
// dropout and targets from the LoRA flags.
func (f adaptiveFlags) config(l lora.Config, steps int) (adalora.Config, error) {
	c := adalora.DefaultConfig(steps)
	c.InitRank, c.TargetRank, c.Interval = *f.initRank, *f.targetRank, *f.every
	c.Alpha, c.Dropout, c.Targets = l.Alpha, l.Dropout, l.Targets
	c.Beta1, c.Beta2, c.OrthReg = *f.beta1, *f.beta2, *f.orth
	if *f.warmup >= 0 {
		c.WarmupSteps = *f.warmup
	}
	if *f.final >= 0 {
		c.FinalSteps = *f.final
	}
	if err := c.Validate(steps); err != nil {
		return c, usageError{err.Error()}
	}
	return c, nil
}

// adaptiveReport is the rank allocation of an adaptive run: each matrix's
// final rank (also the exported adapter's rank_pattern, where a matrix
// with rank 0 is exported as r=1 of zeros) and the rank history.
type adaptiveReport struct {
	InitRank     int                `json:"init_rank"`
	TargetRank   int                `json:"target_rank"`
	TargetBudget int                `json:"target_budget"`
	TotalRank    int                `json:"total_rank"`
	Modules      []string           `json:"modules"`
	Ranks        map[string]int     `json:"ranks"`
	History      []adalora.RankStep `json:"history"`
	Penalty      float64            `json:"orth_penalty"`
}

func newAdaptiveReport(al *adalora.Allocator) *adaptiveReport {
	r := &adaptiveReport{InitRank: al.Cfg.InitRank, TargetRank: al.Cfg.TargetRank, TargetBudget: al.TargetBudget(),
		TotalRank: al.TotalRank(), Ranks: map[string]int{}, History: al.History, Penalty: al.Penalty()}
	for i, a := range al.Adapters {
		r.Modules = append(r.Modules, a.Path)
		r.Ranks[a.Path] = al.Ranks()[i]
	}
	return r
}

// print writes the final ranks, one matrix a line, with a bar of kept ranks.
func (r *adaptiveReport) print(w io.Writer) {
	fmt.Fprintf(w, "adaptive rank: r⁽⁰⁾=%d per matrix → total %d (target %d = %d × %d matrices)\n",
		r.InitRank, r.TotalRank, r.TargetBudget, r.TargetRank, len(r.Modules))
	for _, m := range r.Modules {
		k := r.Ranks[m]
		fmt.Fprintf(w, "  %-18s %2d %s%s\n", m, k, strings.Repeat("█", k), strings.Repeat("·", r.InitRank-k))
	}
}

// saveAdaptive writes the adaptive run's adapter as plain PEFT LoRA with a
// rank_pattern, to a directory or a .zip.
func saveAdaptive(tr *train.Trainer, base, out string) error {
	a := tr.Adaptive().Export(base)
	if strings.HasSuffix(out, ".zip") {
		b, err := peft.EncodeArchive(a)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	}
	return peft.SaveDir(out, a)
}
