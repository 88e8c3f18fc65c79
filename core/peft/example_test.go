package peft_test

import (
	"fmt"
	"log"

	"github.com/lora-playground/lora-playground/core/peft"
)

func Example() {
	// A rank-2 adapter on the query projection of block 0 of a width-4
	// model. B is zero, as at the start of training.
	a := &peft.Adapter{
		Config: peft.Config{
			PeftType: "LORA", TaskType: "CAUSAL_LM", BaseModelNameOrPath: "tiny",
			R: 2, LoraAlpha: 4, TargetModules: []string{"q_proj"},
		},
		Modules: []peft.ModuleWeights{{
			Module: "h.0.attn.q_proj", R: 2, In: 4, Out: 4,
			A: []float32{0.5, -0.5, 0.25, 0, 1, 2, 3, 4},
			B: make([]float32, 8),
		}},
	}
	zipped, err := peft.EncodeArchive(a)
	if err != nil {
		log.Fatal(err)
	}

	// Load it back, refusing archives or contents over 1 MiB, and check it
	// fits the base model before applying it.
	got, err := peft.DecodeArchive(zipped, 1<<20)
	if err != nil {
		log.Fatal(err)
	}
	m := got.Modules[0]
	fmt.Printf("%s r=%d A=%v scale=%v\n", m.Module, m.R, m.A, got.Config.Scaling(m.Module))

	fits := map[string]peft.ModuleShape{"h.0.attn.q_proj": {In: 4, Out: 4}}
	wider := map[string]peft.ModuleShape{"h.0.attn.q_proj": {In: 8, Out: 8}}
	fmt.Println(got.CheckAgainst(fits))
	fmt.Println(got.CheckAgainst(wider))
	// Output:
	// h.0.attn.q_proj r=2 A=[0.5 -0.5 0.25 0 1 2 3 4] scale=2
	// <nil>
	// peft: adapter does not fit the base model: h.0.attn.q_proj.lora_A: shape [2 4], base model expects [2 8]
}
