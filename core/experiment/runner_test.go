package experiment

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/lora-playground/lora-playground/core/data"
	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/tokenizer"
	"github.com/lora-playground/lora-playground/core/train"
)

// toyModel is a randomly initialised one-layer decoder of width 16 over the
// default character vocabulary.
func toyModel(t *testing.T) *model.Model {
	t.Helper()
	tok := tokenizer.Default()
	m, err := model.New(model.Config{Name: "toy", VocabSize: tok.Size(), NCtx: 32, NEmbd: 16, NHead: 2, NLayer: 1,
		Tokenizer: model.TokenizerConfig{Type: "char", Vocab: tok.Vocab()}})
	if err != nil {
		t.Fatal(err)
	}
	m.InitGPT2(rand.New(rand.NewPCG(7, 7)))
	return m
}

// toyData is a word-reversal task with an exact-match metric.
func toyData() Data {
	r := rand.New(rand.NewPCG(3, 3))
	word := func() string {
		b := make([]byte, 3+r.IntN(3))
		for i := range b {
			b[i] = byte('a' + r.IntN(26))
		}
		return string(b)
	}
	ex := func(n int) []data.Example {
		var out []data.Example
		for range n {
			w := word()
			rev := []byte(w)
			slices.Reverse(rev)
			out = append(out, data.Example{Prompt: w + " =", Completion: " " + string(rev)})
		}
		return out
	}
	return Data{Kind: data.KindPromptCompletion, Train: ex(64), Val: ex(12), ExactMatch: true}
}

func toyConfig() Config {
	c := DefaultConfig()
	c.Steps, c.Batch, c.EvalEvery, c.AccuracyExamples = 6, 4, 2, 4
	return c
}

func toyRuns(t *testing.T, m *model.Model) []Run {
	runs, err := RankSweep(ArchOf(m.Config), []string{"q_proj", "v_proj"}, []int{1, 4}, true, true)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// same compares everything but the wall-clock figures.
func same(a, b Result) bool {
	a.WallSeconds, b.WallSeconds, a.TokensPerSec, b.TokensPerSec = 0, 0, 0, 0
	eq := func(x, y Loss) bool { return x == y || (x.NaN() && y.NaN()) }
	accEq := (a.Accuracy == nil) == (b.Accuracy == nil) && (a.Accuracy == nil || *a.Accuracy == *b.Accuracy)
	return a.Label == b.Label && a.TrainableParams == b.TrainableParams && a.Steps == b.Steps && a.Error == b.Error &&
		eq(a.TrainLoss, b.TrainLoss) && eq(a.ValLoss, b.ValLoss) && eq(a.BestValLoss, b.BestValLoss) && accEq
}

func TestRunnerDeterministic(t *testing.T) {
	base := toyModel(t)
	before := slices.Clone(base.W.Blocks[0].Lin[0].W)
	var all [2][]Result
	for i := range all {
		x, err := NewRunner(base, toyData(), toyConfig(), toyRuns(t, base))
		if err != nil {
			t.Fatal(err)
		}
		// A zero budget makes every Step one unit of work; the second
		// pass uses larger slices, which must not change any number.
		slice := time.Duration(0)
		if i == 1 {
			slice = time.Second
		}
		all[i] = x.RunAll(slice, nil)
	}
	if len(all[0]) != 4 || len(all[1]) != 4 {
		t.Fatalf("results %d and %d, want 4", len(all[0]), len(all[1]))
	}
	for i := range all[0] {
		if !same(all[0][i], all[1][i]) {
			t.Errorf("run %d differs:\n%+v\n%+v", i, all[0][i], all[1][i])
		}
		r := all[0][i]
		if r.Error != "" || r.ValLoss.NaN() || r.Accuracy == nil || r.BestValLoss > r.ValLoss {
			t.Errorf("%s: %+v", r.Label, r)
		}
	}
	// Trainable counts: LoRA r on q,v of one 16-wide layer is r·2·32; the
	// frozen base trains nothing and takes no step.
	if all[0][0].TrainableParams != 64 || all[0][1].TrainableParams != 256 || all[0][3].TrainableParams != 0 || all[0][3].Steps != 0 {
		t.Errorf("trainable %d, %d, frozen %d (steps %d)", all[0][0].TrainableParams, all[0][1].TrainableParams, all[0][3].TrainableParams, all[0][3].Steps)
	}
	if all[0][2].Method != train.MethodFull || all[0][2].TrainableParams != base.W.NumParams(base.Config) {
		t.Errorf("full fine-tuning trains %d of %d", all[0][2].TrainableParams, base.W.NumParams(base.Config))
	}
	if !slices.Equal(before, base.W.Blocks[0].Lin[0].W) {
		t.Error("the base model's weights changed")
	}
}

func TestRunnerCancelKeepsFinished(t *testing.T) {
	base := toyModel(t)
	full, err := NewRunner(base, toyData(), toyConfig(), toyRuns(t, base))
	if err != nil {
		t.Fatal(err)
	}
	want := full.RunAll(0, nil)
	x, err := NewRunner(base, toyData(), toyConfig(), toyRuns(t, base))
	if err != nil {
		t.Fatal(err)
	}
	// Stop half-way through the second run: "cancel" is not calling Step.
	var p Progress
	for p.Finished < 1 || p.Step < 3 {
		p, _ = x.Step(0)
	}
	if p.Run != 1 || p.Phase != phaseTrain || p.Label != "W_q,W_v r=4" || p.Runs != 4 {
		t.Fatalf("progress %+v", p)
	}
	got := x.Results()
	if len(got) != 1 || !same(got[0], want[0]) {
		t.Errorf("after cancel: %+v, want the first run %+v", got, want[0])
	}
	if x.Done() {
		t.Error("a cancelled runner says it is done")
	}
}

func TestRunnerRefusesBadConfig(t *testing.T) {
	base := toyModel(t)
	c := toyConfig()
	c.LR = 0
	if _, err := NewRunner(base, toyData(), c, toyRuns(t, base)); err == nil {
		t.Error("LR 0: no error")
	}
	if _, err := NewRunner(base, toyData(), toyConfig(), nil); err == nil {
		t.Error("no runs: no error")
	}
	if _, err := NewRunner(base, Data{Kind: data.KindPromptCompletion}, toyConfig(), toyRuns(t, base)); err == nil {
		t.Error("no data: no error")
	}
}

// A short real sweep: on nano and the reverse task (rows of 32 tokens, the
// cheapest shipped task), LoRA r=8 on q,v beats the frozen base after 10
// steps of 4 rows.
func TestNanoLoRABeatsFrozen(t *testing.T) {
	base, err := model.Load("../../models-tiny/nano")
	if err != nil {
		t.Fatal(err)
	}
	task, tr, va, err := data.LoadTask("../../assets/datasets/reverse", 16<<20)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := RankSweep(ArchOf(base.Config), []string{"q_proj", "v_proj"}, []int{8}, false, true)
	if err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.Steps, c.Batch, c.EvalRows = 10, 4, 16
	x, err := NewRunner(base, Data{Kind: task.Kind, Train: tr, Val: va}, c, runs)
	if err != nil {
		t.Fatal(err)
	}
	res := x.RunAll(50*time.Millisecond, nil)
	lora, frozen := res[0], res[1]
	t.Logf("LoRA r=8: val %.4f; frozen: %.4f", lora.ValLoss, frozen.ValLoss)
	if lora.TrainableParams != 4096 { // 2 layers · 2 modules · 8 · (64+64)
		t.Errorf("LoRA r=8 on q,v of nano trains %d, want 4096", lora.TrainableParams)
	}
	if !(lora.ValLoss < frozen.ValLoss-0.2) {
		t.Errorf("LoRA val %.4f does not beat the frozen base %.4f by 0.2 nats", lora.ValLoss, frozen.ValLoss)
	}
}
