package params_test

import (
	"fmt"

	"github.com/lora-playground/lora-playground/core/params"
)

// The LoRA paper's GPT-3 175B figures (Hu et al. 2021, Table 4): adapting
// W_q and W_v in all 96 layers trains 4.7M parameters at r = 1 and 37.7M at
// r = 8, against 175B for full fine-tuning.
func Example() {
	gpt3, err := params.Preset("gpt3-175b")
	if err != nil {
		panic(err)
	}
	for _, r := range []int{1, 8} {
		c, err := params.Calculate(gpt3, params.MethodLoRA, params.LoRA{
			Rank:    r,
			Targets: []string{"q_proj", "v_proj"},
		})
		if err != nil {
			panic(err)
		}
		fmt.Printf("r=%d: %d trainable (%.1fM), adapter file %.1f MB\n",
			r, c.Trainable, float64(c.Trainable)/1e6, float64(c.TrainableBytes)/1e6)
	}
	full, _ := params.Calculate(gpt3, params.MethodFull, params.LoRA{})
	fmt.Printf("full: %.1fB trainable\n", float64(full.Trainable)/1e9)
	// Output:
	// r=1: 4718592 trainable (4.7M), adapter file 18.9 MB
	// r=8: 37748736 trainable (37.7M), adapter file 151.0 MB
	// full: 174.6B trainable
}

// Comparing the four regimes on GPT-2 small: what trains, and what the
// training state (weights + gradients + AdamW moments) costs in float32.
func ExampleCalculate() {
	a, _ := params.Preset("gpt2-small")
	for _, m := range []params.Method{params.MethodFull, params.MethodBias, params.MethodLoRA, params.MethodNone} {
		c, err := params.Calculate(a, m, params.LoRA{Rank: 8, Targets: []string{"q_proj", "v_proj"}})
		if err != nil {
			panic(err)
		}
		state := c.WeightsBytes + c.GradientBytes + c.OptimizerBytes
		fmt.Printf("%-4s trainable %11d (%6.3f%%)  state %6.1f MB\n",
			m, c.Trainable, 100*float64(c.Trainable)/float64(c.Total), float64(state)/1e6)
	}
	// Output:
	// full trainable   124439808 (100.000%)  state 1991.0 MB
	// bias trainable      102144 ( 0.082%)  state  499.0 MB
	// lora trainable      294912 ( 0.236%)  state  502.5 MB
	// none trainable           0 ( 0.000%)  state  497.8 MB
}

// A PEFT-style rank pattern: the full path wins over the module name.
func ExampleRankFor() {
	pattern := map[string]int{"q_proj": 16, "h.1.attn.q_proj": 2}
	for layer := 0; layer < 3; layer++ {
		fmt.Println(layer, params.RankFor(pattern, layer, "q_proj", 8), params.RankFor(pattern, layer, "v_proj", 8))
	}
	// Output:
	// 0 16 8
	// 1 2 8
	// 2 16 8
}

func ExampleModuleShape() {
	a, _ := params.Preset("gpt2-small")
	for _, m := range params.Modules() {
		out, in, _ := params.ModuleShape(a, m)
		fmt.Printf("%s %d×%d\n", m, out, in)
	}
	// Output:
	// q_proj 768×768
	// k_proj 768×768
	// v_proj 768×768
	// o_proj 768×768
	// up_proj 3072×768
	// down_proj 768×3072
}
