package app

import (
	"fmt"
	"math"
	"time"

	"github.com/lora-playground/lora-playground/ui/state"
	"github.com/lora-playground/lora-playground/wasm/protocol"
)

// Client implements Trainer over the worker's message protocol
// (wasm/protocol): it turns the page's intentions into requests and the
// worker's replies and events into App updates. It is pure Go — the
// transport (postMessage with a transferred ArrayBuffer) is the post
// function — so the whole conversation is tested natively.
//
// Every method, including Handle, must be called with the page locked
// (inside a vugu event handler or between ee.Lock and ee.UnlockRender).
type Client struct {
	App  *App
	post func(protocol.Request)

	nextID    int
	pending   map[int]string // request id → type, for replies
	custom    map[int]bool   // configure requests whose "no data yet" error is expected
	inspectID int            // in-flight inspect, 0 if none
	evals     map[int]bool   // step-0 evaluate requests in flight
	evalRun   int            // the last run (Run.ID) whose step-0 evaluation was asked for
	saveID    int            // in-flight save_state, 0 if none
	lastSave  time.Time
	now       func() time.Time
	suggested string // the last sample prompt taken from the task; replaced when the task changes

	// Save is called with the worker's saved state to persist it (IndexedDB
	// in the browser). It may be nil.
	Save func(workerState []byte)
}

// SaveEvery is how often a training run is saved while it trains, so that
// a closed tab loses at most this much.
const SaveEvery = 5 * time.Second

// NewClient returns a client that sends requests with post.
func NewClient(a *App, post func(protocol.Request)) *Client {
	return &Client{App: a, post: post, pending: map[int]string{}, custom: map[int]bool{}, evals: map[int]bool{}, now: time.Now}
}

func (c *Client) send(r protocol.Request) int {
	c.nextID++
	r.V, r.ID = protocol.Version, c.nextID
	c.pending[r.ID] = r.Type
	c.post(r)
	return r.ID
}

// EvalEvery is how often (in steps) the worker measures validation loss
// while training. Each pass holds training for a few steps' time, so it is
// not every step; the readout says when the shown value was measured.
const EvalEvery = 50

// RunConfig converts the page's configuration to the protocol's.
func RunConfig(s state.State) protocol.RunConfig {
	return protocol.RunConfig{
		Model: s.Model, Task: s.Task, Method: string(s.Method),
		Rank: s.Rank, Alpha: s.Alpha, RSLoRA: s.RSLoRA, Dropout: s.Dropout,
		Targets: append([]string(nil), s.Targets...),
		LR:      s.LR, Batch: s.Batch, Seed: s.Seed, Steps: s.Steps,
		EvalEvery: EvalEvery,
		Adaptive:  adaptiveConfig(s),
	}
}

// evaluateStart asks, once per run, for the validation loss before the
// first step: the base model's loss on the task, where every curve starts.
// Sent right after configure (so before any play), it is the first thing
// the worker does with the new run: training waits for one evaluation
// (8 batches of the validation rows, ~0.2 s for nano), and the learner sees
// a validation loss from step 0 instead of a dash until step EvalEvery.
// It is not sent once the run has trained, and a newer configure cancels
// it (that error is expected and not shown).
func (c *Client) evaluateStart() {
	cur := c.App.Current()
	if cur == nil || c.evalRun == cur.ID || len(cur.Val) > 0 || c.App.Steps != 0 {
		return
	}
	c.evalRun = cur.ID
	c.evals[c.send(protocol.Request{Type: protocol.TypeEvaluate})] = true
}

// Start configures a fresh run. For the learner's own text, configure
// loads the model and load_data then sends the text (as pasted.txt unless
// it looks like JSON lines).
func (c *Client) Start(cfg state.State, custom string) {
	rc := RunConfig(cfg)
	id := c.send(protocol.Request{Type: protocol.TypeConfigure, Config: &rc})
	if cfg.Task == state.CustomTask {
		c.custom[id] = true
		name := "pasted.txt"
		if looksLikeJSONL(custom) {
			name = "pasted.jsonl"
		}
		c.send(protocol.Request{Type: protocol.TypeLoadData, Task: protocol.CustomTask, FileName: name, Data: []byte(custom)})
	}
	c.evaluateStart()
}

func looksLikeJSONL(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return true
		}
		return false
	}
	return false
}

func (c *Client) Play()  { c.send(protocol.Request{Type: protocol.TypePlay}) }
func (c *Client) Pause() { c.send(protocol.Request{Type: protocol.TypePause}) }

func (c *Client) Step(n int) {
	c.send(protocol.Request{Type: protocol.TypeStep, N: max(1, min(n, protocol.MaxStepN))})
}

func (c *Client) Sample(prompt string, seed int64, tokens int) {
	c.send(protocol.Request{Type: protocol.TypeSample, Prompt: prompt, Seed: uint64(seed),
		Tokens: max(1, min(tokens, protocol.MaxSampleTokens)), Temperature: 0.8})
}

func (c *Client) Merge()  { c.send(protocol.Request{Type: protocol.TypeMerge}) }
func (c *Client) Export() { c.send(protocol.Request{Type: protocol.TypeExport}) }

func (c *Client) Import(name string, data []byte) {
	c.send(protocol.Request{Type: protocol.TypeImport, Data: data})
}

// Inspect asks for one module's ΔW, A, B and spectrum, unless one is
// already on its way (so a fast training loop cannot queue up SVDs).
func (c *Client) Inspect(path string) {
	if path == "" || c.inspectID != 0 {
		return
	}
	c.inspectID = c.send(protocol.Request{Type: protocol.TypeInspect, Module: path})
}

// Snapshot asks for every ΔW now (the worker only pushes them while playing).
func (c *Client) Snapshot() { c.send(protocol.Request{Type: protocol.TypeSnapshot}) }

// SaveNow asks the worker for its state, to be handed to Save.
func (c *Client) SaveNow() {
	if c.Save == nil || c.saveID != 0 {
		return
	}
	c.lastSave = c.now()
	c.saveID = c.send(protocol.Request{Type: protocol.TypeSaveState})
}

// Restore hands a saved worker state back to a fresh worker.
func (c *Client) Restore(data []byte) {
	c.send(protocol.Request{Type: protocol.TypeRestoreState, Data: data})
}

// Handle applies one message from the worker.
func (c *Client) Handle(m protocol.Message) {
	a := c.App
	reqType := ""
	if m.Re != 0 {
		reqType = c.pending[m.Re]
		delete(c.pending, m.Re)
		if m.Re == c.inspectID {
			c.inspectID = 0
		}
		if m.Re == c.saveID {
			c.saveID = 0
		}
		if c.evals[m.Re] {
			delete(c.evals, m.Re)
			if m.Type == protocol.TypeError {
				return // cancelled by a newer configure, which asked again
			}
		}
	}
	if c.analysisMessage(m, reqType) { // analysis.go
		return
	}
	switch m.Type {
	case protocol.TypeReady:
		a.Status = "trainer ready"
	case protocol.TypeError:
		if c.custom[m.Re] {
			delete(c.custom, m.Re) // configure before the custom text arrives
			return
		}
		if reqType == protocol.TypeSample {
			a.Sample.Busy = false
		}
		a.OnError(m.Message)
		c.failed(reqType)
	case protocol.TypeProgress:
		c.progress(m.Progress)
	case protocol.TypeEval, protocol.TypeEvaluate:
		if e := m.Eval; e != nil {
			acc := math.NaN()
			if e.Metric != "" {
				acc = e.Accuracy
			}
			a.OnEval(e.Step, e.ValLoss, acc)
		}
	case protocol.TypeSnapshot:
		c.snapshot(m)
	case protocol.TypeInspect:
		c.inspect(m)
	case protocol.TypeSample:
		if s := m.Sample; s != nil {
			a.OnSample(s.Base, s.Adapted)
			if s.Unknown != "" {
				a.Status = "prompt characters outside the model's vocabulary: " + s.Unknown
			}
		}
	case protocol.TypeMerge:
		if mg := m.Merge; mg != nil {
			r := MergeResult{MaxLogitDiff: mg.MaxLogitDiff}
			for _, s := range mg.Shapes {
				r.Shapes = append(r.Shapes, ShapeCheck{Path: s.Module, Before: s.Before, After: s.After})
			}
			a.OnMerged(r)
		}
	case protocol.TypeExport:
		name := "adapter.zip"
		if m.Export != nil && m.Export.FileName != "" {
			name = m.Export.FileName
		}
		a.OnExported(name, m.Data)
	case protocol.TypeSaveState:
		if c.Save != nil && len(m.Data) > 0 {
			c.Save(m.Data)
		}
	case protocol.TypeStep:
		if m.Progress != nil {
			c.progress(m.Progress)
		}
		a.OnPaused()
		c.Snapshot()
		c.SaveNow()
	case protocol.TypeRestoreState:
		c.status(m.Status)
		if h := m.History; h != nil {
			c.history(h)
		}
		c.Snapshot()
	default: // configure, load_data, play, pause, reset, import, unmerge, status
		c.status(m.Status)
		switch {
		case m.Type == protocol.TypeImport:
			c.imported(m.Status)
		case m.Type == protocol.TypePause:
			a.OnPaused()
			c.Snapshot()
			c.SaveNow()
		case m.Type == protocol.TypeStatus && m.Re == 0 && m.Status != nil && !m.Status.Running:
			// The worker stopped by itself: end of schedule, or a halt.
			a.OnPaused()
			c.Snapshot()
			c.SaveNow()
		}
	}
}

func (c *Client) progress(p *protocol.Progress) {
	if p == nil {
		return
	}
	a := c.App
	steps := make([]int, 0, len(p.Points))
	losses := make([]float64, 0, len(p.Points))
	for _, pt := range p.Points {
		if pt.Step > a.Steps {
			steps, losses = append(steps, pt.Step), append(losses, pt.Loss)
		}
	}
	if len(steps) == 0 && p.Step > a.Steps {
		steps, losses = append(steps, p.Step), append(losses, p.Loss)
	}
	a.OnProgress(steps, losses, p.TokensPerSec)
	if p.Adaptive != nil {
		a.Adaptive = adaptiveView(p.Adaptive)
	}
	if !p.Running {
		a.OnPaused()
	}
	if a.Playing && c.now().Sub(c.lastSave) >= SaveEvery {
		c.SaveNow()
	}
}

// failed puts the status line right after a request failed: it must not
// go on announcing work that has ended ("importing x.zip…"). The error
// itself is shown on its own line.
func (c *Client) failed(reqType string) {
	a := c.App
	switch reqType {
	case protocol.TypeImport:
		a.Status = "import failed: the run is as it was"
	case protocol.TypeExport:
		a.Status = "export failed"
		if a.sharing {
			a.shareFailed("could not pack the adapter to share it")
		}
	case protocol.TypeMerge:
		a.Status = "merge failed: the adapters are as they were"
	case protocol.TypeConfigure, protocol.TypeLoadData:
		a.Status = "could not start the run"
	case protocol.TypeRestoreState:
		a.Status = "could not restore the saved run"
	}
}

// status applies the worker's view of the session.
func (c *Client) status(s *protocol.Status) {
	if s == nil {
		return
	}
	a := c.App
	if s.Halted != "" {
		a.Error = s.Halted
	}
	if s.Ready {
		a.Adaptive = adaptiveView(s.Adaptive)
	}
	c.workers(s.Workers) // workers.go
	// Whether training runs is decided by play/pause replies, progress and
	// status events — not by the status in a configure reply, which comes
	// back (not running) while the play sent after it is still queued.
	if s.Ready && s.Step == 0 && !s.Running {
		a.OnReady(int64(s.TrainableParams))
		c.evaluateStart()
	}
	if d := s.Data; d != nil && d.Unknown != "" {
		a.Status = "characters outside the model's vocabulary (trained as <unk>): " + d.Unknown
		a.Unknown = d.Unknown // the status line is overwritten by the first progress
	}
	// Offer a prompt in the task's format, unless the learner wrote their own.
	if d := s.Data; d != nil && d.SamplePrompt != "" && (a.Sample.Prompt == "" || a.Sample.Prompt == c.suggested) {
		a.Sample.Prompt = d.SamplePrompt
		c.suggested = d.SamplePrompt
	}
}

// imported makes the imported adapter the current run's configuration.
func (c *Client) imported(s *protocol.Status) {
	if s == nil || s.Config == nil {
		return
	}
	a := c.App
	rc := s.Config
	a.State.Method, a.State.Rank, a.State.Alpha, a.State.RSLoRA = state.LoRA, rc.Rank, rc.Alpha, rc.RSLoRA
	a.State.Targets = nil
	for _, m := range state.Modules {
		for _, t := range rc.Targets {
			if t == m {
				a.State.Targets = append(a.State.Targets, m)
			}
		}
	}
	a.startRunImported()
	a.Status = fmt.Sprintf("imported a LoRA adapter: r=%d, α=%g, %d target modules", rc.Rank, rc.Alpha, len(rc.Targets))
	c.Snapshot()
	c.evaluateStart()
}

// history replaces the current run's curves with the worker's record.
func (c *Client) history(h *protocol.History) {
	a := c.App
	cur := a.Current()
	if cur == nil {
		return
	}
	cur.Train, cur.Val = cur.Train[:0], cur.Val[:0]
	a.Steps = 0
	steps := make([]int, len(h.Losses))
	losses := make([]float64, len(h.Losses))
	for i, p := range h.Losses {
		steps[i], losses[i] = p.Step, p.Loss
	}
	a.OnProgress(steps, losses, 0)
	for _, e := range h.Evals {
		acc := math.NaN()
		if e.Metric != "" {
			acc = e.Accuracy
		}
		a.OnEval(e.Step, e.ValLoss, acc)
	}
	a.Status = fmt.Sprintf("restored your run at step %d", a.Steps)
}

func (c *Client) snapshot(m protocol.Message) {
	s := m.Snapshot
	if s == nil {
		return
	}
	ds := make([]Delta, 0, len(s.Deltas))
	for _, t := range s.Deltas {
		v, err := t.Float32s(m.Data)
		if err != nil {
			c.App.OnError(err.Error())
			return
		}
		ds = append(ds, Delta{Path: t.Name, Rows: t.Rows, Cols: t.Cols, Rank: s.Rank, DW: v})
	}
	// Keep A and B of the enlarged matrix until a fresh inspect replaces them.
	for i := range ds {
		if old := c.App.SelectedDelta(); old != nil && old.Path == ds[i].Path {
			ds[i].A, ds[i].B = old.A, old.B
		}
	}
	c.App.OnDeltas(ds)
	c.Inspect(c.App.Selected)
}

func (c *Client) inspect(m protocol.Message) {
	in := m.Inspect
	if in == nil {
		return
	}
	d := Delta{Path: in.Module, Rank: in.Rank}
	var err error
	if d.DW, err = in.Delta.Float32s(m.Data); err != nil {
		c.App.OnError(err.Error())
		return
	}
	d.Rows, d.Cols = in.Delta.Rows, in.Delta.Cols
	if in.A != nil && in.B != nil {
		d.Rank = in.A.Rows // the shapes are the truth about r
		if d.A, err = in.A.Float32s(m.Data); err == nil {
			d.B, err = in.B.Float32s(m.Data)
		}
		if err != nil {
			c.App.OnError(err.Error())
			return
		}
	}
	d.SV = make([]float32, len(in.Singular))
	for i, s := range in.Singular {
		d.SV[i] = float32(s)
	}
	c.App.OnInspect(d)
}
