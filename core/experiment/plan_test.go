package experiment

import (
	"strings"
	"testing"

	"github.com/lora-playground/lora-playground/core/experiment/paper"
	"github.com/lora-playground/lora-playground/core/params"
	"github.com/lora-playground/lora-playground/core/train"
)

// The shipped models' shapes (models-tiny/*/config.json).
var (
	nano = params.Arch{Name: "nano", VocabSize: 97, NCtx: 128, NEmbd: 64, NHead: 4, NLayer: 2}
	tiny = params.Arch{Name: "tiny", VocabSize: 97, NCtx: 128, NEmbd: 128, NHead: 4, NLayer: 2}
)

func TestWhichWeightsBudget(t *testing.T) {
	gpt3, err := params.Preset("gpt3-175b")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		arch   params.Arch
		r1     int
		budget int   // hand-computed: L · r1 · 2C
		ranks  []int // per Table5Targets
	}{
		// nano: 2 layers · 8 · (64+64) = 2048; q,v at r=4: 2·2·4·128 = 2048; all four at r=2: 2·4·2·128 = 2048.
		{nano, 8, 2048, []int{8, 8, 8, 8, 4, 4, 2}},
		// tiny: 2 · 8 · 256 = 4096.
		{tiny, 8, 4096, []int{8, 8, 8, 8, 4, 4, 2}},
		{nano, 4, 1024, []int{4, 4, 4, 4, 2, 2, 1}},
		{tiny, 16, 8192, []int{16, 16, 16, 16, 8, 8, 4}},
		// GPT-3 175B: 96 · 8 · 24576 = 18,874,368, the paper's "18M".
		{gpt3, 8, 18_874_368, []int{8, 8, 8, 8, 4, 4, 2}},
	} {
		runs, budget, err := WhichWeights(tc.arch, tc.r1)
		if err != nil {
			t.Fatalf("%s r1=%d: %v", tc.arch.Name, tc.r1, err)
		}
		if budget != tc.budget {
			t.Errorf("%s r1=%d: budget %d, want %d", tc.arch.Name, tc.r1, budget, tc.budget)
		}
		if len(runs) != len(tc.ranks) {
			t.Fatalf("%s: %d runs, want %d", tc.arch.Name, len(runs), len(tc.ranks))
		}
		for i, r := range runs {
			if r.Rank != tc.ranks[i] || r.Method != train.MethodLoRA {
				t.Errorf("%s %s: rank %d method %s, want %d lora", tc.arch.Name, WeightsLabel(r.Targets), r.Rank, r.Method, tc.ranks[i])
			}
			// Cross-check against package params' independent count.
			c, err := params.Calculate(tc.arch, params.MethodLoRA, params.LoRA{Rank: r.Rank, Targets: r.Targets})
			if err != nil {
				t.Fatal(err)
			}
			if int(c.Trainable) != tc.budget {
				t.Errorf("%s %s r=%d: params counts %d trainable, want the budget %d", tc.arch.Name, WeightsLabel(r.Targets), r.Rank, c.Trainable, tc.budget)
			}
		}
	}
	// The paper's ranks for the same choices.
	runs, _, _ := WhichWeights(gpt3, 8)
	for i, row := range paper.Table5 {
		if !paper.SameTargets(row.Targets, runs[i].Targets) || row.Rank != runs[i].Rank {
			t.Errorf("Table 5 row %d: paper %v r=%d, plan %v r=%d", i, row.Targets, row.Rank, runs[i].Targets, runs[i].Rank)
		}
	}
}

func TestRankForBudget(t *testing.T) {
	for _, tc := range []struct {
		arch    params.Arch
		targets []string
		budget  int
		want    int
		errPart string
	}{
		{nano, []string{"q_proj"}, 256, 1, ""},
		{nano, []string{"q_proj", "v_proj"}, 2048, 4, ""},
		// up_proj is 256×64: one rank costs 2·(64+256) = 640.
		{nano, []string{"up_proj"}, 1280, 2, ""},
		// one rank on q and up: 2 layers · ((64+64) + (64+256)) = 896.
		{nano, []string{"q_proj", "up_proj"}, 896, 1, ""},
		{nano, []string{"q_proj", "up_proj"}, 1792, 2, ""},
		{nano, []string{"q_proj"}, 300, 0, "try 256 or 512"},
		{nano, []string{"q_proj"}, 100, 0, "try 256"},
		{nano, []string{"q_proj"}, 0, 0, "not a whole rank"},
		{nano, nil, 256, 0, "no target"},
		{nano, []string{"x_proj"}, 256, 0, "unknown module"},
	} {
		r, err := RankForBudget(tc.arch, tc.targets, tc.budget)
		if tc.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Errorf("%v budget %d: error %v, want one containing %q", tc.targets, tc.budget, err, tc.errPart)
			}
			continue
		}
		if err != nil || r != tc.want {
			t.Errorf("%v budget %d: r=%d err %v, want %d", tc.targets, tc.budget, r, err, tc.want)
		}
	}
	if _, _, err := WhichWeights(nano, 6); err == nil {
		t.Error("WhichWeights(r1=6) gave no error; 6 does not split into 4 whole ranks")
	}
}

func TestRankSweep(t *testing.T) {
	runs, err := RankSweep(nano, []string{"q_proj", "v_proj"}, DefaultRanks, true, true)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, r := range runs {
		labels = append(labels, r.Label())
	}
	want := "W_q,W_v r=1|W_q,W_v r=2|W_q,W_v r=4|W_q,W_v r=8|W_q,W_v r=16|W_q,W_v r=64|full fine-tuning|frozen base"
	if got := strings.Join(labels, "|"); got != want {
		t.Errorf("labels %s, want %s", got, want)
	}
	// nano's projections are 64×64: r=64 is full rank, 16 is not.
	if !runs[5].FullRank || runs[4].FullRank {
		t.Errorf("full rank flags: r=16 %v, r=64 %v; want false, true", runs[4].FullRank, runs[5].FullRank)
	}
	if _, err := RankSweep(nano, []string{"q_proj"}, []int{128}, false, false); err == nil || !strings.Contains(err.Error(), "use r ≤ 64") {
		t.Errorf("r=128 on 64×64: error %v, want a refusal naming the limit", err)
	}
	// On tiny (128×128) r=128 is allowed; up_proj (512×128) caps at 128 too.
	if _, err := RankSweep(tiny, []string{"up_proj"}, []int{128}, false, false); err != nil {
		t.Errorf("r=128 on tiny up_proj: %v", err)
	}
	kept, dropped := CapRanks(nano, []string{"q_proj"}, []int{1, 64, 65, 128})
	if len(kept) != 2 || len(dropped) != 2 || dropped[0] != 65 {
		t.Errorf("CapRanks: kept %v dropped %v", kept, dropped)
	}
	for _, bad := range [][]int{{0}, {2, 2}} {
		if _, err := RankSweep(nano, []string{"q_proj"}, bad, false, false); err == nil {
			t.Errorf("ranks %v: no error", bad)
		}
	}
	if _, err := RankSweep(nano, []string{"q_proj"}, nil, false, false); err == nil {
		t.Error("an empty sweep gave no error")
	}
}

func TestEveryChoiceHasAPaperRow(t *testing.T) {
	for _, ts := range Table5Targets {
		if _, ok := paper.Lookup5(ts); !ok {
			t.Errorf("no paper row for %v", ts)
		}
	}
}
