package main

import (
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lora-playground/lora-playground/core/lora"
	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/tokenizer"
	"github.com/lora-playground/lora-playground/core/train"
	"github.com/lora-playground/lora-playground/wasm/protocol"
)

// namedModel adds models/testnamed, whose config.json names it
// "lora-playground/testnamed" as the shipped models do: shards must fetch
// the folder the run names, not the model's own name.
var namedModel = sync.OnceValue(func() error {
	dir, err := testModels()
	if err != nil {
		return err
	}
	vocab := tokenizer.DefaultVocab()
	c := model.Config{Name: "lora-playground/testnamed", VocabSize: len(vocab), NCtx: 64, NEmbd: 32, NHead: 2, NLayer: 2,
		Tokenizer: model.TokenizerConfig{Type: "char", Vocab: vocab}}
	m, err := model.New(c)
	if err != nil {
		return err
	}
	m.InitGPT2(rand.New(rand.NewPCG(3, 4)))
	return m.Save(filepath.Join(dir, "testnamed"), nil)
})

// localConn is a shard worker in the same process: a Session that answers
// each request as it is sent, through the wire format. failAfter > 0 makes
// it die at that job (shard frame), as a crashed worker would. shared
// makes it say it exchanges through shared memory (sharedMemoryConn), as
// the js build's lanes do: the evaluation then hands out smaller shares.
type localConn struct {
	s         *Session
	inbox     []protocol.Message
	grads     int // shard frames sent
	evals     int // of which evaluation units
	failAfter int
	closed    bool
	shared    bool
}

func (c *localConn) SharedMemory() bool { return c.shared }

func (c *localConn) Send(req protocol.Request) error {
	if c.closed {
		return errors.New("closed")
	}
	js, payload, err := req.Encode()
	if err != nil {
		return err
	}
	if req, err = protocol.DecodeRequest(js, payload); err != nil {
		return err
	}
	return c.deliver(c.s.Handle(req))
}

func (c *localConn) SendFrame(frame []byte) error {
	if c.closed {
		return errors.New("closed")
	}
	c.grads++
	if f := (protocol.ShardFrame{}); protocol.DecodeShardFrame(frame, &f) == nil && f.Kind == protocol.FrameEval {
		c.evals++
	}
	if c.grads == c.failAfter {
		return nil // the reply never comes; Receive reports the crash
	}
	return c.deliver(c.s.HandleFrame(slices.Clone(frame)))
}

// deliver queues the shard's replies as the primary would receive them.
func (c *localConn) deliver(msgs []protocol.Message) error {
	for _, m := range msgs {
		if m.Frame != nil {
			c.inbox = append(c.inbox, protocol.Message{Frame: slices.Clone(m.Frame)})
			continue
		}
		js, payload, err := m.Encode()
		if err != nil {
			return err
		}
		if m, err = protocol.DecodeMessage(js, payload); err != nil {
			return err
		}
		c.inbox = append(c.inbox, m)
	}
	return nil
}

func (c *localConn) Receive(time.Duration) (protocol.Message, bool, error) {
	if c.closed { // a terminated worker: nothing more comes
		return protocol.Message{}, false, nil
	}
	if c.failAfter > 0 && c.grads >= c.failAfter {
		return protocol.Message{}, false, errors.New("the worker crashed")
	}
	if len(c.inbox) == 0 {
		return protocol.Message{}, false, nil
	}
	m := c.inbox[0]
	c.inbox = c.inbox[1:]
	return m, true, nil
}

func (c *localConn) Close() { c.closed = true }

// withShards returns a configured session whose shard workers are
// in-process sessions; conns records them in order of starting.
func withShards(t *testing.T, cfg *protocol.RunConfig, workers int) (*Session, *[]*localConn) {
	t.Helper()
	return withShardConns(t, cfg, workers, false)
}

// withShardConns is withShards with shards that say whether they exchange
// through shared memory.
func withShardConns(t *testing.T, cfg *protocol.RunConfig, workers int, shared bool) (*Session, *[]*localConn) {
	t.Helper()
	s, f := newTestSession(t)
	var conns []*localConn
	s.Spawner = func() (ShardConn, error) {
		c := &localConn{s: NewSession(f), shared: shared}
		c.inbox = append(c.inbox, protocol.Message{V: protocol.Version, Type: protocol.TypeReady})
		conns = append(conns, c)
		return c, nil
	}
	setWorkers(t, s, workers)
	r := rq(protocol.TypeConfigure)
	r.Config = cfg
	ok(t, s, r)
	return s, &conns
}

func setWorkers(t *testing.T, s *Session, n int) *protocol.Workers {
	t.Helper()
	r := rq(protocol.TypeWorkers)
	r.N = n
	m, _ := ok(t, s, r)
	return m.Status.Workers
}

func workersNow(t *testing.T, s *Session) *protocol.Workers {
	t.Helper()
	m, _ := ok(t, s, rq(protocol.TypeStatus))
	return m.Status.Workers
}

func sameCurve(t *testing.T, what string, got, want []protocol.LossPoint) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d points, want %d", what, len(got), len(want))
	}
	for i := range want {
		if got[i].Step != want[i].Step || math.Abs(got[i].Loss-want[i].Loss) > 1e-4*want[i].Loss {
			t.Fatalf("%s: step %d loss %v, one worker %v", what, want[i].Step, got[i].Loss, want[i].Loss)
		}
	}
}

// TestWorkersTrainLikeOneWorker: LoRA (with dropout) and full fine-tuning
// with 2 and 3 workers follow the one-worker loss curve.
func TestWorkersTrainLikeOneWorker(t *testing.T) {
	if err := namedModel(); err != nil {
		t.Fatal(err)
	}
	lora := testConfig()
	lora.Dropout = 0.1
	lora.Model = "testnamed"
	full := testConfig()
	full.Method = "full"
	for name, cfg := range map[string]*protocol.RunConfig{"lora": lora, "full": full} {
		alone, _ := configured(t, cfg)
		want := stepN(t, alone, 15)
		for _, n := range []int{2, 3} {
			s, conns := withShards(t, cfg, n)
			got := stepN(t, s, 15)
			sameCurve(t, name, got, want)
			// In-process shards have no shared memory: they exchange
			// messages (the js build's lanes: node_workers_test.mjs).
			if w := workersNow(t, s); w.Active != n || w.Requested != n || w.Note != "" || len(*conns) != n-1 || w.Exchange != protocol.ExchangeMessages {
				t.Errorf("%s: workers %+v with %d shards started, want %d active, exchanging messages", name, w, len(*conns), n)
			}
			for _, c := range *conns {
				if c.grads < 10 {
					t.Errorf("%s, %d workers: a shard computed only %d of 15 steps", name, n, c.grads)
				}
			}
		}
	}
}

// TestChangingWorkersKeepsTheRun: the worker count changes mid-run, and the
// run's configuration changes under running shards; the curve is still the
// one-worker curve, and the shards follow the new configuration.
func TestChangingWorkersKeepsTheRun(t *testing.T) {
	cfg := testConfig()
	alone, _ := configured(t, cfg)
	want := stepN(t, alone, 12)
	s, conns := withShards(t, cfg, 2)
	got := stepN(t, s, 4)
	setWorkers(t, s, 1)
	if len(*conns) != 1 || !(*conns)[0].closed {
		t.Fatal("going down to one worker did not close the shard")
	}
	got = append(got, stepN(t, s, 4)...)
	if w := workersNow(t, s); w.Active != 1 || w.Exchange != "" {
		t.Fatalf("workers %+v after asking for 1", w)
	}
	setWorkers(t, s, 3)
	got = append(got, stepN(t, s, 4)...)
	sameCurve(t, "2, 1, then 3 workers", got, want)
	if w := workersNow(t, s); w.Active != 3 {
		t.Fatalf("workers %+v after asking for 3", w)
	}

	// A new configuration (rank 8) reaches the shards before they compute.
	cfg8 := testConfig()
	cfg8.Rank, cfg8.Alpha = 8, 16
	alone8, _ := configured(t, cfg8)
	want8 := stepN(t, alone8, 6)
	r := rq(protocol.TypeConfigure)
	r.Config = cfg8
	ok(t, s, r)
	sameCurve(t, "after configure", stepN(t, s, 6), want8)
	if w := workersNow(t, s); w.Active != 3 {
		t.Fatalf("workers %+v after configure", w)
	}
}

// TestFailingShardFallsBack: a shard that dies mid-run is dropped with a
// note in the status, its rows are computed by the primary, and the run goes
// on with the same curve; a worker that cannot start is reported the same way.
func TestFailingShardFallsBack(t *testing.T) {
	cfg := testConfig()
	alone, _ := configured(t, cfg)
	want := stepN(t, alone, 10)
	s, conns := withShards(t, cfg, 3)
	(*conns)[1].failAfter = 4
	r := rq(protocol.TypeStep)
	r.N = 10
	_, ev := ok(t, s, r)
	var got []protocol.LossPoint
	var status *protocol.Status
	for _, e := range ev {
		if e.Type == protocol.TypeProgress {
			got = append(got, e.Progress.Points...)
		}
		if e.Type == protocol.TypeStatus && e.Status.Workers != nil && e.Status.Workers.Note != "" {
			status = e.Status
		}
	}
	sameCurve(t, "a shard crashed", got, want)
	if status == nil || status.Workers.Active != 2 || !strings.Contains(status.Workers.Note, "worker 3 stopped (the worker crashed)") {
		t.Fatalf("status event after the crash: %+v", status)
	}
	if !(*conns)[1].closed || len(*conns) != 2 {
		t.Fatal("the crashed shard was not closed, or was started again")
	}

	s2, _ := newTestSession(t)
	s2.Spawner = func() (ShardConn, error) { return nil, errors.New("Worker is not defined") }
	setWorkers(t, s2, 2)
	r = rq(protocol.TypeConfigure)
	r.Config = cfg
	ok(t, s2, r)
	sameCurve(t, "no worker could start", stepN(t, s2, 10), want)
	if w := workersNow(t, s2); w.Active != 1 || w.Requested != 2 || !strings.Contains(w.Note, "Worker is not defined") {
		t.Fatalf("workers %+v", w)
	}
}

// TestWorkersRequestErrors: out-of-range counts are refused; shard requests
// out of order are errors, not panics.
func TestWorkersRequestErrors(t *testing.T) {
	s, _ := newTestSession(t)
	for _, n := range []int{0, -1, protocol.MaxWorkers + 1} {
		r := rq(protocol.TypeWorkers)
		r.N = n
		if m, _ := call(t, s, r); m.Type != protocol.TypeError || !strings.Contains(m.Message, "between 1 and") {
			t.Errorf("n=%d: %+v", n, m)
		}
	}
	job := protocol.AppendShardFrame(nil, &protocol.ShardFrame{Kind: protocol.FrameJob, ID: 7, Gen: 1, Rows: 1, T: 8})
	if m := s.HandleFrame(job); len(m) != 1 || m[0].Type != protocol.TypeError || m[0].Re != 7 || !strings.Contains(m[0].Message, "configuration 1") {
		t.Errorf("a job before shard_config: %+v", m)
	}
	if m := s.HandleFrame(job[:20]); len(m) != 1 || m[0].Type != protocol.TypeError || m[0].Re != 7 {
		t.Errorf("a truncated job: %+v", m)
	}
	r := rq(protocol.TypeShardGrad)
	r.Shard = &protocol.Shard{Gen: 1}
	if m, _ := call(t, s, r); m.Type != protocol.TypeError || !strings.Contains(m.Message, "shard frame") {
		t.Errorf("a JSON shard_grad: %+v", m)
	}
	r = rq(protocol.TypeShardConfig)
	r.Shard = &protocol.Shard{Gen: 1, Config: &protocol.ShardConfig{Model: "nosuchmodel", Method: "lora", Rank: 4, Alpha: 8, SeqLen: 8, Batch: 2}}
	if m, _ := call(t, s, r); m.Type != protocol.TypeError || !strings.Contains(m.Message, "nosuchmodel") {
		t.Errorf("shard_config of a missing model: %+v", m)
	}
}

// TestStatusEventWhenWorkersJoin: the page hears when the shards join, in a
// status event between progress events, and not again while nothing changes.
func TestStatusEventWhenWorkersJoin(t *testing.T) {
	count := func(ev []protocol.Message, active int) int {
		n := 0
		for _, e := range ev {
			if e.Type == protocol.TypeStatus && e.Status.Workers != nil && e.Status.Workers.Active == active && e.Status.Running {
				n++
			}
		}
		return n
	}
	s, _ := withShards(t, testConfig(), 2)
	r := rq(protocol.TypeStep)
	r.N = 6
	_, ev := ok(t, s, r)
	if n := count(ev, 2); n != 1 {
		t.Fatalf("%d status events saying 2 workers train, want 1: %+v", n, ev)
	}
	alone, _ := configured(t, testConfig())
	r = rq(protocol.TypeStep)
	r.N = 6
	if _, ev := ok(t, alone, r); count(ev, 1) != 0 {
		t.Fatal("a status event about workers for a run that was always alone")
	}
}

// evalAlone evaluates s's current model on the primary alone (no shard
// helps), as a session without shards would, and returns the result.
func evalAlone(t *testing.T, s *Session) protocol.Eval {
	t.Helper()
	s.startEval(0)
	s.job.helpers = nil
	for i := 0; s.job != nil; i++ {
		for _, e := range s.Tick() {
			if e.Type == protocol.TypeError {
				t.Fatal(e.Message)
			}
			if e.Type == protocol.TypeEval {
				return *e.Eval
			}
		}
	}
	t.Fatal("no evaluation")
	return protocol.Eval{}
}

// evalUnits counts the evaluation frames conn's shard was sent.
func (c *localConn) evalUnits() int { return c.evals }

// TestWorkersShareEvaluation: with 2 and 3 workers, the periodic
// evaluation during data-parallel training is shared with the shards and
// gives exactly what the primary alone gives with the same parameters, for
// a loss-only task and an exact-match task; sharing it does not disturb the
// training that follows (the shards' one-step-ahead gradients are kept); and
// it is close to the one-worker run's.
func TestWorkersShareEvaluation(t *testing.T) {
	// Two runs compared bit for bit: their rows must be cut alike, not by
	// their timings.
	train.EvenCuts = true
	t.Cleanup(func() { train.EvenCuts = false })
	for _, task := range []string{"verse", "reverse"} {
		cfg := testConfig()
		cfg.Task, cfg.Steps, cfg.EvalEvery = task, 15, 5
		one, _ := configured(t, cfg)
		oneEvals, _ := playAll(t, one)
		for _, n := range []int{2, 3, -2} { // -2: 2 workers through shared memory (smaller shares)
			shared := n < 0
			n = max(n, -n)
			name := task
			if shared {
				name += " (shared memory)"
			}
			s, conns := withShardConns(t, cfg, n, shared)
			evals, curve := playAll(t, s)
			if len(evals) != 3 || len(oneEvals) != 3 {
				t.Fatalf("%s, %d workers: %d evaluations, one worker %d", name, n, len(evals), len(oneEvals))
			}
			for _, c := range *conns {
				if c.evalUnits() < 3 {
					t.Errorf("%s, %d workers: a shard scored %d evaluation units", name, n, c.evalUnits())
				}
			}
			if w := workersNow(t, s); w.Active != n || w.Note != "" {
				t.Errorf("%s, %d workers: %+v after the evaluations", name, n, w)
			}

			// The same run with the evaluations computed alone.
			plain := *cfg
			plain.EvalEvery = -1
			s2, _ := withShards(t, &plain, n)
			var curve2 []protocol.LossPoint
			for i := range 3 {
				curve2 = append(curve2, stepN(t, s2, 5)...)
				e := evalAlone(t, s2)
				got := evals[i]
				if got.Step != e.Step || got.ValLoss != e.ValLoss || got.Accuracy != e.Accuracy || got.Metric != e.Metric || got.AccuracyRows != e.AccuracyRows {
					t.Errorf("%s, %d workers: shared evaluation %+v, alone %+v", name, n, got, e)
				}
				if o := oneEvals[i]; math.Abs(got.ValLoss-o.ValLoss) > 1e-4*o.ValLoss {
					t.Errorf("%s, %d workers: val loss %v at step %d, one worker %v", name, n, got.ValLoss, got.Step, o.ValLoss)
				}
			}
			if !slices.Equal(curve, curve2) {
				t.Errorf("%s, %d workers: the curve with shared evaluations differs from the one without:\n%v\n%v", name, n, curve, curve2)
			}
		}
	}
}

// playAll plays s's run to its end and returns its evaluations and losses.
func playAll(t *testing.T, s *Session) ([]protocol.Eval, []protocol.LossPoint) {
	t.Helper()
	s.Budget = time.Nanosecond // one step per chunk: evaluations at the steps asked for
	ok(t, s, rq(protocol.TypePlay))
	var evals []protocol.Eval
	var curve []protocol.LossPoint
	for i := 0; s.Busy() && i < 100000; i++ {
		for _, e := range s.Tick() {
			switch e.Type {
			case protocol.TypeEval:
				evals = append(evals, *e.Eval)
			case protocol.TypeProgress:
				curve = append(curve, e.Progress.Points...)
			case protocol.TypeError:
				t.Fatal(e.Message)
			}
		}
	}
	return evals, curve
}

// TestShardFailingMidEvaluation: a shard that dies while it holds
// evaluation units is dropped, its units are computed by the primary, and
// the result is still the primary's own; training goes on without it.
func TestShardFailingMidEvaluation(t *testing.T) {
	cfg := testConfig()
	s, conns := withShards(t, cfg, 3)
	stepN(t, s, 5)
	c := (*conns)[1]
	c.failAfter = c.grads + 2 // its second evaluation unit never comes back
	m, _ := ok(t, s, rq(protocol.TypeEvaluate))
	if c.evals < 2 {
		t.Fatalf("the shard was sent %d evaluation units", c.evals)
	}
	if e := evalAlone(t, s); *m.Eval != e && (m.Eval.ValLoss != e.ValLoss || m.Eval.Accuracy != e.Accuracy) {
		t.Errorf("evaluation with a shard failing %+v, alone %+v", *m.Eval, e)
	}
	r := rq(protocol.TypeStep)
	r.N = 3
	_, ev := ok(t, s, r)
	var note string
	for _, e := range ev {
		if e.Type == protocol.TypeStatus && e.Status.Workers != nil {
			note = e.Status.Workers.Note
		}
	}
	if !strings.Contains(note, "worker 3 stopped (the worker crashed)") || workersNow(t, s).Active != 2 {
		t.Errorf("after the crash: note %q, workers %+v", note, workersNow(t, s))
	}
}

// TestDriftedShardNotTrustedInEvaluation: a shard whose replica differs
// from the primary's (here: changed behind the trainer's back) scores its
// units with other parameters; the checksum gives it away, the primary
// computes those units, and the evaluation is still the primary's own.
// Asking for fewer workers mid-evaluation likewise hands the closed shard's
// units back to the primary.
func TestDriftedShardNotTrustedInEvaluation(t *testing.T) {
	cfg := testConfig()
	s, conns := withShards(t, cfg, 3)
	stepN(t, s, 4)
	shard := (*conns)[0].s.shards.role.tr.Model
	shard.EachAdapter(func(_, _ int, a *lora.Adapter) { a.A[0] += 0.5 })
	before := (*conns)[0].evals
	m, _ := ok(t, s, rq(protocol.TypeEvaluate))
	if (*conns)[0].evals == before {
		t.Fatal("the drifted shard was given no units")
	}
	if e := evalAlone(t, s); m.Eval.ValLoss != e.ValLoss || m.Eval.Accuracy != e.Accuracy {
		t.Errorf("evaluation with a drifted shard %+v, alone %+v", *m.Eval, e)
	}
	shard.EachAdapter(func(_, _ int, a *lora.Adapter) { a.A[0] -= 0.5 })

	// Fewer workers between two slices of an evaluation: the closed
	// shard's units are not waited for.
	defer func(d time.Duration) { shardJobTimeout = d }(shardJobTimeout)
	shardJobTimeout = time.Hour
	s.startEval(0)
	s.Budget = time.Nanosecond
	s.Tick() // hands out the shards' shares
	setWorkers(t, s, 2)
	var got *protocol.Eval
	for i := 0; s.job != nil && i < 100000; i++ {
		for _, e := range s.Tick() {
			if e.Type == protocol.TypeEval {
				got = e.Eval
			}
		}
	}
	if e := evalAlone(t, s); got == nil || got.ValLoss != e.ValLoss || got.Accuracy != e.Accuracy {
		t.Errorf("evaluation while a shard was stopped %+v, alone %+v", got, e)
	}
}
