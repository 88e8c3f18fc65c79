package train

import (
	"testing"

	"github.com/lora-playground/lora-playground/core/model"
)

// TestTransposeCacheChangesNothing trains two copies of a model through the
// same history — LoRA steps, merge and unmerge, a full fine-tune that
// changes W, LoRA again, W edited in place, an imported adapter — one with
// the cache of frozen weights' transposes and one without, and requires the
// same loss at every step and the same logits at the end, bit for bit
// (batches of 128 rows run the same kernels in both). Then it checks that
// the cache is really in use: editing W without WeightsChanged leaves the
// cached copy behind.
func TestTransposeCacheChangesNothing(t *testing.T) {
	base := tinyModel(t)
	mk := func(cache bool) *model.Model {
		m := base.Clone()
		m.SetTransposeCache(cache)
		return m
	}
	with, without := mk(true), mk(false)
	ms := []*model.Model{with, without}
	trainers := make([]*Trainer, 2)
	newTrainers := func(method Method) {
		for i, m := range ms {
			ts, _ := samplers(t, corpus(), 32)
			tr, err := New(m, testConfig(method), ts, nil)
			if err != nil {
				t.Fatal(err)
			}
			trainers[i] = tr
		}
	}
	steps := func(what string, n int) {
		for s := 0; s < n; s++ {
			var loss [2]float64
			for i, tr := range trainers {
				r, err := tr.Step()
				if err != nil {
					t.Fatal(err)
				}
				loss[i] = r.Loss
			}
			if loss[0] != loss[1] {
				t.Fatalf("%s, step %d: loss %v with the cache, %v without", what, s, loss[0], loss[1])
			}
		}
	}
	logits := func(what string) (same bool) {
		acts := model.NewActivations(base.Config, 2, 32)
		in := make([]int32, 64)
		for i := range in {
			in[i] = int32(1 + i%(base.Config.VocabSize-1))
		}
		var out [2][]float32
		for i, m := range ms {
			if _, err := m.Forward(acts, in, nil, nil, 2, 32, nil); err != nil {
				t.Fatal(err)
			}
			out[i] = append([]float32(nil), acts.Logits...)
		}
		for j := range out[0] {
			if out[0][j] != out[1][j] {
				return false
			}
		}
		return true
	}
	check := func(what string) {
		if !logits(what) {
			t.Fatalf("%s: logits differ with and without the cache", what)
		}
	}

	newTrainers(MethodLoRA)
	steps("lora", 3)
	for _, m := range ms {
		if err := m.Merge(); err != nil {
			t.Fatal(err)
		}
	}
	check("merged")
	for _, m := range ms {
		if err := m.Unmerge(); err != nil {
			t.Fatal(err)
		}
	}
	check("unmerged")
	steps("lora after unmerge", 2)
	ad, err := with.ExportAdapter(testConfig(MethodLoRA).LoRA)
	if err != nil {
		t.Fatal(err)
	}

	newTrainers(MethodFull) // trains, so changes, every W
	steps("full", 3)
	newTrainers(MethodLoRA) // frozen again: the cache must be remade from the new W
	steps("lora after full", 3)

	for _, m := range ms {
		m.W.Blocks[1].Lin[model.ModUp].W[7] += 0.5
		m.WeightsChanged()
	}
	steps("lora after WeightsChanged", 2)
	for _, m := range ms {
		if _, err := m.ImportAdapter(ad); err != nil {
			t.Fatal(err)
		}
	}
	check("imported adapter")

	// The control: an in-place edit nobody reports reaches only the model
	// without the cache (the pure-Go build reads Wᵀ in the backward pass,
	// the SIMD build in the forward pass), so after a step the two differ.
	newTrainers(MethodLoRA)
	steps("lora before the unreported edit", 1)
	for _, m := range ms {
		m.W.Blocks[1].Lin[model.ModO].W[3] += 1
	}
	for _, tr := range trainers {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	if logits("unreported edit") {
		t.Fatal("an unreported edit of a frozen W changed nothing: is the cache in use at all?")
	}
}

// TestShardsKeepFrozenTransposes: a trainer with shards keeps its frozen
// weights' transposes (each worker has a share of the batch, so a
// transpose per weight per step is a larger part of its step), and so does
// each shard; the trainer turns the cache off with its last shard, unless
// it was on before, or when the last shard fails. The steps are the
// single worker's without the cache, up to float32 summation order.
func TestShardsKeepFrozenTransposes(t *testing.T) {
	cfg := shardTestConfig(MethodLoRA, 0)
	ts, _ := samplers(t, corpus(), cfg.SeqLen)
	alone, err := New(tinyModel(t), cfg, ts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alone.Run(3, 0); err != nil {
		t.Fatal(err)
	}
	for _, before := range []bool{false, true} {
		tr, ss, list := withLocalShards(t, cfg, 2)
		tr.Model.SetTransposeCache(before)
		tr.SetShards(list)
		if !tr.Model.TransposeCache() {
			t.Errorf("on before %v: the cache is off with a shard", before)
		}
		for range 3 {
			if _, err := tr.Step(); err != nil {
				t.Fatal(err)
			}
		}
		if !ss[0].tr.Model.TransposeCache() {
			t.Errorf("on before %v: the shard's cache is off", before)
		}
		if st := tr.ShardStats(); st.Steps != 3 || st.Resyncs != 0 {
			t.Errorf("on before %v: %d data-parallel steps, %d resynchronisations; want 3, 0", before, st.Steps, st.Resyncs)
		}
		if ok, why := closeTo(tr.FlatParams(nil), alone.FlatParams(nil), 1e-3); !ok {
			t.Errorf("on before %v: parameters after 3 steps, against alone without the cache: %s", before, why)
		}
		tr.SetShards(nil)
		if got := tr.Model.TransposeCache(); got != before {
			t.Errorf("on before %v: on %v after the last shard left", before, got)
		}
	}
}

// TestLastShardFailingDropsTheTransposes: when the trainer's last shard
// fails, it trains alone, and the transposes it kept for the shards go as
// with SetShards(nil).
func TestLastShardFailingDropsTheTransposes(t *testing.T) {
	tr, ss, list := withLocalShards(t, shardTestConfig(MethodLoRA, 0), 2)
	ss[0].failAt = 2
	tr.SetShards(list)
	for range 4 {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	if tr.Workers() != 1 || len(tr.ShardErrors()) != 1 {
		t.Fatalf("%d workers after the shard failed", tr.Workers())
	}
	if tr.Model.TransposeCache() {
		t.Error("the cache is still on, training alone")
	}
}
