package experiment_test

import (
	"fmt"

	"github.com/lora-playground/lora-playground/core/experiment"
	"github.com/lora-playground/lora-playground/core/experiment/paper"
	"github.com/lora-playground/lora-playground/core/params"
)

// The paper's Table 5 plan on GPT-3 175B: one budget, split over one, two
// or four attention projections.
func ExampleWhichWeights() {
	gpt3, _ := params.Preset("gpt3-175b")
	runs, budget, err := experiment.WhichWeights(gpt3, 8)
	if err != nil {
		panic(err)
	}
	fmt.Printf("budget %d trainable parameters\n", budget)
	for _, r := range runs {
		row, _ := paper.Lookup5(r.Targets)
		fmt.Printf("%-20s WikiSQL %.1f%%\n", r.Label(), row.WikiSQL)
	}
	// Output:
	// budget 18874368 trainable parameters
	// W_q r=8              WikiSQL 70.4%
	// W_k r=8              WikiSQL 70.0%
	// W_v r=8              WikiSQL 73.0%
	// W_o r=8              WikiSQL 73.2%
	// W_q,W_k r=4          WikiSQL 71.4%
	// W_q,W_v r=4          WikiSQL 73.7%
	// W_q,W_k,W_v,W_o r=2  WikiSQL 73.7%
}

// A rank sweep on a 64-wide model: r = 64 is the projections' full rank,
// and r = 128 is refused.
func ExampleRankSweep() {
	nano := params.Arch{Name: "nano", VocabSize: 97, NCtx: 128, NEmbd: 64, NHead: 4, NLayer: 2}
	runs, _ := experiment.RankSweep(nano, []string{"q_proj", "v_proj"}, []int{1, 8, 64}, true, true)
	for _, r := range runs {
		n, _ := experiment.LoRAParams(nano, r.Targets, r.Rank)
		fmt.Println(r.Label(), n, r.FullRank)
	}
	_, err := experiment.RankSweep(nano, []string{"q_proj"}, []int{128}, false, false)
	fmt.Println(err != nil)
	// Output:
	// W_q,W_v r=1 512 false
	// W_q,W_v r=8 4096 false
	// W_q,W_v r=64 32768 true
	// full fine-tuning 0 false
	// frozen base 0 false
	// true
}
