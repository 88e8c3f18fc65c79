package analysis

import (
	"errors"
	"fmt"

	"github.com/lora-playground/lora-playground/core/linalg"
	"github.com/lora-playground/lora-playground/core/lora"
	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/peft"
)

// ModuleA returns the A matrix (r×in) of module path in adapter a.
func ModuleA(a *peft.Adapter, module string) (*linalg.Dense, error) {
	for i := range a.Modules {
		if m := &a.Modules[i]; m.Module == module {
			return Float32Matrix(m.A, m.R, m.In)
		}
	}
	return nil, fmt.Errorf("analysis: the adapter does not adapt %s (it adapts %s)", module, modulesOf(a))
}

func modulesOf(a *peft.Adapter) string {
	s := ""
	for i, m := range a.Modules {
		if i > 0 {
			s += ", "
		}
		s += m.Module
	}
	return s
}

// SubspaceReport is φ between two adapters' A on one module, with the
// random baseline of the same shapes and a one-line summary.
type SubspaceReport struct {
	Module   string     `json:"module"`
	Phi      Similarity `json:"phi"`
	Baseline Similarity `json:"baseline"`
	// Top is φ(1,1): do the two adapters' most important input directions
	// agree? TopRandom is the baseline's, ExpectedRandom = 1/k its mean.
	Top            float64 `json:"top"`
	TopRandom      float64 `json:"top_random"`
	ExpectedRandom float64 `json:"expected_random"`
}

// CompareAdapters computes φ(A₁, A₂, i, j) on module for two adapters (the
// first module both adapt when module is ""), and the random baseline
// seeded with seed.
func CompareAdapters(a1, a2 *peft.Adapter, module string, seed uint64) (SubspaceReport, error) {
	if module == "" {
		for _, m := range a1.Modules {
			if _, err := ModuleA(a2, m.Module); err == nil {
				module = m.Module
				break
			}
		}
		if module == "" {
			return SubspaceReport{}, errors.New("analysis: the two adapters have no module in common")
		}
	}
	x, err := ModuleA(a1, module)
	if err != nil {
		return SubspaceReport{}, fmt.Errorf("first adapter: %w", err)
	}
	y, err := ModuleA(a2, module)
	if err != nil {
		return SubspaceReport{}, fmt.Errorf("second adapter: %w", err)
	}
	phi, err := SubspaceSimilarity(x, y)
	if err != nil {
		return SubspaceReport{}, err
	}
	r1, k := x.Dims()
	r2, _ := y.Dims()
	base, err := RandomBaseline(r1, r2, k, seed)
	if err != nil {
		return SubspaceReport{}, err
	}
	return SubspaceReport{Module: module, Phi: phi, Baseline: base, Top: phi.At(1, 1),
		TopRandom: base.At(1, 1), ExpectedRandom: ExpectedRandomPhi(1, 1, k)}, nil
}

// LayerAmplification is Table 7 for one adapted layer of a model.
type LayerAmplification struct {
	Module string `json:"module"`
	Amplification
}

// AmplifyModel computes Table 7 for every LoRA adapter attached to m, with
// r = each adapter's rank (as the paper does). m must not be merged, so
// that W is the pretrained weight and ΔW = s·B·A.
func AmplifyModel(m *model.Model, seed uint64) ([]LayerAmplification, error) {
	if m.Adapters == nil {
		return nil, errors.New("analysis: the model has no LoRA adapters")
	}
	if m.Merged {
		return nil, errors.New("analysis: the adapters are merged into W; unmerge first so that W is the pretrained weight")
	}
	var out []LayerAmplification
	var firstErr error
	m.EachAdapter(func(l, mod int, ad *lora.Adapter) {
		if firstErr != nil {
			return
		}
		delta := make([]float32, ad.Out*ad.In)
		ad.DeltaW(delta)
		w, err := Float32Matrix(m.W.Blocks[l].Lin[mod].W, ad.Out, ad.In)
		if err != nil {
			firstErr = err
			return
		}
		d, _ := Float32Matrix(delta, ad.Out, ad.In)
		a, err := Amplify(w, d, min(ad.R, ad.Out, ad.In), seed)
		if err != nil {
			firstErr = fmt.Errorf("%s: %w", ad.Path, err)
			return
		}
		out = append(out, LayerAmplification{Module: ad.Path, Amplification: a})
	})
	return out, firstErr
}
