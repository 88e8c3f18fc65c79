//go:build !(js && wasm)

package main

import (
	"math/rand/v2"

	"github.com/lora-playground/lora-playground/core/lora"
	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/peft"
)

// randomAdapter builds a PEFT archive for base model c, as the playground
// exports one, with rank r on targets and random A and B drawn from seed.
// B is not zero (a trained adapter's is not), so different seeds change the
// model's text differently. Tests and the load benchmark upload these.
func randomAdapter(c model.Config, seed uint64, r int, targets ...string) ([]byte, *peft.Adapter, error) {
	m, err := model.New(c)
	if err != nil {
		return nil, nil, err
	}
	if len(targets) == 0 {
		targets = lora.Modules
	}
	cfg := lora.Config{Rank: r, Alpha: float64(2 * r), Targets: targets, Init: lora.InitDefault}
	rng := rand.New(rand.NewPCG(seed, 1))
	if err := m.AddLoRA(cfg, rng); err != nil {
		return nil, nil, err
	}
	m.EachAdapter(func(_, _ int, a *lora.Adapter) {
		for i := range a.B {
			a.B[i] = float32(rng.NormFloat64() * 0.3)
		}
	})
	a, err := m.ExportAdapter(cfg)
	if err != nil {
		return nil, nil, err
	}
	zip, err := peft.EncodeArchive(a)
	return zip, a, err
}
