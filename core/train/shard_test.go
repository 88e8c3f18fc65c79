package train

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/lora-playground/lora-playground/core/data"
	"github.com/lora-playground/lora-playground/core/lora"
)

// localShard is a shard with its own Trainer, as a Web Worker would have,
// answering each job as it is sent; failAt and startAt make it fail.
type localShard struct {
	tr      *Trainer
	results []localResult
	failAt  int // Wait fails for the rows of this 0-based step (-1 never)
	startAt int // Send fails for the job bringing this step's rows (-1 never)
	jobs    int
	perRow  time.Duration // when set, the time per row it reports, as a slower core would
	rows    []int         // the rows of each result, in order
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
	return &localShard{tr: tr, failAt: -1, startAt: -1}
}

func (s *localShard) Send(job *ShardJob) error {
	if job.B > 0 && job.RowsStep == s.startAt {
		return errors.New("could not post the job")
	}
	s.jobs++
	r, err := s.tr.ShardHandle(cloneJob(job)) // the job's slices are the trainer's: a worker gets a copy
	if err == nil && r == nil {
		return nil
	}
	if err == nil && r.Step == s.failAt {
		err = errors.New("worker crashed")
	}
	if r != nil {
		c := *r
		c.Grad = slices.Clone(r.Grad)
		if s.perRow > 0 {
			c.Elapsed = time.Duration(s.tr.replica.rows.B) * s.perRow
		}
		s.rows = append(s.rows, s.tr.replica.rows.B)
		r = &c
	}
	s.results = append(s.results, localResult{r, err})
	return nil
}

func cloneJob(j *ShardJob) *ShardJob {
	c := *j
	c.Params, c.M, c.V, c.Grads = slices.Clone(j.Params), slices.Clone(j.M), slices.Clone(j.V), slices.Clone(j.Grads)
	c.Inputs, c.Targets, c.Weights = slices.Clone(j.Inputs), slices.Clone(j.Targets), slices.Clone(j.Weights)
	return &c
}

func (s *localShard) Wait() (*ShardResult, error) {
	if len(s.results) == 0 {
		return nil, errors.New("no result will come")
	}
	r := s.results[0]
	s.results = s.results[1:]
	return r.r, r.err
}

// gradientOf computes the gradient of rows [row0, row0+B) of b with tr
// at parameters params, as a shard computes its rows.
func gradientOf(t *testing.T, tr *Trainer, params []float32, step, row0, B int, b *data.Batch, W float64) ([]float32, float64) {
	t.Helper()
	zero := make([]float32, len(params))
	if err := tr.adoptState(&ShardJob{Step: step, Params: params, M: zero, V: zero}); err != nil {
		t.Fatal(err)
	}
	T := b.T
	g := make([]float32, len(params))
	l, err := tr.gradientInto(g, step, row0, B, b.Inputs[row0*T:], b.Targets[row0*T:], b.Weights[row0*T:], W)
	if err != nil {
		t.Fatal(err)
	}
	return g, l
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
				g, l := gradientOf(t, tr, params, step, 0, b.B, b, W)
				return g, l / W
			}
			want, wantLoss := whole()
			if norm := l2(want); norm == 0 || math.IsNaN(norm) {
				t.Fatalf("reference gradient norm %v", norm)
			}
			shard := newLocalShard(t, cfg)
			// Even cuts, and the uneven ones that workers of different
			// speeds get (rowcut.go).
			cuts := [][]int{evenCut(nil, 2, b.B), evenCut(nil, 3, b.B), evenCut(nil, 8, b.B), {0, 5, 8}, {0, 1, 2, 8}}
			for _, cut := range cuts {
				K := len(cut) - 1
				sum := make([]float32, len(params))
				var loss float64
				for j := 0; j < K; j++ {
					lo, hi := cut[j], cut[j+1]
					g, l := gradientOf(t, shard.tr, params, step, lo, hi-lo, b, W)
					loss += l
					for i := range g {
						sum[i] += g[i]
					}
				}
				if ok, why := closeTo(sum, want, 1e-5); !ok {
					t.Errorf("cut %v: gradient %s", cut, why)
				}
				if math.Abs(loss/W-wantLoss) > 1e-6*wantLoss {
					t.Errorf("cut %v: loss %v, whole batch %v", cut, loss/W, wantLoss)
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
	tr, ss, list := withLocalShards(t, cfg, K)
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

// withLocalShards returns a trainer for cfg and K−1 local shards, not yet
// attached (SetShards(list)), so that a test can tweak them first.
func withLocalShards(t *testing.T, cfg Config, K int) (*Trainer, []*localShard, []Shard) {
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
		ss, list = append(ss, s), append(list, s)
	}
	return tr, ss, list
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

// TestShardedTrainingCutsRowsBySpeed: a shard that reports itself far
// slower than the trainer (50 ms a row) is given fewer rows once its time
// has been measured, 1 of 8 instead of 4, and the curve is still the
// single worker's; when it then fails, the trainer computes the rows it
// actually had, so nothing is lost.
func TestShardedTrainingCutsRowsBySpeed(t *testing.T) {
	cfg := shardTestConfig(MethodLoRA, 0)
	alone, p1, _ := curve(t, cfg, 1, nil)
	// Steps 0 to pre−1's rows went out before the shard's time was known:
	// its first step is not counted, then it takes timerKnown steps, and
	// each step's rows go out a step ahead.
	const pre = 2 + timerKnown
	// failAt pre−1: the shard fails on the step before the one whose rows
	// it got by the first measured cut, 1 of 8, so after those went out.
	for _, failAt := range []int{-1, pre - 1, 12} {
		var slow *localShard
		got, p2, tr := curve(t, cfg, 2, func(ss []*localShard) {
			slow = ss[0]
			slow.perRow, slow.failAt = 50*time.Millisecond, failAt
		})
		for i := range alone {
			if math.Abs(got[i]-alone[i]) > 1e-4*alone[i] {
				t.Fatalf("failAt %d, step %d: loss %v, alone %v", failAt, i+1, got[i], alone[i])
			}
		}
		if ok, why := closeTo(p2, p1, 1e-3); !ok {
			t.Errorf("failAt %d: parameters after 20 steps: %s", failAt, why)
		}
		if n := min(len(slow.rows), pre+1); n < pre || slices.ContainsFunc(slow.rows[:pre], func(r int) bool { return r != 4 }) || n > pre && slow.rows[n-1] != 1 {
			t.Errorf("failAt %d: the slow shard's rows per step %v, want 4 for %d steps, then 1", failAt, slow.rows, pre)
		}
		st := tr.ShardStats()
		if failAt < 0 && !slices.Equal(st.Rows, []int{7, 1}) {
			t.Errorf("rows per worker in the last step %v, want [7 1]", st.Rows)
		}
		// The counts of uneven and changed cuts, against the rows the
		// shard was given step by step (and the next step's, computed
		// ahead).
		if failAt < 0 && len(slow.rows) >= st.Steps {
			uneven, changes := 0, 0
			for i, n := range slow.rows[:st.Steps] {
				if n != 4 {
					uneven++
				}
				if i > 0 && n != slow.rows[i-1] {
					changes++
				}
			}
			if st.Uneven != uneven || st.Changes != changes || changes == 0 {
				t.Errorf("%d steps, %d cut unevenly, %d changed; the shard's rows %v", st.Steps, st.Uneven, st.Changes, slow.rows)
			}
		} else if failAt < 0 {
			t.Errorf("the shard computed %d steps' rows, the trainer took %d steps", len(slow.rows), st.Steps)
		}
		if failAt >= 0 && (len(tr.ShardErrors()) != 1 || tr.Workers() != 1) {
			t.Errorf("failAt %d: the shard was not dropped", failAt)
		}
	}
}

// TestCutStaysNearTheLine: the measured cut replaces the even one at a
// gain of cutGain and gives way to it only below cutKeep, so speeds that
// hover near the line do not flip the cut every step.
func TestCutStaysNearTheLine(t *testing.T) {
	for _, tc := range []struct {
		name  string
		B     int
		times [][]float64 // per step: the shards' times per row; the trainer's is 1
		want  [][]int
	}{
		{"two workers", 8,
			[][]float64{{1.27}, {1.5}, {1.27}, {1.23}, {1.27}},
			// 5+3 would end 3.8% sooner: not enough to leave 4+4; at 1.5
			// 19%; then 3.8% is enough to stay; at 1.23, 0.6%: back to even.
			[][]int{{0, 4, 8}, {0, 5, 8}, {0, 5, 8}, {0, 4, 8}, {0, 4, 8}}},
		{"three workers, jittering around equal", 6,
			[][]float64{{0.93, 1.11}, {1.04, 0.95}, {0.96, 1.08}, {1.07, 0.94}},
			[][]int{{0, 2, 4, 6}, {0, 2, 4, 6}, {0, 2, 4, 6}, {0, 2, 4, 6}}},
		{"three workers, uneven, then jittering", 8,
			[][]float64{{2, 2}, {1.9, 2.1}, {2.1, 1.9}, {2, 2.2}},
			[][]int{{0, 4, 6, 8}, {0, 4, 6, 8}, {0, 4, 6, 8}, {0, 4, 6, 8}}},
	} {
		tr := &Trainer{ownTime: rowTimer{perRow: 1}}
		for range tc.times[0] {
			tr.links = append(tr.links, &shardLink{})
		}
		K := len(tr.links) + 1
		for step, times := range tc.times {
			for j, x := range times {
				tr.links[j].time.perRow = x
			}
			if got := tr.cutFor(step, K, tc.B); !slices.Equal(got, tc.want[step]) {
				t.Errorf("%s, step %d, shards %v× slower: cut %v, want %v", tc.name, step, times, got, tc.want[step])
			}
			if got := tr.cutFor(step, K, tc.B); !slices.Equal(got, tc.want[step]) {
				t.Errorf("%s, step %d asked again: cut %v, want the one made, %v", tc.name, step, got, tc.want[step])
			}
		}
	}
}

// TestCutFollowsTheFixedPart drives the cut with the times of workers
// whose step costs their rows plus half a row: the shard runs 1.6× slower
// for 10 steps, which moves the cut to 5+3, then 1.2× slower, where 5+3
// no longer gains over 4+4 and the cut must go back. (Taken as
// proportional to its rows, the shard's time for 3 rows would look 6%
// slower per row than it is, enough to hold 5+3.) A batch that grows with
// the same workers gets a cut of the new batch.
func TestCutFollowsTheFixedPart(t *testing.T) {
	tr := &Trainer{links: []*shardLink{{}}}
	dur := func(n int, perRow float64) time.Duration {
		return time.Duration((float64(n) + rowSetup) * perRow * float64(time.Millisecond))
	}
	var cut []int
	for step := range 40 {
		r := 1.6
		if step >= 10 {
			r = 1.2
		}
		cut = tr.cutFor(step, 2, 8)
		if step == 9 && !slices.Equal(cut, []int{0, 5, 8}) {
			t.Fatalf("after 10 steps of a shard 1.6× slower: cut %v, want [0 5 8]", cut)
		}
		tr.ownTime.add(dur(cut[1], 1), cut[1])
		tr.links[0].time.add(dur(8-cut[1], r), 8-cut[1])
	}
	if !slices.Equal(cut, []int{0, 4, 8}) {
		t.Errorf("30 steps after the shard became 1.2× slower: cut %v, want [0 4 8]", cut)
	}
	// A larger batch on the same workers (equal now).
	tr.links[0].time.perRow = tr.ownTime.perRow
	if got := tr.cutFor(40, 2, 6); !slices.Equal(got, []int{0, 3, 6}) {
		t.Errorf("6 rows: cut %v, want [0 3 6]", got)
	}
	if got := tr.cutFor(41, 2, 8); !slices.Equal(got, []int{0, 4, 8}) {
		t.Errorf("then 8 rows: cut %v, want [0 4 8]", got)
	}
}

// TestOneSlowStepDoesNotMoveTheCut: a worker's time per row is the median
// of its last steps, and unknown until it has timerKnown of them, so a
// step or two several times slower than the rest (a garbage collection, a
// thread that lost its core), among its first steps or later, leaves the
// cut even, and a worker that stays 1.6× slower gets fewer rows 3 steps
// later.
func TestOneSlowStepDoesNotMoveTheCut(t *testing.T) {
	tr := &Trainer{links: []*shardLink{{}}}
	dur := func(n int, perRow float64) time.Duration {
		return time.Duration((float64(n) + rowSetup) * perRow * float64(time.Millisecond))
	}
	for step := range 30 {
		r := 1.0
		switch {
		case step == 1 || step == 8 || step == 15 || step == 16:
			r = 5
		case step >= 22:
			r = 1.6
		}
		cut := tr.cutFor(step, 2, 8)
		want := []int{0, 4, 8}
		if step >= 25 {
			want = []int{0, 5, 8}
		}
		if !slices.Equal(cut, want) {
			t.Errorf("step %d: cut %v, want %v", step, cut, want)
		}
		tr.ownTime.add(dur(cut[1], 1), cut[1])
		tr.links[0].time.add(dur(8-cut[1], r), 8-cut[1])
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{
		{[]float64{1}, 1},
		{[]float64{3, 1}, 2},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{9, 1, 8, 2, 5}, 5},
		{[]float64{2, 2, 7, 2, 7}, 2},
	} {
		in := slices.Clone(tc.xs)
		if got := median(tc.xs); got != tc.want || !slices.Equal(tc.xs, in) {
			t.Errorf("median(%v) = %v (input now %v), want %v", in, got, tc.xs, tc.want)
		}
	}
}

// TestShardsMoveDownASlot: with a spare shard (more shards than rows), a
// shard that fails is replaced without K changing, and the shards after
// it move down a slot: each must compute its new slot's rows, not the
// rows it was sent for its old one.
func TestShardsMoveDownASlot(t *testing.T) {
	cfg := shardTestConfig(MethodLoRA, 0)
	alone, _, _ := curve(t, cfg, 1, nil)
	got, _, tr := curve(t, cfg, 9, func(ss []*localShard) { ss[0].failAt = 3 })
	for i := range alone {
		if math.Abs(got[i]-alone[i]) > 1e-4*alone[i] {
			t.Fatalf("step %d: loss %v, alone %v", i+1, got[i], alone[i])
		}
	}
	if tr.Workers() != 8 || len(tr.ShardErrors()) != 1 {
		t.Fatalf("%d workers after one of 8 shards (one spare) failed", tr.Workers())
	}
}

// TestBestCut checks the cut of B rows between workers of measured speeds
// against every possible cut: it ends the step as early as the best of
// them and gives every worker a row.
func TestBestCut(t *testing.T) {
	// best is the shortest span over every cut with a row or more each.
	var best func(perRow []float64, B int) float64
	best = func(perRow []float64, B int) float64 {
		if len(perRow) == 1 {
			return (float64(B) + rowSetup) * perRow[0]
		}
		b := math.Inf(1)
		for n := 1; n <= B-len(perRow)+1; n++ {
			b = min(b, max((float64(n)+rowSetup)*perRow[0], best(perRow[1:], B-n)))
		}
		return b
	}
	for _, tc := range []struct {
		perRow []float64
		B      int
		want   []int // nil: only the checks against every cut
	}{
		{[]float64{1, 1}, 8, []int{0, 4, 8}},
		{[]float64{1, 1.04}, 8, []int{0, 4, 8}},
		{[]float64{1, 1.27}, 8, []int{0, 5, 8}}, // 3.8% sooner than 4+4
		{[]float64{1, 1.5}, 8, []int{0, 5, 8}},
		{[]float64{1.5, 1}, 8, []int{0, 3, 8}}, // the trainer slower
		{[]float64{1, 3}, 8, []int{0, 7, 8}},   // 7+1 and 6+2 both end at 7.5
		{[]float64{1, 100}, 8, []int{0, 7, 8}}, // a crawling worker still gets a row
		{[]float64{1, 1, 1}, 8, nil},
		{[]float64{1, 2, 1, 1}, 4, []int{0, 1, 2, 3, 4}},
		{[]float64{1, 1.2, 2.5}, 16, nil},
		{[]float64{0.7, 1, 1.9, 1.1}, 13, nil},
		{[]float64{2, 1}, 2, []int{0, 1, 2}},
	} {
		K := len(tc.perRow)
		got := bestCut(nil, make([]int, K), tc.perRow, tc.B)
		if tc.want != nil && !slices.Equal(got, tc.want) {
			t.Errorf("%v, B=%d: cut %v, want %v", tc.perRow, tc.B, got, tc.want)
		}
		if len(got) != K+1 || got[0] != 0 || got[K] != tc.B {
			t.Fatalf("%v, B=%d: cut %v", tc.perRow, tc.B, got)
		}
		for j := range K {
			if got[j+1]-got[j] < 1 {
				t.Errorf("%v, B=%d: cut %v leaves worker %d without rows", tc.perRow, tc.B, got, j)
			}
		}
		if s, b := span(got, tc.perRow), best(tc.perRow, tc.B); s > b*(1+1e-12) {
			t.Errorf("%v, B=%d: cut %v ends at %v, the best cut at %v", tc.perRow, tc.B, got, s, b)
		}
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

// TestShardHandleRefusesAMismatchedJob: a shard configured differently
// (another rank), or sent jobs out of order, says so instead of computing
// garbage.
func TestShardHandleRefusesAMismatchedJob(t *testing.T) {
	cfg := shardTestConfig(MethodLoRA, 0)
	s := newLocalShard(t, cfg)
	P := s.tr.TrainableParams()
	rows := func(j *ShardJob) *ShardJob {
		j.B, j.T, j.Inputs, j.Targets, j.Weights, j.WeightSum = 1, 32, make([]int32, 32), make([]int32, 32), make([]float32, 32), 1
		return j
	}
	state := func(n int) *ShardJob {
		return rows(&ShardJob{K: 2, Slot: 1, Params: make([]float32, n), M: make([]float32, n), V: make([]float32, n)})
	}
	if _, err := s.tr.ShardHandle(rows(&ShardJob{K: 2, Slot: 1})); err == nil {
		t.Fatal("rows before any state accepted")
	}
	if _, err := s.tr.ShardHandle(state(P + 1)); err == nil {
		t.Fatal("wrong parameter count accepted")
	}
	bad := state(P)
	bad.Slot = 2
	if _, err := s.tr.ShardHandle(bad); err == nil {
		t.Fatal("worker 2 of 2 accepted")
	}
	bad = state(P)
	bad.T = 16
	if _, err := s.tr.ShardHandle(bad); err == nil {
		t.Fatal("wrong sequence length accepted")
	}
	r, err := s.tr.ShardHandle(state(P))
	if err != nil || r == nil || len(r.Grad) != P {
		t.Fatalf("a good job: %v %v", r, err)
	}
	if _, err := s.tr.ShardHandle(&ShardJob{K: 2, Slot: 1, GradStep: 3, Slots: 1, Grads: make([]float32, P)}); err == nil {
		t.Fatal("gradients of another step accepted")
	}
	if _, err := s.tr.ShardHandle(&ShardJob{K: 2, Slot: 1, GradStep: 0, Slots: 1, Grads: make([]float32, P-1)}); err == nil {
		t.Fatal("a short gradient accepted")
	}
	if _, err := s.tr.ShardHandle(&ShardJob{K: 2, Slot: 1, GradStep: 0, Slots: 2, Grads: make([]float32, P)}); err == nil {
		t.Fatal("the shard's own gradient accepted from the trainer")
	}
	if r, err := s.tr.ShardHandle(&ShardJob{K: 2, Slot: 1, GradStep: 0, Slots: 1, Grads: make([]float32, P)}); err != nil || r != nil || s.tr.StepsTaken() != 1 {
		t.Fatalf("the trainer's gradient: %v %v, step %d", r, err, s.tr.StepsTaken())
	}
}

// TestShardReplicasStayBitIdentical: over 40 steps (LoRA with dropout,
// weight decay, clipping that bites, warmup then cosine; and full
// fine-tuning), every shard's parameters, AdamW moments and step equal the
// trainer's bit for bit after each step, with 2 and 3 workers; no shard is
// ever resynchronised; and the losses are the single worker's.
func TestShardReplicasStayBitIdentical(t *testing.T) {
	for method, clip := range map[Method]float64{MethodLoRA: 0.1, MethodFull: 1} { // about the median gradient norm
		cfg := shardTestConfig(method, 0.1)
		cfg.WeightDecay, cfg.GradClip, cfg.WarmupSteps, cfg.Steps = 0.1, clip, 5, 30 // steps 30..39 run at the final rate
		alone, _, _ := curve(t, cfg, 1, nil)
		for _, K := range []int{2, 3} {
			tr, shards, list := withLocalShards(t, cfg, K)
			tr.SetShards(list)
			clipped := 0
			for step := 0; step < 40; step++ {
				r, err := tr.Step()
				if err != nil {
					t.Fatal(err)
				}
				if r.GradNorm > cfg.GradClip {
					clipped++
				}
				if step < len(alone) && math.Abs(r.Loss-alone[step]) > 1e-4*alone[step] {
					t.Fatalf("%s K=%d step %d: loss %v, alone %v", method, K, step+1, r.Loss, alone[step])
				}
				for i, s := range shards {
					if !sameState(tr, s.tr) {
						t.Fatalf("%s K=%d: shard %d's replica differs from the trainer after step %d", method, K, i+1, step+1)
					}
				}
			}
			if clipped == 0 || clipped == 40 {
				t.Errorf("%s K=%d: clipping bit in %d of 40 steps; the test wants both kinds", method, K, clipped)
			}
			if st := tr.ShardStats(); st.Steps != 40 || st.Resyncs != 0 || tr.Workers() != K {
				t.Errorf("%s K=%d: stats %+v, %d workers", method, K, st, tr.Workers())
			}
		}
	}
}

// sameState reports whether a and b hold bit-identical parameters, AdamW
// moments and step counts.
func sameState(a, b *Trainer) bool {
	bits := func(tr *Trainer) []uint32 {
		var out []uint32
		for _, v := range [][]float32{tr.FlatParams(nil), tr.flatMoments(nil, 0), tr.flatMoments(nil, 1)} {
			for _, x := range v {
				out = append(out, math.Float32bits(x))
			}
		}
		return append(out, uint32(tr.step), uint32(tr.opt.T))
	}
	return slices.Equal(bits(a), bits(b))
}

// TestShardsResyncAndRejoin: a shard whose replica drifted (here: its
// parameters are disturbed) is caught by the checksum, its rows are
// computed by the trainer and it gets the whole state again; a shard that
// joins mid-run, and a change of worker count, start from the trainer's
// state; the curve stays the single worker's throughout.
func TestShardsResyncAndRejoin(t *testing.T) {
	cfg := shardTestConfig(MethodLoRA, 0.1)
	alone, _, _ := curve(t, cfg, 1, nil)
	ts, _ := samplers(t, corpus(), cfg.SeqLen)
	tr, err := New(tinyModel(t), cfg, ts, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := newLocalShard(t, cfg), newLocalShard(t, cfg)
	var got []float64
	steps := func(n int) {
		for range n {
			r, err := tr.Step()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, r.Loss)
		}
	}
	tr.SetShards([]Shard{a})
	steps(4)
	a.tr.tensors[0].param[0] += 1e-3 // drift
	steps(3)
	if st := tr.ShardStats(); st.Resyncs != 1 {
		t.Fatalf("%d resyncs after a drift, want 1", st.Resyncs)
	}
	if !sameState(tr, a.tr) {
		t.Fatal("the drifted shard did not get the trainer's state back")
	}
	tr.SetShards([]Shard{a, b}) // b joins: 3 workers
	steps(3)
	tr.SetShards(nil) // alone, with a batch sampled ahead
	steps(3)
	tr.SetShards([]Shard{b})
	steps(7)
	if errs := tr.ShardErrors(); len(errs) != 0 {
		t.Fatalf("shard errors: %v", errs)
	}
	for i := range alone {
		if math.Abs(got[i]-alone[i]) > 1e-4*alone[i] {
			t.Fatalf("step %d: loss %v, alone %v", i+1, got[i], alone[i])
		}
	}
	if !sameState(tr, b.tr) {
		t.Fatal("shard b's replica differs at the end")
	}
}

// TestRestoreAfterShardedSteps: a state saved while a batch was sampled
// ahead for the shards restores to the same run as one saved alone.
func TestRestoreAfterShardedSteps(t *testing.T) {
	cfg := shardTestConfig(MethodLoRA, 0)
	alone, _, _ := curve(t, cfg, 1, nil)
	ts, _ := samplers(t, corpus(), cfg.SeqLen)
	tr, err := New(tinyModel(t), cfg, ts, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr.SetShards([]Shard{newLocalShard(t, cfg)})
	for range 6 {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	st, err := tr.State()
	if err != nil {
		t.Fatal(err)
	}
	ts2, _ := samplers(t, corpus(), cfg.SeqLen)
	tr2, err := New(tinyModel(t), cfg, ts2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr2.Restore(st); err != nil {
		t.Fatal(err)
	}
	tr2.SetShards([]Shard{newLocalShard(t, cfg)})
	for i := 6; i < 12; i++ {
		r, err := tr2.Step()
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(r.Loss-alone[i]) > 1e-4*alone[i] {
			t.Fatalf("restored, step %d: loss %v, alone %v", i+1, r.Loss, alone[i])
		}
	}
}
