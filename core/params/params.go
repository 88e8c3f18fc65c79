package params

import (
	"fmt"
	"strconv"
	"strings"
)

// Arch describes a GPT-2-style decoder: vocabulary V = VocabSize, context
// T = NCtx, width C = NEmbd, NHead attention heads and L = NLayer blocks.
type Arch struct {
	Name                                  string
	VocabSize, NCtx, NEmbd, NHead, NLayer int
}

// Validate reports whether every dimension is positive and NEmbd divides
// evenly into NHead heads.
func (a Arch) Validate() error {
	switch {
	case a.VocabSize < 1, a.NCtx < 1, a.NEmbd < 1, a.NHead < 1, a.NLayer < 1:
		return fmt.Errorf("params: architecture %q: every dimension must be ≥ 1 (vocab %d, ctx %d, embd %d, heads %d, layers %d)",
			a.Name, a.VocabSize, a.NCtx, a.NEmbd, a.NHead, a.NLayer)
	case a.NEmbd%a.NHead != 0:
		return fmt.Errorf("params: architecture %q: width %d is not divisible by %d heads", a.Name, a.NEmbd, a.NHead)
	}
	return nil
}

// Presets returns the four published GPT-2 sizes and GPT-3 175B, in
// increasing size. Each call returns a fresh slice.
func Presets() []Arch {
	return []Arch{
		{Name: "gpt2-small", VocabSize: 50257, NCtx: 1024, NEmbd: 768, NHead: 12, NLayer: 12},
		{Name: "gpt2-medium", VocabSize: 50257, NCtx: 1024, NEmbd: 1024, NHead: 16, NLayer: 24},
		{Name: "gpt2-large", VocabSize: 50257, NCtx: 1024, NEmbd: 1280, NHead: 20, NLayer: 36},
		{Name: "gpt2-xl", VocabSize: 50257, NCtx: 1024, NEmbd: 1600, NHead: 25, NLayer: 48},
		{Name: "gpt3-175b", VocabSize: 50257, NCtx: 2048, NEmbd: 12288, NHead: 96, NLayer: 96},
	}
}

// Preset returns the preset called name.
func Preset(name string) (Arch, error) {
	var names []string
	for _, a := range Presets() {
		if a.Name == name {
			return a, nil
		}
		names = append(names, a.Name)
	}
	return Arch{}, fmt.Errorf("params: unknown preset %q (have %s)", name, strings.Join(names, ", "))
}

// The linear modules of a block, in the order they run.
const (
	QProj    = "q_proj"
	KProj    = "k_proj"
	VProj    = "v_proj"
	OProj    = "o_proj"
	UpProj   = "up_proj"
	DownProj = "down_proj"
)

// Modules returns the names of the six linear modules of a block, in the
// order they run: q_proj, k_proj, v_proj, o_proj, up_proj, down_proj.
func Modules() []string {
	return []string{QProj, KProj, VProj, OProj, UpProj, DownProj}
}

// group returns the sub-module ("attn" or "mlp") that holds module.
func group(module string) (string, bool) {
	switch module {
	case QProj, KProj, VProj, OProj:
		return "attn", true
	case UpProj, DownProj:
		return "mlp", true
	}
	return "", false
}

// ModuleShape returns the weight shape [out, in] of a block's linear module:
// C×C for q_proj, k_proj, v_proj and o_proj, 4C×C for up_proj and C×4C for
// down_proj.
func ModuleShape(a Arch, module string) (out, in int, err error) {
	c := a.NEmbd
	switch module {
	case QProj, KProj, VProj, OProj:
		return c, c, nil
	case UpProj:
		return 4 * c, c, nil
	case DownProj:
		return c, 4 * c, nil
	}
	return 0, 0, unknownModule(module)
}

func unknownModule(module string) error {
	return fmt.Errorf("params: unknown module %q (want one of %s)", module, strings.Join(Modules(), ", "))
}

// ModulePath returns the full path of module in block layer:
// "h.{layer}.attn.{module}" for the attention projections and
// "h.{layer}.mlp.{module}" for up_proj and down_proj.
func ModulePath(layer int, module string) (string, error) {
	g, ok := group(module)
	if !ok {
		return "", unknownModule(module)
	}
	return "h." + strconv.Itoa(layer) + "." + g + "." + module, nil
}

// RankFor returns the LoRA rank of module in block layer under a PEFT-style
// rank pattern: the full-path key ModulePath(layer, module), e.g.
// "h.3.attn.q_proj", wins over the short key module, e.g. "q_proj"; if
// neither is present the result is def.
func RankFor(pattern map[string]int, layer int, module string, def int) int {
	if p, err := ModulePath(layer, module); err == nil {
		if r, ok := pattern[p]; ok {
			return r
		}
	}
	if r, ok := pattern[module]; ok {
		return r
	}
	return def
}

// checkPatternKey reports whether key names a module (short form) or a
// module in an existing block (full form).
func checkPatternKey(a Arch, key string) error {
	if _, ok := group(key); ok {
		return nil
	}
	parts := strings.Split(key, ".")
	if len(parts) == 4 && parts[0] == "h" {
		layer, err := strconv.Atoi(parts[1])
		g, ok := group(parts[3])
		if err == nil && ok && g == parts[2] && parts[1] == strconv.Itoa(layer) {
			if layer < 0 || layer >= a.NLayer {
				return fmt.Errorf("params: rank pattern key %q: layer %d out of range [0, %d)", key, layer, a.NLayer)
			}
			return nil
		}
	}
	return fmt.Errorf("params: rank pattern key %q is neither a module name (%s) nor a path like h.0.attn.q_proj or h.0.mlp.up_proj",
		key, strings.Join(Modules(), ", "))
}

// Method names a fine-tuning regime.
type Method string

const (
	MethodLoRA Method = "lora" // base frozen; low-rank adapters B·A train
	MethodFull Method = "full" // every parameter trains
	MethodBias Method = "bias" // BitFit: every bias vector trains (linear and LayerNorm)
	MethodNone Method = "none" // nothing trains (inference only)
)

// LoRA configures the adapters of MethodLoRA. Rank is the default rank r,
// Targets the module names to adapt (in every block) and RankPattern an
// optional per-module or per-path override; see RankFor.
type LoRA struct {
	Rank        int
	Targets     []string
	RankPattern map[string]int
}

// ModuleCount is the LoRA adapter cost of one module name summed over all
// blocks: Params = Σᵢ Ranks[i]·(In + Out), where Ranks[i] is the rank used
// in block i and [Out, In] is the shape of the adapted weight.
type ModuleCount struct {
	Module  string
	Out, In int
	Ranks   []int // per block, len = NLayer
	Params  int64
}

// Count holds parameter counts and the float32 memory they imply.
// Total = Trainable + Frozen; for LoRA, Frozen is the base model and
// Trainable the adapters.
type Count struct {
	Total, Trainable, Frozen int64

	TrainableBytes int64 // 4·Trainable: the adapter file's payload for LoRA
	GradientBytes  int64 // 4·Trainable: one float32 gradient each
	OptimizerBytes int64 // 8·Trainable: AdamW's two float32 moments each
	WeightsBytes   int64 // 4·Total: every weight in float32

	PerModule []ModuleCount // MethodLoRA only, in Targets order
}

// Base returns the parameter count of the base model,
// VC + TC + L(12C² + 13C) + 2C (see the package documentation).
func Base(a Arch) int64 {
	v, t, c, l := int64(a.VocabSize), int64(a.NCtx), int64(a.NEmbd), int64(a.NLayer)
	return v*c + t*c + l*(12*c*c+13*c) + 2*c
}

// Biases returns the number of bias parameters, L·11C + C: per block the
// linear biases 4C (q, k, v, o) + 4C (up) + C (down) and the LayerNorm
// biases 2C (ln_1, ln_2), plus ln_f's C.
func Biases(a Arch) int64 {
	c, l := int64(a.NEmbd), int64(a.NLayer)
	return l*11*c + c
}

// Calculate counts the parameters of a under method m. The LoRA
// configuration l is used only when m is MethodLoRA. For LoRA the adapters
// add Σ over blocks i and targets t of r(i,t)·(in_t + out_t) parameters,
// where r(i,t) = RankFor(l.RankPattern, i, t, l.Rank).
func Calculate(a Arch, m Method, l LoRA) (Count, error) {
	if err := a.Validate(); err != nil {
		return Count{}, err
	}
	base := Base(a)
	var c Count
	switch m {
	case MethodFull:
		c.Total, c.Trainable = base, base
	case MethodBias:
		c.Total, c.Trainable = base, Biases(a)
	case MethodNone:
		c.Total = base
	case MethodLoRA:
		per, err := adapters(a, l)
		if err != nil {
			return Count{}, err
		}
		var n int64
		for _, p := range per {
			n += p.Params
		}
		c.Total, c.Trainable, c.PerModule = base+n, n, per
	default:
		return Count{}, fmt.Errorf("params: unknown method %q (want %q, %q, %q or %q)",
			m, MethodLoRA, MethodFull, MethodBias, MethodNone)
	}
	c.Frozen = c.Total - c.Trainable
	c.TrainableBytes = 4 * c.Trainable
	c.GradientBytes = 4 * c.Trainable
	c.OptimizerBytes = 8 * c.Trainable
	c.WeightsBytes = 4 * c.Total
	return c, nil
}

func adapters(a Arch, l LoRA) ([]ModuleCount, error) {
	if l.Rank < 1 {
		return nil, fmt.Errorf("params: LoRA rank must be ≥ 1, got %d", l.Rank)
	}
	if len(l.Targets) == 0 {
		return nil, fmt.Errorf("params: LoRA needs at least one target module (from %s)", strings.Join(Modules(), ", "))
	}
	for k, r := range l.RankPattern {
		if err := checkPatternKey(a, k); err != nil {
			return nil, err
		}
		if r < 1 {
			return nil, fmt.Errorf("params: rank pattern %q: rank must be ≥ 1, got %d", k, r)
		}
	}
	seen := make(map[string]bool)
	per := make([]ModuleCount, 0, len(l.Targets))
	for _, t := range l.Targets {
		out, in, err := ModuleShape(a, t)
		if err != nil {
			return nil, fmt.Errorf("params: unknown LoRA target %q (want one of %s)", t, strings.Join(Modules(), ", "))
		}
		if seen[t] {
			return nil, fmt.Errorf("params: LoRA target %q listed twice", t)
		}
		seen[t] = true
		mc := ModuleCount{Module: t, Out: out, In: in, Ranks: make([]int, a.NLayer)}
		for i := range mc.Ranks {
			r := RankFor(l.RankPattern, i, t, l.Rank)
			mc.Ranks[i] = r
			mc.Params += int64(r) * int64(in+out)
		}
		per = append(per, mc)
	}
	return per, nil
}
