package train

import (
	"runtime"
	"testing"
	"time"

	"github.com/lora-playground/lora-playground/core/data"
	"github.com/lora-playground/lora-playground/core/lora"
)

// TestStepDoesNotAllocate holds a whole training step — batch, forward,
// backward, clipping, AdamW — to zero heap allocations once the buffers
// exist, for each method and with LoRA dropout on. Garbage made per step
// would make the Go runtime collect during training (a pause in the
// browser) and grow wasm memory, which never shrinks.
func TestStepDoesNotAllocate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func() Config
	}{
		{"lora", func() Config { return testConfig(MethodLoRA) }},
		{"lora-qv-dropout", func() Config {
			c := testConfig(MethodLoRA)
			c.LoRA = lora.Config{Rank: 8, Alpha: 16, Dropout: 0.1, Targets: []string{"q_proj", "v_proj"}}
			return c
		}},
		{"full", func() Config { return testConfig(MethodFull) }},
		{"bias", func() Config { return testConfig(MethodBias) }},
		{"none", func() Config { return testConfig(MethodNone) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, _ := samplers(t, corpus(), 32)
			tr, err := New(tinyModel(t), tc.cfg(), ts, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tr.Run(2, 0); err != nil { // first steps size the buffers
				t.Fatal(err)
			}
			if allocs := stepAllocs(t, tr); allocs != 0 {
				t.Errorf("%s: %v allocations per step, want 0", tc.name, allocs)
			}
		})
	}
}

// stepAllocs returns tr.Step's heap allocations per call (of 5, after one
// more); a step that fails fails the test.
func stepAllocs(t *testing.T, tr *Trainer) float64 {
	t.Helper()
	var stepErr error
	allocs := testing.AllocsPerRun(5, func() {
		if _, err := tr.Step(); err != nil {
			stepErr = err
		}
	})
	if stepErr != nil {
		t.Fatal(stepErr)
	}
	return allocs
}

// TestPromptCompletionStepDoesNotAllocate is the same for a task's
// prompt/completion batches (padding and loss masks).
func TestPromptCompletionStepDoesNotAllocate(t *testing.T) {
	var ex []data.Example
	for i := 0; i < 40; i++ {
		ex = append(ex, data.Example{Prompt: "reverse: light =", Completion: " thgil"})
	}
	m := tinyModel(t)
	tok, err := m.Config.NewTokenizer()
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := data.NewSampler(data.KindPromptCompletion, ex, tok, 32, 1)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(m, testConfig(MethodLoRA), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(2, 0); err != nil {
		t.Fatal(err)
	}
	if allocs := stepAllocs(t, tr); allocs != 0 {
		t.Errorf("%v allocations per step, want 0", allocs)
	}
}

// TestRunAllocatesForTheStepsItTakes: Run(n, budget) with n far beyond
// what the budget allows allocates for the steps it takes, not for n.
func TestRunAllocatesForTheStepsItTakes(t *testing.T) {
	cfg := testConfig(MethodLoRA)
	ts, _ := samplers(t, corpus(), cfg.SeqLen)
	tr, err := New(tinyModel(t), cfg, ts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Step(); err != nil { // buffers made
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := tr.Run(1_000_000, time.Nanosecond) // one step, then over budget
	runtime.ReadMemStats(&after)
	if err != nil || len(res) != 1 {
		t.Fatalf("%d results, %v", len(res), err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
		t.Fatalf("Run of one step of a million allocated %d bytes", n)
	}
}

// echoShard is a shard that computes nothing and allocates nothing: it
// answers each job that brings rows with a zero gradient carrying the
// trainer's checksum, so that the trainer's own side of a data-parallel
// step can be held to zero allocations.
type echoShard struct {
	tr      *Trainer
	pending [4]ShardJob // rows jobs not yet answered (ID, RowsStep, B)
	n       int
	res     ShardResult
}

func (s *echoShard) Send(job *ShardJob) error {
	if job.B > 0 {
		s.pending[s.n] = ShardJob{ID: job.ID, RowsStep: job.RowsStep, B: job.B}
		s.n++
	}
	return nil
}

func (s *echoShard) Wait() (*ShardResult, error) {
	j := s.pending[0]
	copy(s.pending[:], s.pending[1:s.n])
	s.n--
	if len(s.res.Grad) != s.tr.TrainableParams() {
		s.res.Grad = make([]float32, s.tr.TrainableParams())
	}
	s.res.ID, s.res.Step, s.res.Check = j.ID, j.RowsStep, s.tr.ParamsChecksum()
	s.res.Elapsed = time.Duration(j.B) * 100 * time.Millisecond // far slower than the trainer: a fixed cut
	return &s.res, nil
}

// TestShardedStepDoesNotAllocate: the trainer's side of a data-parallel
// step (cutting the rows, its own rows, the jobs to the shards, awaiting
// their gradients, relaying them with 3 workers) allocates nothing either,
// once the shards have joined.
func TestShardedStepDoesNotAllocate(t *testing.T) {
	for _, K := range []int{2, 3} {
		ts, _ := samplers(t, corpus(), 32)
		tr, err := New(tinyModel(t), testConfig(MethodLoRA), ts, nil)
		if err != nil {
			t.Fatal(err)
		}
		// A step alone first sizes every buffer for the whole batch (the
		// trainer's share of rows changes as the cut is measured).
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
		var shards []Shard
		for range K - 1 {
			shards = append(shards, &echoShard{tr: tr})
		}
		tr.SetShards(shards)
		if _, err := tr.Run(4, 0); err != nil { // join, measure, cut
			t.Fatal(err)
		}
		allocs := stepAllocs(t, tr)
		if tr.Workers() != K {
			t.Fatalf("%d workers, want %d", tr.Workers(), K)
		}
		if allocs != 0 {
			t.Errorf("K=%d: %v allocations per step, want 0", K, allocs)
		}
	}
}
