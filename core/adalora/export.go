package adalora

import (
	"slices"
	"strconv"
	"strings"

	"github.com/lora-playground/lora-playground/core/lora"
	"github.com/lora-playground/lora-playground/core/peft"
)

// Truncate returns the kept triplets as plain LoRA factors of rank r_m (the
// number kept):
//
//	B = P[:,kept]·diag(λ_kept)   (Out,r_m)      A = Q[kept,:]   (r_m,In)
//
// so that s·B·A = s·P·diag(λ)·Q exactly (pruned λ are zero). A matrix with
// nothing kept has ΔW = 0; PEFT needs r ≥ 1, so it comes back as r_m = 1
// with A and B all zeros, which adds exactly nothing.
func (a *Adapter) Truncate() (r int, A, B []float32) {
	var kept []int
	for i, k := range a.Kept {
		if k {
			kept = append(kept, i)
		}
	}
	r = max(len(kept), 1)
	A, B = make([]float32, r*a.In), make([]float32, a.Out*r)
	for c, i := range kept {
		copy(A[c*a.In:(c+1)*a.In], a.Q[i*a.In:(i+1)*a.In])
		for o := 0; o < a.Out; o++ {
			B[o*r+c] = a.P[o*a.R+i] * a.Lambda[i]
		}
	}
	return r, A, B
}

// LoRAConfig is the plain LoRA configuration equivalent to the adapters'
// current state: r = r⁽⁰⁾ and lora_alpha = α as trained, and for every
// matrix (by full module path) its own rank r_m in RankPattern and
// α_m = α·r_m/r⁽⁰⁾ in AlphaPattern, so that its scale α_m/r_m is still
// α/r⁽⁰⁾.
func (al *Allocator) LoRAConfig() lora.Config {
	c := al.Cfg.LoRA()
	c.RankPattern, c.AlphaPattern = map[string]int{}, map[string]float64{}
	for _, a := range al.Adapters {
		r := max(a.Rank(), 1)
		c.RankPattern[a.Path] = r
		c.AlphaPattern[a.Path] = al.Cfg.Alpha * float64(r) / float64(al.Cfg.InitRank)
	}
	return c
}

// Export packages the adapters as a plain PEFT LoRA adapter (see Truncate
// and LoRAConfig) for the base model named base. Its ΔW equals the adaptive
// adapters' ΔW up to float32 rounding of α_m/r_m.
func (al *Allocator) Export(base string) *peft.Adapter {
	c := al.LoRAConfig()
	a := &peft.Adapter{
		Config: peft.Config{
			PeftType: "LORA", TaskType: "CAUSAL_LM", BaseModelNameOrPath: base,
			R: c.Rank, LoraAlpha: c.Alpha, LoraDropout: c.Dropout,
			TargetModules: slices.Clone(c.Targets), RankPattern: c.RankPattern, AlphaPattern: c.AlphaPattern,
			InitLoraWeights: true, Bias: "none",
		},
		Metadata: map[string]string{"format": "pt", "adaptive_rank": "adalora", "ranks": al.rankSummary()},
	}
	for _, ad := range al.Adapters {
		r, A, B := ad.Truncate()
		a.Modules = append(a.Modules, peft.ModuleWeights{Module: ad.Path, R: r, In: ad.In, Out: ad.Out, A: A, B: B})
	}
	slices.SortFunc(a.Modules, func(x, y peft.ModuleWeights) int { return strings.Compare(x.Module, y.Module) })
	return a
}

// rankSummary is "path=rank,…" in adapter order, for the weights' metadata.
func (al *Allocator) rankSummary() string {
	var parts []string
	for _, a := range al.Adapters {
		parts = append(parts, a.Path+"="+strconv.Itoa(a.Rank()))
	}
	return strings.Join(parts, ",")
}
