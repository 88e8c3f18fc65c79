package model

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/lora-playground/lora-playground/core/lora"
	"github.com/lora-playground/lora-playground/core/peft"
)

// ModuleShapes lists every linear layer of the model by module path, the
// reference an imported adapter is checked against.
func (m *Model) ModuleShapes() map[string]peft.ModuleShape {
	s := map[string]peft.ModuleShape{}
	for l := 0; l < m.Config.NLayer; l++ {
		for mod := 0; mod < NumModules; mod++ {
			out, in := m.Config.ModuleShape(mod)
			s[ModulePath(l, mod)] = peft.ModuleShape{In: in, Out: out}
		}
	}
	return s
}

// ExportAdapter packages the attached adapters in PEFT's layout. cfg is the
// configuration they were created with; it becomes adapter_config.json.
func (m *Model) ExportAdapter(cfg lora.Config) (*peft.Adapter, error) {
	if m.Adapters == nil {
		return nil, errors.New("model: no LoRA adapters to export")
	}
	init := any(true)
	if cfg.Init == lora.InitGaussian {
		init = "gaussian"
	}
	a := &peft.Adapter{
		Config: peft.Config{
			PeftType: "LORA", TaskType: "CAUSAL_LM", BaseModelNameOrPath: m.Config.Name,
			R: cfg.Rank, LoraAlpha: cfg.Alpha, LoraDropout: cfg.Dropout,
			TargetModules: slices.Clone(cfg.Targets), UseRslora: cfg.UseRSLoRA,
			RankPattern: cfg.RankPattern, AlphaPattern: cfg.AlphaPattern,
			InitLoraWeights: init, Bias: "none",
		},
		Metadata: map[string]string{"format": "pt"},
	}
	m.EachAdapter(func(l, mod int, ad *lora.Adapter) {
		a.Modules = append(a.Modules, peft.ModuleWeights{Module: ad.Path, R: ad.R, In: ad.In, Out: ad.Out,
			A: slices.Clone(ad.A), B: slices.Clone(ad.B)})
	})
	return a, nil
}

// ImportAdapter attaches the adapter a, after checking that it was made for
// this base model: same base model name when both are named, and every
// matrix's shape matching the layer it adapts (the error names the first
// mismatch). It returns the equivalent lora.Config. Nothing changes on error.
func (m *Model) ImportAdapter(a *peft.Adapter) (lora.Config, error) {
	c := a.Config
	if m.Merged {
		return lora.Config{}, errors.New("model: unmerge the current adapters before importing another")
	}
	if c.BaseModelNameOrPath != "" && m.Config.Name != "" && c.BaseModelNameOrPath != m.Config.Name {
		return lora.Config{}, fmt.Errorf("adapter was trained for base model %q, but the loaded model is %q", c.BaseModelNameOrPath, m.Config.Name)
	}
	if err := a.CheckAgainst(m.ModuleShapes()); err != nil {
		return lora.Config{}, err
	}
	cfg := lora.Config{Rank: c.R, Alpha: c.LoraAlpha, Dropout: c.LoraDropout, UseRSLoRA: c.UseRslora,
		RankPattern: c.RankPattern, AlphaPattern: c.AlphaPattern, Init: lora.InitDefault}
	if s, ok := c.InitLoraWeights.(string); ok && s == "gaussian" {
		cfg.Init = lora.InitGaussian
	}
	for _, name := range lora.Modules {
		if c.Targets(name) || slices.Contains(c.TargetModules, name) {
			cfg.Targets = append(cfg.Targets, name)
		}
	}
	if err := cfg.Validate(); err != nil {
		return lora.Config{}, fmt.Errorf("adapter_config.json: %v", err)
	}
	adapters := make([][NumModules]*lora.Adapter, m.Config.NLayer)
	for _, mw := range a.Modules {
		l, mod, ok := m.parseModulePath(mw.Module)
		if !ok {
			return lora.Config{}, fmt.Errorf("adapter: module %s is not a linear layer of this model", mw.Module)
		}
		scale := float32(c.Scaling(mw.Module))
		if mw.R != c.RankFor(mw.Module) {
			// The tensors are the truth about r; the scale follows them.
			scale = lora.Scale(c.AlphaFor(mw.Module), mw.R, c.UseRslora)
		}
		if math.IsNaN(float64(scale)) || math.IsInf(float64(scale), 0) {
			return lora.Config{}, fmt.Errorf("adapter: module %s has an unusable scale", mw.Module)
		}
		ad := &lora.Adapter{Path: mw.Module, R: mw.R, In: mw.In, Out: mw.Out, Scale: scale,
			Dropout: float32(c.LoraDropout), A: slices.Clone(mw.A), B: slices.Clone(mw.B)}
		adapters[l][mod] = ad
	}
	m.Adapters = adapters
	return cfg, nil
}

func (m *Model) parseModulePath(p string) (l, mod int, ok bool) {
	for l := 0; l < m.Config.NLayer; l++ {
		for mod := 0; mod < NumModules; mod++ {
			if ModulePath(l, mod) == p {
				return l, mod, true
			}
		}
	}
	return 0, 0, false
}
