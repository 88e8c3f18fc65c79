package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lora-playground/lora-playground/core/lora"
	"github.com/lora-playground/lora-playground/core/sample"
	"github.com/lora-playground/lora-playground/core/train"
	"github.com/lora-playground/lora-playground/wasm/protocol"
)

// More cores. Go's wasm is single-threaded, so the session that trains (the
// primary) starts shard workers of its own: nested Web Workers running this
// same program, each holding its own copy of the base model and a replica
// of the training state. Every step each worker computes its rows'
// gradient, the primary and the shards exchange gradients (the primary's
// message also brings the shard its rows of the next step), and each
// applies the same AdamW step (see core/train, Shard; the messages are
// binary shard frames, protocol.ShardFrame). The UI only says how many
// workers (the workers request); everything else happens here, in the
// background:
//
//   - Shards are started and configured outside the training step, and
//     join the trainer only once they have answered their shard_config (the
//     first one fetches and decodes the base model, which takes a while).
//     Until then the primary trains alone; nothing waits for them.
//   - Whenever the run changes (configure, load_data, reset, import,
//     restore_state), the shards get the new configuration, under a new
//     generation number, and rejoin when they have built it.
//   - A shard that cannot be started, does not answer, or answers with an
//     error is closed and dropped; that step's rows are computed by the
//     primary, so the step is not lost, and status.workers.note says what
//     happened. The run never waits for a dead shard longer than
//     shardJobTimeout.
//
// A session becomes a shard simply by receiving shard_config: the two roles
// share this program and the protocol's envelopes.

// ShardConn is the primary's line to one shard worker. Send posts a request
// and SendFrame a shard frame; neither waits, and SendFrame may keep frame
// only until it returns. Receive returns the shard's next message (a frame
// arrives as a Message with only Frame set); it waits up to timeout, and
// with timeout 0 only takes what has already arrived (ok is false when
// nothing has). An error means the shard is gone.
type ShardConn interface {
	Send(req protocol.Request) error
	SendFrame(frame []byte) error
	Receive(timeout time.Duration) (m protocol.Message, ok bool, err error)
	Close()
}

// sharedMemoryConn is a ShardConn that may exchange through shared memory
// (shards_js.go); status.workers.exchange reports it.
type sharedMemoryConn interface {
	SharedMemory() bool
}

// ShardSpawner starts one shard worker. The js build starts a nested Web
// Worker (assets/js/worker.js, loraSpawnShard); tests start an in-process
// Session.
type ShardSpawner func() (ShardConn, error)

// Timeouts (variables so that tests can shorten them).
var (
	// shardJobTimeout bounds the wait for one shard_grad reply: far above a
	// step's time, so only a hung or dead shard reaches it.
	shardJobTimeout = 30 * time.Second
	// shardStartTimeout bounds the wait for a shard_config reply, which
	// includes starting the worker and fetching and decoding the model.
	shardStartTimeout = 90 * time.Second
)

// shardPool is the primary's side: the workers the UI asked for and the
// shard workers that serve them.
type shardPool struct {
	requested int // the workers request's n; 0 before any: 1
	limit     int // requested, lowered when shards fail
	note      string
	clients   []*shardClient
	gen       int    // generation of cfg
	cfgKey    string // cfg as JSON, to see when the run's configuration changed
	cfgFor    *train.Trainer
	cfg       protocol.ShardConfig

	// What the trainer was last given (SetShards), in that order.
	attachedTo *train.Trainer
	attached   []*shardClient

	// role is set when this session is itself a shard.
	role *shardRole

	reported [2]int // workers training and shards running, as last sent in a status event

	// The shards' compute since the last status (status.workers.shard_ms).
	jobs      int
	shardSecs float64
}

// shardClient is one shard worker as the primary sees it. It implements
// train.Shard.
type shardClient struct {
	conn   ShardConn
	gen    int // generation of the last shard_config sent
	ackGen int // generation the shard has built (0: none)
	cfgID  int // id of that shard_config request
	sentAt time.Time
	nextID int
	frame  []byte              // the last job, encoded
	reply  protocol.ShardFrame // the last reply, decoded; its Grads are the ShardResult's Grad
	result train.ShardResult
	err    error // the shard is dead
	pool   *shardPool
	// Gradient frames that arrived while an evaluation read this shard's
	// replies (evalshards.go): Wait returns them first, in order.
	held [][]byte
}

// workersRequest answers a workers request.
func (s *Session) workersRequest(id, n int) ([]protocol.Message, error) {
	if n < 1 || n > protocol.MaxWorkers {
		return nil, fmt.Errorf("workers: n must be between 1 and %d, got %d", protocol.MaxWorkers, n)
	}
	p := &s.shards
	p.requested, p.limit, p.note = n, n, ""
	s.syncShards()
	return s.statusReply(id, protocol.TypeWorkers), nil
}

// shardConfigOf is what a shard needs to mirror the trainer tr of model name.
func shardConfigOf(name string, tr *train.Trainer) protocol.ShardConfig {
	c := tr.Cfg
	sc := protocol.ShardConfig{Model: name, Method: string(c.Method), Seed: c.Seed, SeqLen: c.SeqLen, Batch: c.Batch,
		LR: c.LR, MinLRFrac: c.MinLRFrac, WarmupSteps: c.WarmupSteps, Steps: c.Steps, WeightDecay: c.WeightDecay, GradClip: c.GradClip}
	if c.Method == train.MethodLoRA {
		l := c.LoRA
		sc.Rank, sc.Alpha, sc.RSLoRA, sc.Dropout, sc.Targets = l.Rank, l.Alpha, l.UseRSLoRA, l.Dropout, slices.Clone(l.Targets)
		if len(l.RankPattern) > 0 { // shared, not copied: nothing modifies a run's patterns
			sc.RankPattern = l.RankPattern
		}
		if len(l.AlphaPattern) > 0 {
			sc.AlphaPattern = l.AlphaPattern
		}
	}
	return sc
}

// syncShards brings the shard workers in line with the request and the
// run: it starts or closes workers, sends a changed configuration, collects
// configuration replies without waiting, and gives the trainer the shards
// that are ready. It never blocks.
func (s *Session) syncShards() {
	p := &s.shards
	if p.role != nil {
		return
	}
	// Workers start before there is a run to configure them for, so that
	// their start (compiling the wasm, the Go runtime) overlaps the
	// model's loading and the learner's first clicks.
	r := s.run
	want := max(min(p.requested, p.limit), 1) - 1
	switch {
	case r != nil:
		want = min(want, r.tr.Cfg.Batch-1) // a shard with no rows is no help
		switch r.tr.Cfg.Method {
		case train.MethodLoRA, train.MethodFull, train.MethodBias, train.MethodNone:
		default: // a method whose configuration ShardConfig does not carry
			want = 0
		}
	case s.cfg != nil:
		want = min(want, s.cfg.Batch-1)
	}
	for len(p.clients) > want {
		last := p.clients[len(p.clients)-1]
		last.die(errors.New("it was stopped")) // an evaluation in progress stops waiting for it
		last.conn.Close()
		p.clients = p.clients[:len(p.clients)-1]
	}
	for len(p.clients) < want {
		if s.Spawner == nil {
			p.fail(len(p.clients), errors.New("this build of the trainer cannot start workers"))
			break
		}
		conn, err := s.Spawner()
		if err != nil {
			p.fail(len(p.clients), err)
			break
		}
		p.clients = append(p.clients, &shardClient{conn: conn, pool: p})
	}
	if r == nil {
		return
	}
	if p.cfgFor != r.tr { // a trainer's configuration never changes
		p.cfgFor = r.tr
		cfg := shardConfigOf(r.cfg.Model, r.tr)
		if key, _ := json.Marshal(cfg); string(key) != p.cfgKey {
			p.gen++
			p.cfg, p.cfgKey = cfg, string(key)
		}
	}
	var ready []*shardClient
	for i := 0; i < len(p.clients); i++ {
		c := p.clients[i]
		if err := c.configure(p.gen, &p.cfg); err != nil {
			c.conn.Close()
			p.clients = slices.Delete(p.clients, i, i+1)
			p.fail(i, err)
			i--
			continue
		}
		if c.ackGen == p.gen {
			ready = append(ready, c)
		}
	}
	if p.attachedTo != r.tr || !slices.Equal(ready, p.attached) {
		list := make([]train.Shard, len(ready))
		for i, c := range ready {
			list[i] = c
		}
		r.tr.SetShards(list)
		p.attachedTo, p.attached = r.tr, ready
	}
}

// fail records that shard worker i (0-based) was lost and lowers the limit
// to the workers still running, so that it is not started again at once;
// the next workers request tries again.
func (p *shardPool) fail(i int, err error) {
	p.limit = len(p.clients) + 1
	p.note = fmt.Sprintf("worker %d stopped (%v); training continues with %d", i+2, err, p.limit)
	if p.limit == 1 {
		p.note += " worker"
	} else {
		p.note += " workers"
	}
}

// shardEvents drops the shards the last chunk lost (their rows were
// computed by the primary) and returns a status event when the workers
// training changed (one joined or was lost), so that the page can say how
// many train.
func (s *Session) shardEvents() []protocol.Message {
	p := &s.shards
	if s.run == nil || p.attachedTo != s.run.tr {
		return nil
	}
	errs := s.run.tr.ShardErrors()
	if p.reported == [2]int{} {
		p.reported = [2]int{1, 0} // the page assumes one worker until told
	}
	if len(errs) == 0 {
		if now := [2]int{s.run.tr.Workers(), len(p.clients)}; now != p.reported {
			p.reported = now
			return s.statusReply(0, protocol.TypeStatus)
		}
		return nil
	}
	for _, e := range errs {
		c := p.attached[e.Shard]
		i := slices.Index(p.clients, c)
		if i < 0 {
			continue
		}
		c.conn.Close()
		p.clients = slices.Delete(p.clients, i, i+1)
		p.fail(i, e.Err)
	}
	p.attached = slices.DeleteFunc(p.attached, func(c *shardClient) bool { return !slices.Contains(p.clients, c) })
	p.reported = [2]int{s.run.tr.Workers(), len(p.clients)}
	return s.statusReply(0, protocol.TypeStatus)
}

// workersStatus is status.workers.
func (s *Session) workersStatus() *protocol.Workers {
	p := &s.shards
	if p.role != nil {
		return nil
	}
	w := &protocol.Workers{Requested: max(p.requested, 1), Active: 1, Note: p.note}
	if s.run != nil && p.attachedTo == s.run.tr {
		w.Active = s.run.tr.Workers()
	}
	for _, c := range p.clients {
		if c.ackGen != p.gen {
			w.Starting++
		}
	}
	if p.jobs > 0 {
		w.ShardMillis = 1e3 * p.shardSecs / float64(p.jobs)
		p.jobs, p.shardSecs = 0, 0
	}
	if s.run != nil && p.attachedTo == s.run.tr {
		if st := s.run.tr.ShardStats(); st.Steps > 0 {
			w.OwnMillis = float64(st.Own.Microseconds()) / 1e3 / float64(st.Steps)
			w.WaitMillis = float64(st.Wait.Microseconds()) / 1e3 / float64(st.Steps)
			if w.Active > 1 && len(st.Rows) == w.Active {
				w.Rows = st.Rows // (not when a worker has since dropped out)
			}
			w.UnevenSteps, w.CutChanges = st.Uneven, st.Changes
		}
	}
	if w.Active > 1 {
		w.Exchange = protocol.ExchangeMessages
		for _, c := range p.attached {
			if sm, ok := c.conn.(sharedMemoryConn); ok && sm.SharedMemory() {
				w.Exchange = protocol.ExchangeSharedMemory
			}
		}
	}
	if s.run != nil && w.Note == "" && w.Requested > s.run.tr.Cfg.Batch {
		w.Note = fmt.Sprintf("at most %d workers for a batch of %d", s.run.tr.Cfg.Batch, s.run.tr.Cfg.Batch)
	}
	return w
}

// configure sends shard_config for generation gen if the shard has not had
// it, and takes any replies that have arrived. It does not wait.
func (c *shardClient) configure(gen int, cfg *protocol.ShardConfig) error {
	if c.err != nil {
		return c.err
	}
	if c.gen != gen {
		c.nextID++
		c.cfgID, c.gen, c.sentAt = c.nextID, gen, time.Now()
		cc := *cfg
		if err := c.conn.Send(protocol.Request{ID: c.cfgID, Type: protocol.TypeShardConfig, Shard: &protocol.Shard{Gen: gen, Config: &cc}}); err != nil {
			return c.die(err)
		}
	}
	for c.ackGen != c.gen {
		m, ok, err := c.conn.Receive(0)
		if err != nil {
			return c.die(err)
		}
		if !ok {
			if time.Since(c.sentAt) > shardStartTimeout {
				return c.die(fmt.Errorf("no answer after %d s", shardStartTimeout/time.Second))
			}
			return nil
		}
		if err := c.take(m); err != nil {
			return c.die(err)
		}
	}
	return nil
}

func (c *shardClient) die(err error) error {
	if c.err == nil {
		c.err = err
	}
	return c.err
}

// take handles a message that is not a gradient the trainer waits for:
// the ready event, a shard_config reply, an error, or a gradient of a job
// since replaced (a new configuration, a new run).
func (c *shardClient) take(m protocol.Message) error {
	switch {
	case m.Frame != nil:
		return nil
	case m.Type == protocol.TypeReady && m.Re == 0:
		return nil
	case m.Type == protocol.TypeError:
		return errors.New(m.Message)
	case m.Type == protocol.TypeShardConfig && m.Re == c.cfgID && m.Shard != nil:
		c.ackGen = m.Shard.Gen
		return nil
	case m.Type == protocol.TypeShardConfig:
		return nil // the answer to a configuration since replaced
	}
	return fmt.Errorf("unexpected %q message", m.Type)
}

// Send posts job as a shard frame (train.Shard).
func (c *shardClient) Send(job *train.ShardJob) error {
	if c.err != nil {
		return c.err
	}
	c.frame = protocol.AppendShardFrame(c.frame[:0], &protocol.ShardFrame{Kind: protocol.FrameJob, ID: job.ID, Gen: c.gen,
		K: job.K, Slot: job.Slot, Step: job.Step, GradStep: job.GradStep, Slots: job.Slots,
		RowsStep: job.RowsStep, Row0: job.Row0, Rows: job.B, T: job.T, WeightSum: job.WeightSum,
		Params: job.Params, M: job.M, V: job.V, Grads: job.Grads, Inputs: job.Inputs, Targets: job.Targets, Weights: job.Weights})
	if err := c.conn.SendFrame(c.frame); err != nil {
		return c.die(err)
	}
	return nil
}

// Wait returns the shard's next gradient (train.Shard). Its slices are
// reused by the next call.
func (c *shardClient) Wait() (*train.ShardResult, error) {
	if c.err != nil {
		return nil, c.err
	}
	deadline := time.Now().Add(shardJobTimeout)
	for {
		var m protocol.Message
		if len(c.held) > 0 {
			m.Frame, c.held = c.held[0], c.held[1:]
		} else {
			left := time.Until(deadline)
			if left <= 0 {
				return nil, c.die(fmt.Errorf("no gradient after %d s", shardJobTimeout/time.Second))
			}
			var ok bool
			var err error
			if m, ok, err = c.conn.Receive(left); err != nil {
				return nil, c.die(err)
			}
			if !ok {
				continue
			}
		}
		if m.Frame == nil {
			if err := c.take(m); err != nil {
				return nil, c.die(err)
			}
			continue
		}
		f := &c.reply
		if err := protocol.DecodeShardFrame(m.Frame, f); err != nil {
			return nil, c.die(err)
		}
		if f.Kind == protocol.FrameScore {
			continue // a score of an evaluation that stopped waiting for it (cancelled, or the shard drifted)
		}
		if f.Kind != protocol.FrameGrad {
			return nil, c.die(fmt.Errorf("a shard frame of kind %d", f.Kind))
		}
		if f.Gen != c.gen {
			continue // computed for an earlier configuration
		}
		if p := c.pool; p != nil {
			p.jobs++
			p.shardSecs += f.Millis / 1e3
		}
		c.result = train.ShardResult{ID: f.ID, Step: f.Step, Check: f.Check, LossSum: f.LossSum, Grad: f.Grads,
			Elapsed: time.Duration(f.Millis * float64(time.Millisecond))}
		return &c.result, nil
	}
}

// shardRole is a session's state as a shard: the trainer that computes the
// primary's jobs.
type shardRole struct {
	gen   int
	tr    *train.Trainer
	grad  []float32
	job   protocol.ShardFrame // the last job, decoded (its slices are reused)
	reply []byte
}

// shardRequest answers shard_config.
func (s *Session) shardRequest(req protocol.Request) ([]protocol.Message, error) {
	sh := req.Shard
	if sh == nil {
		return nil, fmt.Errorf("%s: no shard fields", req.Type)
	}
	if req.Type != protocol.TypeShardConfig {
		return nil, fmt.Errorf("%s: a job must come as a shard frame", req.Type)
	}
	{
		c := sh.Config
		if c == nil {
			return nil, errors.New("shard_config: no config")
		}
		b, err := s.loadBase(c.Model)
		if err != nil {
			return nil, err
		}
		tc := train.DefaultConfig()
		tc.Method, tc.Seed, tc.SeqLen, tc.Batch = train.Method(c.Method), c.Seed, c.SeqLen, c.Batch
		tc.LR, tc.MinLRFrac, tc.WarmupSteps, tc.Steps, tc.WeightDecay, tc.GradClip = c.LR, c.MinLRFrac, c.WarmupSteps, c.Steps, c.WeightDecay, c.GradClip
		tc.LoRA = lora.Config{Rank: c.Rank, Alpha: c.Alpha, UseRSLoRA: c.RSLoRA, Dropout: c.Dropout, Targets: slices.Clone(c.Targets),
			RankPattern: c.RankPattern, AlphaPattern: c.AlphaPattern, Init: lora.InitDefault}
		work := b.m.Clone()
		work.Config.Name = b.m.Config.Name
		tr, err := train.New(work, tc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("shard_config: %v", err)
		}
		s.shards.role = &shardRole{gen: sh.Gen, tr: tr, grad: make([]float32, tr.TrainableParams())}
		m := reply(req.ID, protocol.TypeShardConfig)
		m.Shard = &protocol.Shard{Gen: sh.Gen}
		return []protocol.Message{m}, nil
	}
}

// HandleFrame takes a shard frame from the primary: a job, whose reply is
// the gradient frame once the shard can compute its rows (nothing while it
// waits for the other workers' gradients), or an error message with re =
// the job's id. The returned frame stays valid until the next call.
func (s *Session) HandleFrame(b []byte) (out []protocol.Message) {
	id := 0
	if len(b) >= 12 {
		id = int(int32(binary.LittleEndian.Uint32(b[8:]))) // for an error reply even when the rest is malformed
	}
	defer func() {
		if p := recover(); p != nil {
			out = []protocol.Message{s.internalError(id, p)}
		}
	}()
	out, err := s.shardJob(b)
	if err != nil {
		return []protocol.Message{errorMsg(id, fmt.Errorf("shard_grad: %v", err))}
	}
	return out
}

func (s *Session) shardJob(b []byte) ([]protocol.Message, error) {
	role := s.shards.role
	var f protocol.ShardFrame
	if role != nil {
		f = role.job // reuse its slices
	}
	if err := protocol.DecodeShardFrame(b, &f); err != nil {
		return nil, err
	}
	if role == nil || role.gen != f.Gen {
		return nil, fmt.Errorf("job for configuration %d, this shard has %d", f.Gen, max(0, genOf(role)))
	}
	role.job = f
	if f.Kind == protocol.FrameEval {
		return role.score(&role.job)
	}
	if f.Kind != protocol.FrameJob {
		return nil, fmt.Errorf("a shard frame of kind %d", f.Kind)
	}
	job := &train.ShardJob{ID: f.ID, K: f.K, Slot: f.Slot, Step: f.Step, GradStep: f.GradStep, Slots: f.Slots, Grads: f.Grads,
		RowsStep: f.RowsStep, Row0: f.Row0, B: f.Rows, T: f.T, Inputs: f.Inputs, Targets: f.Targets, Weights: f.Weights, WeightSum: f.WeightSum}
	if len(f.Params) > 0 {
		job.Params, job.M, job.V = f.Params, f.M, f.V
	}
	r, err := role.tr.ShardHandle(job)
	if err != nil || r == nil {
		return nil, err
	}
	role.reply = protocol.AppendShardFrame(role.reply[:0], &protocol.ShardFrame{Kind: protocol.FrameGrad, ID: r.ID, Gen: f.Gen,
		Step: r.Step, Check: r.Check, LossSum: r.LossSum, Millis: float64(r.Elapsed.Microseconds()) / 1e3, Grads: r.Grad})
	return []protocol.Message{{Frame: role.reply}}, nil
}

func genOf(r *shardRole) int {
	if r == nil {
		return 0
	}
	return r.gen
}

// score computes one evaluation unit (protocol.FrameEval) with the shard's
// replica, as the primary's evalUnit would with its own parameters, and
// answers with a FrameScore frame carrying the parameters' checksum: the
// primary uses the score only if the checksum is its own.
//
// The replica is never mid-update here: the shard handles its messages in
// order, and the primary sends evaluation units only between training
// chunks, after every message of the steps it has completed. The shard may
// have computed the next step's gradient already (its rows come one step
// ahead), but that only filled its gradient buffers and the reply already
// sent; the parameters change only when the other workers' gradients of
// that step come, which the primary sends after the evaluation. A forward
// pass here overwrites activations that gradient no longer needs.
func (r *shardRole) score(f *protocol.ShardFrame) ([]protocol.Message, error) {
	tr := r.tr
	var v float64
	if f.Rows > 0 {
		n := f.Rows * f.T
		acts := tr.Activations()
		if f.Rows > acts.MaxB || f.T != tr.Cfg.SeqLen || len(f.Inputs) != n {
			return nil, fmt.Errorf("evaluation batch of %d×%d rows (%d positions) does not fit this trainer (%d×%d)", f.Rows, f.T, len(f.Inputs), acts.MaxB, tr.Cfg.SeqLen)
		}
		l, err := tr.Model.Forward(acts, f.Inputs, f.Targets, f.Weights, f.Rows, f.T, nil)
		if err != nil {
			return nil, err
		}
		v = l
	} else {
		p := f.Row0
		if p < 1 || p > len(f.Inputs) {
			return nil, fmt.Errorf("exact-match prompt of %d of %d tokens", p, len(f.Inputs))
		}
		hit, err := sample.Match(tr.Model, f.Inputs[:p], f.Inputs[p:], int32(f.Slots))
		if err != nil {
			return nil, err
		}
		if hit {
			v = 1
		}
	}
	r.reply = protocol.AppendShardFrame(r.reply[:0], &protocol.ShardFrame{Kind: protocol.FrameScore, ID: f.ID, Gen: f.Gen,
		RowsStep: f.RowsStep, Check: tr.ParamsChecksum(), LossSum: v})
	return []protocol.Message{{Frame: r.reply}}, nil
}
