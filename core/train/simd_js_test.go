//go:build js && wasm && simd

package train

import (
	"testing"

	"github.com/lora-playground/lora-playground/core/kernels"
	"github.com/lora-playground/lora-playground/core/lora"
)

// TestEveryProductOfAStepRunsOnSIMD counts the matrix products of one
// whole training step in the simd build (the build trainer.wasm ships):
// each must reach a SIMD128 kernel, none may fall back to a pure-Go loop.
// Per layer a step makes at least 6 forward and 6 input-gradient products
// of the linear layers plus attention's per-head products, so the SIMD
// count has a floor too.
func TestEveryProductOfAStepRunsOnSIMD(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func() Config
	}{
		{"lora-all-modules", func() Config { return testConfig(MethodLoRA) }},
		{"lora-qv-dropout", func() Config {
			c := testConfig(MethodLoRA)
			c.LoRA = lora.Config{Rank: 8, Alpha: 16, Dropout: 0.1, Targets: []string{"q_proj", "v_proj"}}
			return c
		}},
		{"full", func() Config { return testConfig(MethodFull) }},
		{"bias", func() Config { return testConfig(MethodBias) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, _ := samplers(t, corpus(), 32)
			m := tinyModel(t)
			tr, err := New(m, tc.cfg(), ts, nil)
			if err != nil {
				t.Fatal(err)
			}
			kernels.ResetMatMulCounts()
			if _, err := tr.Step(); err != nil {
				t.Fatal(err)
			}
			simd, scalar := kernels.MatMulCounts()
			floor := m.Config.NLayer * (6 + 6 + 2*m.Config.NHead*tc.cfg().Batch)
			if scalar != 0 || simd < floor {
				t.Errorf("%d products on SIMD (want ≥ %d), %d fell back to pure Go (want 0)", simd, floor, scalar)
			}
		})
	}
}
