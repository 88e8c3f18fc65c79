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

	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/tokenizer"
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
// it die at that job (shard frame), as a crashed worker would.
type localConn struct {
	s         *Session
	inbox     []protocol.Message
	grads     int
	failAfter int
	closed    bool
}

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
	s, f := newTestSession(t)
	var conns []*localConn
	s.Spawner = func() (ShardConn, error) {
		c := &localConn{s: NewSession(f)}
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
			if w := workersNow(t, s); w.Active != n || w.Requested != n || w.Note != "" || len(*conns) != n-1 {
				t.Errorf("%s: workers %+v with %d shards started, want %d active", name, w, len(*conns), n)
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
	if w := workersNow(t, s); w.Active != 1 {
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
