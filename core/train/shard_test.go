package train

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/lora-playground/lora-playground/core/lora"
)

// localShard computes its jobs with its own Trainer, on a goroutine, as a
// Web Worker would in its own thread; fail makes it fail at a given step.
type localShard struct {
	tr      *Trainer
	done    chan localResult
	failAt  int // Wait fails at this 0-based step (-1 never)
	startAt int // Start fails at this step (-1 never)
}

type localResult struct {
	r   *ShardResult
	err error
}

func newLocalShard(t *testing.T, cfg Config) *localShard {
	t.Helper()
	tr, err := New(tinyModel(t), cfg, nil, nil) // a shard needs no data of its own
	if err != nil {
		t.Fatal(err)
	}
	return &localShard{tr: tr, done: make(chan localResult, 1), failAt: -1, startAt: -1}
}

func (s *localShard) Start(job *ShardJob) error {
	if job.Step == s.startAt {
		return errors.New("could not post the job")
	}
	go func() {
		if job.Step == s.failAt {
			s.done <- localResult{err: errors.New("worker crashed")}
			return
		}
		g := make([]float32, s.tr.TrainableParams())
		l, err := s.tr.ShardGradient(job, g)
		s.done <- localResult{&ShardResult{LossSum: l, Grad: g}, err}
	}()
	return nil
}

func (s *localShard) Wait() (*ShardResult, error) {
	r := <-s.done
	return r.r, r.err
}

// closeTo reports whether got is within tol·(1+max|want|) of want, element by element.
func closeTo(got, want []float32, tol float64) (bool, string) {
	if len(got) != len(want) {
		return false, fmt.Sprintf("%d numbers, want %d", len(got), len(want))
	}
	scale := 0.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(float64(w)))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - float64(want[i])); d > tol*scale || math.IsNaN(d) {
			return false, fmt.Sprintf("element %d: %g, want %g (max |want| %g)", i, got[i], want[i], scale)
		}
	}
	return true, ""
}

func shardTestConfig(method Method, dropout float64) Config {
	c := testConfig(method)
	c.Batch = 8
	c.LoRA = lora.Config{Rank: 4, Alpha: 8, Targets: []string{"q_proj", "v_proj", "up_proj"}, Dropout: dropout}
	return c
}

// TestShardedGradientEqualsFullBatch splits one batch K ways and checks that
// the sum of the shards' gradients is the whole batch's gradient, and the
// sum of their losses its loss, up to float32 summation order. Without
// dropout the reference is the plain model.Forward/Backward pass; with
// dropout it is the single-worker step's (the masks must be the same).
func TestShardedGradientEqualsFullBatch(t *testing.T) {
	for _, tc := range []struct {
		method  Method
		dropout float64
	}{{MethodLoRA, 0}, {MethodLoRA, 0.2}, {MethodFull, 0}, {MethodBias, 0}} {
		t.Run(fmt.Sprintf("%s/dropout=%v", tc.method, tc.dropout), func(t *testing.T) {
			cfg := shardTestConfig(tc.method, tc.dropout)
			ts, _ := samplers(t, corpus(), cfg.SeqLen)
			tr, err := New(tinyModel(t), cfg, ts, nil)
			if err != nil {
				t.Fatal(err)
			}
			// Move the parameters off their initial values (B = 0 for LoRA).
			for i := 0; i < 3; i++ {
				if _, err := tr.Step(); err != nil {
					t.Fatal(err)
				}
			}
			b := tr.batch
			ts.Next(b)
			var W float64
			for _, w := range b.Weights {
				W += float64(w)
			}
			params := tr.FlatParams(nil)
			const step = 7
			whole := func() ([]float32, float64) {
				g := make([]float32, len(params))
				if tc.dropout == 0 {
					m := tr.Model
					loss, err := m.Forward(tr.acts, b.Inputs, b.Targets, b.Weights, b.B, b.T, nil)
					if err != nil {
						t.Fatal(err)
					}
					for _, x := range tr.tensors {
						clear(x.grad)
					}
					m.Backward(tr.acts, b.Inputs, b.Targets, b.Weights)
					g = g[:0]
					for _, x := range tr.tensors {
						g = append(g, x.grad...)
					}
					return g, loss
				}
				l, err := tr.ShardGradient(&ShardJob{Step: step, B: b.B, T: b.T, Inputs: b.Inputs, Targets: b.Targets,
					Weights: b.Weights, WeightSum: W, Params: params}, g)
				if err != nil {
					t.Fatal(err)
				}
				return g, l / W
			}
			want, wantLoss := whole()
			if norm := l2(want); norm == 0 || math.IsNaN(norm) {
				t.Fatalf("reference gradient norm %v", norm)
			}
			shard := newLocalShard(t, cfg)
			for _, K := range []int{2, 3, 8} {
				sum := make([]float32, len(params))
				var loss float64
				for j := 0; j < K; j++ {
					lo, hi := shardRows(j, K, b.B)
					T := b.T
					g := make([]float32, len(params))
					l, err := shard.tr.ShardGradient(&ShardJob{Step: step, Row0: lo, B: hi - lo, T: T, Inputs: b.Inputs[lo*T : hi*T],
						Targets: b.Targets[lo*T : hi*T], Weights: b.Weights[lo*T : hi*T], WeightSum: W, Params: params}, g)
					if err != nil {
						t.Fatal(err)
					}
					loss += l
					for i := range g {
						sum[i] += g[i]
					}
				}
				if ok, why := closeTo(sum, want, 1e-5); !ok {
					t.Errorf("K=%d: gradient %s", K, why)
				}
				if math.Abs(loss/W-wantLoss) > 1e-6*wantLoss {
					t.Errorf("K=%d: loss %v, whole batch %v", K, loss/W, wantLoss)
				}
			}
		})
	}
}

func l2(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// curve trains 20 steps with K−1 local shards (shards tweaks them) and
// returns the losses and the final parameters.
func curve(t *testing.T, cfg Config, K int, shards func([]*localShard)) ([]float64, []float32, *Trainer) {
	t.Helper()
	ts, _ := samplers(t, corpus(), cfg.SeqLen)
	tr, err := New(tinyModel(t), cfg, ts, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ss []*localShard
	var list []Shard
	for i := 1; i < K; i++ {
		s := newLocalShard(t, cfg)
		ss = append(ss, s)
		list = append(list, s)
	}
	if shards != nil {
		shards(ss)
	}
	tr.SetShards(list)
	var losses []float64
	for i := 0; i < 20; i++ {
		r, err := tr.Step()
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, r.Loss)
	}
	return losses, tr.FlatParams(nil), tr
}

// TestShardedTrainingMatchesSingleWorker trains 20 steps alone and with 1
// and 3 shards: the loss curves and final parameters agree to float32
// summation order (AdamW's first steps move every parameter by about lr
// whatever the gradient's size, so the parameters get a looser bound).
func TestShardedTrainingMatchesSingleWorker(t *testing.T) {
	for _, tc := range []struct {
		method  Method
		dropout float64
	}{{MethodLoRA, 0}, {MethodLoRA, 0.1}, {MethodFull, 0}} {
		cfg := shardTestConfig(tc.method, tc.dropout)
		alone, p1, _ := curve(t, cfg, 1, nil)
		if alone[19] >= alone[0] {
			t.Fatalf("%s: loss did not fall alone: %v → %v", tc.method, alone[0], alone[19])
		}
		for _, K := range []int{2, 4} {
			sharded, pK, tr := curve(t, cfg, K, nil)
			if tr.Workers() != K {
				t.Errorf("Workers() = %d, want %d", tr.Workers(), K)
			}
			for i := range alone {
				if math.Abs(sharded[i]-alone[i]) > 1e-4*alone[i] {
					t.Errorf("%s dropout %v K=%d step %d: loss %v, alone %v", tc.method, tc.dropout, K, i+1, sharded[i], alone[i])
					break
				}
			}
			if ok, why := closeTo(pK, p1, 1e-3); !ok {
				t.Errorf("%s dropout %v K=%d: parameters after 20 steps: %s", tc.method, tc.dropout, K, why)
			}
		}
	}
}

// TestShardedDropoutMasksAreKeyedByRow checks the dropout source: masks
// depend on step (a new mask every step), and the gradient with dropout
// differs from the one without (masks are applied at all).
func TestShardedDropoutMasksAreKeyedByRow(t *testing.T) {
	with, _, _ := curve(t, shardTestConfig(MethodLoRA, 0.3), 1, nil)
	without, _, _ := curve(t, shardTestConfig(MethodLoRA, 0), 1, nil)
	if slices.Equal(with, without) {
		t.Fatal("dropout 0.3 changed nothing")
	}
	s := &dropoutSource{seed: 1, sizes: []int{3, 5}}
	draw := func(step, row0, rows int) []uint64 {
		s.begin(step, row0, rows, 2)
		var out []uint64
		for i := 0; i < rows*2*(3+5); i++ {
			out = append(out, s.Uint64())
		}
		return out
	}
	all := draw(4, 0, 4)
	// Rows 1..3 alone: adapter 0's elements of those rows, then adapter 1's.
	part := draw(4, 1, 3)
	want := append(slices.Clone(all[1*2*3:4*2*3]), all[4*2*3+1*2*5:]...)
	if !slices.Equal(part, want) {
		t.Fatal("rows 1..3 drawn alone differ from the same rows drawn in the whole batch")
	}
	if slices.Equal(draw(5, 0, 4), all) {
		t.Fatal("step 5 drew step 4's masks")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("drawing past the last adapter did not panic")
		}
	}()
	s.begin(0, 0, 1, 1)
	for i := 0; i < 3+5+1; i++ {
		s.Uint64()
	}
}

// TestShardFailureLosesNothing: a shard that cannot take its job, and one
// that fails while computing it, are dropped with a ShardError; their rows
// are computed by the trainer, so the curve is the single worker's.
func TestShardFailureLosesNothing(t *testing.T) {
	cfg := shardTestConfig(MethodLoRA, 0)
	alone, _, _ := curve(t, cfg, 1, nil)
	got, _, tr := curve(t, cfg, 4, func(ss []*localShard) {
		ss[0].failAt = 3
		ss[2].startAt = 5
	})
	for i := range alone {
		if math.Abs(got[i]-alone[i]) > 1e-4*alone[i] {
			t.Fatalf("step %d: loss %v, alone %v", i+1, got[i], alone[i])
		}
	}
	errs := tr.ShardErrors()
	if len(errs) != 2 || errs[0].Shard != 0 || errs[1].Shard != 2 {
		t.Fatalf("shard errors %v, want shards 0 and 2", errs)
	}
	if tr.Workers() != 2 {
		t.Fatalf("%d workers after two failures of four", tr.Workers())
	}
	if tr.ShardErrors() != nil {
		t.Fatal("ShardErrors did not forget")
	}
}

// TestShardGradientRefusesAMismatchedJob: a shard configured differently
// (another rank) says so instead of computing garbage.
func TestShardGradientRefusesAMismatchedJob(t *testing.T) {
	s := newLocalShard(t, shardTestConfig(MethodLoRA, 0))
	g := make([]float32, s.tr.TrainableParams())
	job := &ShardJob{B: 1, T: 32, Inputs: make([]int32, 32), Targets: make([]int32, 32), Weights: make([]float32, 32), WeightSum: 1,
		Params: make([]float32, s.tr.TrainableParams()+1)}
	if _, err := s.tr.ShardGradient(job, g); err == nil {
		t.Fatal("wrong parameter count accepted")
	}
	job.Params, job.T = job.Params[:len(g)], 16
	if _, err := s.tr.ShardGradient(job, g); err == nil {
		t.Fatal("wrong sequence length accepted")
	}
}
