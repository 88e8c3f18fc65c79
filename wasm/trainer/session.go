// Command trainer is the playground's training Web Worker: a js/wasm
// program that owns the model, the data and a core/train.Trainer, and
// answers the requests of package wasm/protocol.
//
// Everything but the JS glue (main_js.go) is plain Go and is tested
// natively: a [Session] takes one request at a time ([Session.Handle]) and
// does background work in bounded slices ([Session.Tick]). The js main loop
// alternates the two and yields to the JS event loop after every tick, so a
// pause posted while training is seen after at most one chunk of
// [protocol.ChunkBudget]: the worker never sits in a long loop.
//
// Files come from the static site by relative URL through a [Fetcher]:
//
//	models/<name>/config.json, models/<name>/model.safetensors
//	datasets/<task>/task.json, train.jsonl, val.jsonl
//
// Each base model is fetched and decoded once and kept pristine; a run
// trains a clone of it, so "base" samples and full fine-tuning's ΔW = W − W₀
// always have the original weights at hand, and reset only rebuilds the
// trainer.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/lora-playground/lora-playground/core/data"
	"github.com/lora-playground/lora-playground/core/lora"
	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/peft"
	"github.com/lora-playground/lora-playground/core/sample"
	"github.com/lora-playground/lora-playground/core/tokenizer"
	"github.com/lora-playground/lora-playground/core/train"
	"github.com/lora-playground/lora-playground/wasm/protocol"
)

// Fetcher reads a file of the static site by its URL relative to the
// worker, e.g. "models/nano/config.json".
type Fetcher interface {
	Fetch(path string) ([]byte, error)
}

// FetchFunc adapts a function to Fetcher.
type FetchFunc func(path string) ([]byte, error)

// Fetch calls f.
func (f FetchFunc) Fetch(path string) ([]byte, error) { return f(path) }

// Limits on fetched and uploaded files.
const (
	maxTaskFileBytes = 16 << 20
	maxArchiveBytes  = 64 << 20
	maxStateBytes    = 256 << 20
	// defaultEvalEvery is how often (in steps) a running session evaluates.
	defaultEvalEvery = 50
	// defaultSampleTokens is used when a sample request gives no length.
	defaultSampleTokens = 64
	// probeRows bounds the merge probe batch.
	probeRows = 4
)

// baseModel is a loaded, never-trained model and its tokenizer.
type baseModel struct {
	m    *model.Model
	tok  *tokenizer.Tokenizer
	hash string // weightsHash of model.safetensors
}

// dataset is a loaded task or custom text, before tokenization.
type dataset struct {
	task       string
	fileName   string // custom only
	raw        []byte // custom only: the uploaded bytes, kept for save_state
	kind       data.Kind
	metric     string
	train, val []data.Example
}

// run is one training run: the trainer, its samplers and its history. It is
// rebuilt by configure, load_data, reset, import and restore_state.
type run struct {
	cfg      protocol.RunConfig
	loraCfg  lora.Config
	tr       *train.Trainer
	work     *model.Model // the trainer's model: a clone of the base
	evalS    *data.Sampler
	evalActs *model.Activations // the trainer's: evaluation runs between steps
	evalRows int                // rows of evalS's epoch
	valRows  int                // rows of the full validation epoch
	unknown  tokenizer.Unknown
	// Dataset sizes in tokens, and examples that lost the start of
	// their prompt to the context length.
	trainTokens, valTokens, truncated int

	losses   []protocol.LossPoint
	evals    []protocol.Eval
	lastEval int // step of the last evaluation, -1 before the first
}

// evalJob is an evaluation in progress, advanced by Tick a slice at a time
// so that it never holds the worker for long.
//
// Its units are the loss batches, then the exact-match examples; with
// shard workers they are shared between the primary and the shards
// (evalshards.go). Each unit's score is kept and the scores are added in
// unit order at the end, so the result is the same whoever computed what.
type evalJob struct {
	re      int // request id to answer, or 0 for an event
	start   time.Time
	step    int
	batches []*data.Batch
	exLimit int

	score []float64 // per unit: the batch's mean loss, or 1 for an exact match
	queue []int     // units neither computed nor handed to a shard, in order
	left  int       // units without a score

	shardEval // the shards' part
}

// Session is the worker's whole state. It is not safe for concurrent use:
// the js main loop calls it from one goroutine.
type Session struct {
	fetch Fetcher
	bases map[string]*baseModel

	base *baseModel // the configured model
	cfg  *protocol.RunConfig
	data *dataset
	run  *run // nil until model, config and data are all present

	playing   bool
	stepsLeft int // remaining steps of a step request
	stepID    int // that request's id
	job       *evalJob
	lastSnap  time.Time
	halted    string
	exp       *experimentJob // experiment.go
	expTurn   bool           // alternates experiment and training slices
	an        *analysisState // adapter_analysis.go

	// SnapshotEvery is the least time between snapshot events while
	// training (protocol.SnapshotInterval; tests may change it).
	SnapshotEvery time.Duration
	// Budget is the wall time of one training chunk.
	Budget time.Duration

	// Spawner starts shard workers for data-parallel training (shards.go);
	// nil trains alone.
	Spawner ShardSpawner
	shards  shardPool
	evalSeq int // numbers evaluations shared with shards (evalshards.go)
}

// NewSession returns a session that loads files with f.
func NewSession(f Fetcher) *Session {
	return &Session{fetch: f, bases: map[string]*baseModel{},
		SnapshotEvery: protocol.SnapshotInterval, Budget: protocol.ChunkBudget}
}

// Busy reports whether Tick has work to do: training or an evaluation.
func (s *Session) Busy() bool {
	return s.job != nil || s.training() || s.exp != nil || s.analysisBusy()
}

func (s *Session) training() bool { return s.run != nil && (s.playing || s.stepsLeft > 0) }

// internalError turns a panic (a bug) into an error message and stops
// background work, so that one bad request does not kill the worker and
// everything the learner has trained.
func (s *Session) internalError(id int, p any) protocol.Message {
	s.playing, s.stepsLeft, s.stepID, s.job = false, 0, 0, nil
	return errorMsg(id, fmt.Errorf("internal error in the trainer (please report it): %v", p))
}

// reply builds the answer to request id.
func reply(id int, typ string) protocol.Message { return protocol.Message{Re: id, Type: typ} }

func errorMsg(id int, err error) protocol.Message {
	return protocol.Message{Re: id, Type: protocol.TypeError, Message: err.Error()}
}

// Handle answers one request. It returns the reply (or an error reply)
// followed by any events the request caused. A failed request changes
// nothing.
func (s *Session) Handle(req protocol.Request) (out []protocol.Message) {
	defer func() {
		if p := recover(); p != nil {
			out = []protocol.Message{s.internalError(req.ID, p)}
		}
	}()
	out, err := s.handle(req)
	if err != nil {
		return []protocol.Message{errorMsg(req.ID, err)}
	}
	s.syncShards() // the run may have changed: the shards follow it
	return out
}

func (s *Session) handle(req protocol.Request) ([]protocol.Message, error) {
	id := req.ID
	switch req.Type {
	case protocol.TypeStatus:
		return s.statusReply(id, protocol.TypeStatus), nil
	case protocol.TypeWorkers:
		return s.workersRequest(id, req.N)
	case protocol.TypeShardConfig, protocol.TypeShardGrad:
		return s.shardRequest(req)
	case protocol.TypeConfigure:
		return s.configure(id, req.Config)
	case protocol.TypeLoadData:
		return s.loadData(id, req)
	case protocol.TypePlay:
		if err := s.canTrain(); err != nil {
			return nil, err
		}
		if s.run.tr.StepsTaken() >= s.run.cfg.Steps {
			return nil, fmt.Errorf("the run has finished its %d steps; reset it, or configure more steps", s.run.cfg.Steps)
		}
		if err := s.unmergeForTraining(); err != nil {
			return nil, err
		}
		s.playing = true
		s.lastSnap = time.Time{}
		return s.statusReply(id, protocol.TypePlay), nil
	case protocol.TypePause:
		var out []protocol.Message
		s.playing = false
		if s.stepsLeft > 0 {
			s.stepsLeft = 0
			out = append(out, s.stepDone())
		}
		return append(s.statusReply(id, protocol.TypePause), out...), nil
	case protocol.TypeStep:
		if err := s.canTrain(); err != nil {
			return nil, err
		}
		if req.N < 1 || req.N > protocol.MaxStepN {
			return nil, fmt.Errorf("step: n must be between 1 and %d, got %d", protocol.MaxStepN, req.N)
		}
		if s.stepsLeft > 0 {
			return nil, errors.New("step: a step request is still running; pause it first")
		}
		if err := s.unmergeForTraining(); err != nil {
			return nil, err
		}
		s.stepsLeft, s.stepID = req.N, id
		return nil, nil // answered by Tick when the steps are done
	case protocol.TypeReset:
		if s.run == nil {
			return nil, s.notReady()
		}
		out := s.cancel("reset")
		if err := s.rebuild(); err != nil {
			return nil, err
		}
		return append(s.statusReply(id, protocol.TypeReset), out...), nil
	case protocol.TypeEvaluate:
		if s.run == nil {
			return nil, s.notReady()
		}
		if s.job != nil && s.job.re != 0 {
			return nil, errors.New("evaluate: an evaluation is already running")
		}
		s.startEval(id)
		return nil, nil // answered by Tick
	case protocol.TypeSample:
		return s.sample(id, req)
	case protocol.TypeMerge:
		return s.merge(id)
	case protocol.TypeUnmerge:
		if s.run == nil || !s.run.work.Merged {
			return nil, errors.New("unmerge: the adapters are not merged")
		}
		if err := s.run.work.Unmerge(); err != nil {
			return nil, err
		}
		return s.statusReply(id, protocol.TypeUnmerge), nil
	case protocol.TypeExport:
		return s.export(id)
	case protocol.TypeImport:
		return s.importAdapter(id, req.Data)
	case protocol.TypeSnapshot:
		if s.run == nil {
			return nil, s.notReady()
		}
		m, err := s.snapshot(id)
		if err != nil {
			return nil, err
		}
		return []protocol.Message{m}, nil
	case protocol.TypeInspect:
		if s.run == nil {
			return nil, s.notReady()
		}
		m, err := s.inspect(id, req.Module)
		if err != nil {
			return nil, err
		}
		return []protocol.Message{m}, nil
	case protocol.TypeSaveState:
		return s.saveState(id)
	case protocol.TypeRestoreState:
		return s.restoreState(id, req.Data)
	case protocol.TypeExperimentStart, protocol.TypeExperimentCancel:
		return s.experimentRequest(id, req)
	case protocol.TypeAnalysisLoad, protocol.TypeAnalysisTrain, protocol.TypeAnalysisCancel,
		protocol.TypeSubspace, protocol.TypeAmplify, protocol.TypeCombine:
		return s.analysisRequest(id, req)
	}
	return nil, fmt.Errorf("unknown request type %q; the worker understands %s", req.Type, strings.Join(protocol.RequestTypes, ", "))
}

func (s *Session) notReady() error {
	switch {
	case s.cfg == nil:
		return errors.New("configure the run first")
	case s.data == nil:
		return errors.New("load data first (load_data)")
	}
	return errors.New("the run is not ready")
}

func (s *Session) canTrain() error {
	if s.run == nil {
		return s.notReady()
	}
	if s.halted != "" {
		return fmt.Errorf("%s; reset to start again", s.halted)
	}
	return nil
}

// unmergeForTraining undoes a merge before training continues: gradients
// flow through the separate adapters, never through a merged W.
func (s *Session) unmergeForTraining() error {
	if s.run.work.Merged {
		return s.run.work.Unmerge()
	}
	return nil
}

// cancel stops training and answers any pending step or evaluate request,
// because the run they belonged to is being replaced.
func (s *Session) cancel(why string) []protocol.Message {
	var out []protocol.Message
	s.playing = false
	if s.stepsLeft > 0 {
		s.stepsLeft = 0
		out = append(out, errorMsg(s.stepID, fmt.Errorf("step: cancelled by %s", why)))
		s.stepID = 0
	}
	if s.job != nil && s.job.re != 0 {
		out = append(out, errorMsg(s.job.re, fmt.Errorf("evaluate: cancelled by %s", why)))
	}
	s.job = nil
	return out
}

// withDefaults fills the optional fields of c for model mc.
func withDefaults(c protocol.RunConfig, mc model.Config) protocol.RunConfig {
	if c.Warmup == 0 {
		c.Warmup = min(20, c.Steps/10)
	}
	if c.EvalEvery == 0 {
		c.EvalEvery = defaultEvalEvery
	}
	if c.Method == "" {
		c.Method = string(train.MethodLoRA)
	}
	return c
}

// trainConfig translates a RunConfig into core/train's configuration.
func trainConfig(c protocol.RunConfig, patterns lora.Config) train.Config {
	tc := train.DefaultConfig()
	tc.Method = train.Method(c.Method)
	tc.LoRA = lora.Config{Rank: c.Rank, Alpha: c.Alpha, Dropout: c.Dropout, Targets: slices.Clone(c.Targets),
		UseRSLoRA: c.RSLoRA, RankPattern: patterns.RankPattern, AlphaPattern: patterns.AlphaPattern, Init: lora.InitDefault}
	tc.LR, tc.Batch, tc.Seed, tc.Steps = c.LR, c.Batch, uint64(c.Seed), c.Steps
	tc.WarmupSteps, tc.SeqLen = c.Warmup, c.SeqLen
	if tc.Method == train.MethodAdaptive {
		tc.Adaptive = adaptiveConfig(c)
	}
	return tc
}

// validName accepts a model or task name that is safe in a URL path.
func validName(kind, name string) error {
	if name == "" || len(name) > 64 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != "" {
		return fmt.Errorf("%s name %q: use lower-case letters, digits, - and _", kind, name)
	}
	return nil
}

// loadBase returns model name, fetching it the first time only.
func (s *Session) loadBase(name string) (*baseModel, error) {
	if b, ok := s.bases[name]; ok {
		return b, nil
	}
	if err := validName("model", name); err != nil {
		return nil, err
	}
	dir := "models/" + name + "/"
	cb, err := s.fetch.Fetch(dir + model.ConfigFile)
	if err != nil {
		return nil, fmt.Errorf("model %s: %v", name, err)
	}
	c, err := model.ParseConfig(cb)
	if err != nil {
		return nil, fmt.Errorf("model %s: %v", name, err)
	}
	if c.Name == "" {
		c.Name = name
	}
	wb, err := s.fetch.Fetch(dir + model.WeightsFile)
	if err != nil {
		return nil, fmt.Errorf("model %s: %v", name, err)
	}
	if len(wb) > model.MaxModelBytes {
		return nil, fmt.Errorf("model %s: the weights are %d bytes, over the %d-byte limit", name, len(wb), model.MaxModelBytes)
	}
	m, err := model.DecodeWeights(c, wb)
	if err != nil {
		return nil, fmt.Errorf("model %s: %v", name, err)
	}
	tok, err := c.NewTokenizer()
	if err != nil {
		return nil, fmt.Errorf("model %s: %v", name, err)
	}
	b := &baseModel{m: m, tok: tok, hash: weightsHash(wb)}
	s.bases[name] = b
	return b, nil
}

// loadTask fetches a built-in task.
func (s *Session) loadTask(name string) (*dataset, error) {
	if err := validName("task", name); err != nil {
		return nil, err
	}
	dir := "datasets/" + name + "/"
	raw, err := s.fetch.Fetch(dir + "task.json")
	if err != nil {
		return nil, fmt.Errorf("task %s: %v", name, err)
	}
	task, err := data.ParseTask(raw)
	if err != nil {
		return nil, fmt.Errorf("task %s: %v", name, err)
	}
	d := &dataset{task: name, kind: task.Kind, metric: task.Metric}
	for _, split := range []struct {
		file string
		want int
		dst  *[]data.Example
	}{{"train.jsonl", task.TrainExamples, &d.train}, {"val.jsonl", task.ValExamples, &d.val}} {
		b, err := s.fetch.Fetch(dir + split.file)
		if err != nil {
			return nil, fmt.Errorf("task %s: %v", name, err)
		}
		ex, kind, err := data.Parse(split.file, bytes.NewReader(b), maxTaskFileBytes)
		if err != nil {
			return nil, fmt.Errorf("task %s: %v", name, err)
		}
		if kind != task.Kind || len(ex) != split.want {
			return nil, fmt.Errorf("task %s: %s has %d %s examples, task.json says %d %s", name, split.file, len(ex), kind, split.want, task.Kind)
		}
		*split.dst = ex
	}
	return d, nil
}

// customData parses the learner's file: a .txt is split at a line boundary
// into 90% training and 10% validation text; a .jsonl keeps its last 10% of
// examples (at least one) for validation.
func customData(fileName string, b []byte) (*dataset, error) {
	if len(b) > protocol.MaxCustomBytes {
		return nil, fmt.Errorf("%s is %s; your own text may be at most %s (paste or upload a shorter extract)",
			fileName, mib(len(b)), mib(protocol.MaxCustomBytes))
	}
	if fileName == "" {
		fileName = "pasted.txt"
	}
	ex, kind, err := data.Parse(fileName, bytes.NewReader(b), protocol.MaxCustomBytes)
	if err != nil {
		return nil, err
	}
	d := &dataset{task: protocol.CustomTask, fileName: fileName, raw: b, kind: kind}
	d.train, d.val = data.SplitExamples(kind, ex, 0.1)
	if kind == data.KindText && (len(d.train) == 0 || len(d.val) == 0 || len([]rune(d.val[0].Completion)) < 2 || len([]rune(d.train[0].Completion)) < 2) {
		return nil, fmt.Errorf("%s: the text is too short to hold out a validation part; paste at least a few lines", fileName)
	}
	if kind == data.KindPromptCompletion && len(ex) < 2 {
		return nil, fmt.Errorf("%s: %d example; at least 2 are needed, one of them for validation", fileName, len(ex))
	}
	return d, nil
}

// samplePrompt suggests a prompt that shows what the task teaches: the
// first validation prompt (a meaning representation, a word to reverse), or
// for text the first few words of the validation text, cut at a space.
func samplePrompt(kind data.Kind, val []data.Example) string {
	if len(val) == 0 {
		return ""
	}
	if kind == data.KindPromptCompletion {
		return val[0].Prompt
	}
	t := val[0].Completion
	if len(t) > 24 {
		t = t[:24]
		if i := strings.LastIndexByte(t, ' '); i > 0 {
			t = t[:i+1]
		}
	}
	return t
}

func mib(n int) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }

// configure validates cfg, loads what it needs and starts a fresh run.
func (s *Session) configure(id int, cfg *protocol.RunConfig) ([]protocol.Message, error) {
	if cfg == nil {
		return nil, errors.New("configure: no config")
	}
	b, err := s.loadBase(cfg.Model)
	if err != nil {
		return nil, err
	}
	c := withDefaults(*cfg, b.m.Config)
	check := trainConfig(c, lora.Config{})
	if check.SeqLen == 0 {
		check.SeqLen = b.m.Config.NCtx // chosen from the data later
	}
	if err := check.Validate(b.m.Config); err != nil {
		return nil, err
	}
	if c.EvalEvery < -1 {
		return nil, fmt.Errorf("eval_every must be positive, or -1 for never; got %d", c.EvalEvery)
	}
	d := s.data
	if c.Task != protocol.CustomTask && (d == nil || d.task != c.Task) {
		if d, err = s.loadTask(c.Task); err != nil {
			return nil, err
		}
	}
	if c.Task == protocol.CustomTask && d != nil && d.task != protocol.CustomTask {
		d = nil // wait for load_data with the learner's text
	}
	// Build before committing, so a failure leaves the session as it was.
	r, err := s.newRun(b, c, d, lora.Config{})
	if err != nil {
		return nil, err
	}
	out := s.cancel("configure")
	s.base, s.cfg, s.data, s.run, s.halted = b, &c, d, r, ""
	return append(s.statusReply(id, protocol.TypeConfigure), out...), nil
}

func (s *Session) loadData(id int, req protocol.Request) ([]protocol.Message, error) {
	if s.cfg == nil {
		return nil, errors.New("load_data: configure first; the data is tokenized with the model's vocabulary")
	}
	var d *dataset
	var err error
	if req.Task == protocol.CustomTask {
		d, err = customData(req.FileName, req.Data)
	} else {
		d, err = s.loadTask(req.Task)
	}
	if err != nil {
		return nil, err
	}
	c := *s.cfg
	c.Task = d.task
	r, err := s.newRun(s.base, c, d, lora.Config{})
	if err != nil {
		return nil, err
	}
	out := s.cancel("load_data")
	s.cfg, s.data, s.run, s.halted = &c, d, r, ""
	return append(s.statusReply(id, protocol.TypeLoadData), out...), nil
}

// rebuild replaces the run with a fresh one of the same configuration.
func (s *Session) rebuild() error {
	r, err := s.newRun(s.base, s.run.cfg, s.data, s.run.loraCfg)
	if err != nil {
		return err
	}
	s.run, s.halted = r, ""
	return nil
}

// newRun builds a trainer for c on d over a fresh clone of b. It returns
// (nil, nil) when d is nil: the run waits for data.
func (s *Session) newRun(b *baseModel, c protocol.RunConfig, d *dataset, patterns lora.Config) (*run, error) {
	if d == nil {
		return nil, nil
	}
	if c.SeqLen == 0 {
		c.SeqLen = autoSeqLen(d, b.m.Config.NCtx)
	}
	tc := trainConfig(c, patterns)
	seed := uint64(c.Seed)
	trainS, unk, err := data.NewSampler(d.kind, d.train, b.tok, c.SeqLen, seed)
	if err != nil {
		return nil, fmt.Errorf("training data: %v", err)
	}
	valS, unkVal, err := data.NewSampler(d.kind, d.val, b.tok, c.SeqLen, seed+1)
	if err != nil {
		return nil, fmt.Errorf("validation data: %v", err)
	}
	unk.Add(unkVal)
	evalS, evalRows := valS, valS.Rows()
	if evalRows > protocol.MaxEvalRows {
		sub := evalSubset(d, c.SeqLen)
		if evalS, _, err = data.NewSampler(d.kind, sub, b.tok, c.SeqLen, seed+1); err != nil {
			return nil, fmt.Errorf("validation data: %v", err)
		}
		evalRows = evalS.Rows()
	}
	work := b.m.Clone()
	work.Config.Name = b.m.Config.Name
	tr, err := train.New(work, tc, trainS, evalS)
	if err != nil {
		return nil, err
	}
	return &run{cfg: c, loraCfg: tc.LoRA, tr: tr, work: work, evalS: evalS, evalRows: evalRows, valRows: valS.Rows(),
		evalActs: tr.Activations(), unknown: unk, lastEval: -1,
		trainTokens: trainS.Tokens(), valTokens: valS.Tokens(), truncated: trainS.Truncated() + valS.Truncated()}, nil
}

// autoSeqLen chooses the sequence length when the config leaves it to the
// worker (data.AutoSeqLen: the whole context for text, the longest example
// rounded up to 8 for prompt/completion).
func autoSeqLen(d *dataset, nCtx int) int {
	return data.AutoSeqLen(d.kind, nCtx, d.train, d.val)
}

// evalSubset is the fixed start of the validation split used for the loss:
// the first MaxEvalRows examples, or for running text the first
// MaxEvalRows windows of SeqLen tokens (one token per character).
func evalSubset(d *dataset, T int) []data.Example {
	if d.kind != data.KindText {
		return d.val[:protocol.MaxEvalRows]
	}
	var sb strings.Builder
	for i, e := range d.val {
		if i > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteString(e.Completion)
	}
	r := []rune(sb.String())
	return []data.Example{{Completion: string(r[:min(len(r), protocol.MaxEvalRows*T+1)])}}
}

// modelInfo describes b.
func modelInfo(b *baseModel) *protocol.ModelInfo {
	c := b.m.Config
	return &protocol.ModelInfo{Name: c.Name, NLayer: c.NLayer, NEmbd: c.NEmbd, NHead: c.NHead, NCtx: c.NCtx,
		VocabSize: c.VocabSize, Params: b.m.W.NumParams(c)}
}

// Status returns the session's state.
func (s *Session) Status() *protocol.Status {
	st := &protocol.Status{Halted: s.halted, Workers: s.workersStatus()}
	if s.cfg != nil {
		c := *s.cfg
		if s.run != nil {
			c = s.run.cfg // with the values the worker chose (seq_len)
		}
		c.Targets = slices.Clone(c.Targets)
		st.Config = &c
	}
	if s.base != nil {
		st.Model = modelInfo(s.base)
	}
	if r := s.run; r != nil {
		d := s.data
		st.Ready, st.Step, st.Running, st.Merged = true, r.tr.StepsTaken(), s.training(), r.work.Merged
		info := &protocol.DataInfo{Task: d.task, FileName: d.fileName, Kind: string(d.kind), Metric: d.metric,
			TrainExamples: len(d.train), ValExamples: len(d.val), TrainTokens: r.trainTokens, ValTokens: r.valTokens,
			Truncated: r.truncated, EvalRows: r.evalRows, ValRows: r.valRows, SamplePrompt: samplePrompt(d.kind, d.val)}
		if r.unknown.Count > 0 {
			info.Unknown = r.unknown.String()
		}
		st.Data = info
		st.TrainableParams = r.tr.TrainableParams()
		st.OptimizerBytes = r.tr.OptimizerBytes()
		st.Adaptive = adaptiveStatus(r.tr)
		st.AdapterBytes = 4 * st.TrainableParams
		total := r.work.W.NumParams(r.work.Config)
		switch train.Method(r.cfg.Method) {
		case train.MethodLoRA, train.MethodAdaptive, train.MethodNone:
			st.FrozenParams = total
		default:
			st.FrozenParams = total - st.TrainableParams
		}
	}
	return st
}

func (s *Session) statusReply(id int, typ string) []protocol.Message {
	m := reply(id, typ)
	m.Status = s.Status()
	return []protocol.Message{m}
}

// Tick does one bounded slice of background work: an evaluation slice if
// one is pending, else one training chunk. It returns the events (and
// deferred replies) that slice produced.
func (s *Session) Tick() (out []protocol.Message) {
	defer func() {
		if p := recover(); p != nil {
			out = []protocol.Message{s.internalError(0, p)}
		}
	}()
	if s.exp != nil {
		s.expTurn = !s.expTurn
		if s.expTurn || (s.job == nil && !s.training()) {
			return s.experimentSlice()
		}
	}
	if s.analysisBusy() { // training the second adapter; the run waits
		return s.analysisSlice()
	}
	if s.job != nil {
		return s.evalSlice()
	}
	if !s.training() {
		return nil
	}
	r := s.run
	cfg := r.cfg
	n := s.stepsLeft
	if s.playing {
		n = cfg.Steps - r.tr.StepsTaken()
	}
	s.syncShards()
	start := time.Now()
	res, err := r.tr.Run(n, s.Budget)
	elapsed := time.Since(start)
	out = append(out, s.shardEvents()...)
	if len(res) > 0 {
		p := &protocol.Progress{ChunkMillis: float64(elapsed.Microseconds()) / 1e3}
		tokens := 0
		for _, x := range res {
			p.Points = append(p.Points, protocol.LossPoint{Step: x.Step, Loss: x.Loss})
			tokens += x.Tokens
		}
		last := res[len(res)-1]
		p.Step, p.Loss, p.GradNorm, p.LR = last.Step, last.Loss, last.GradNorm, last.LR
		if elapsed > 0 {
			p.TokensPerSec = float64(tokens) / elapsed.Seconds()
		}
		r.losses = append(r.losses, p.Points...)
		if s.stepsLeft > 0 {
			s.stepsLeft = max(0, s.stepsLeft-len(res))
		}
		if s.playing && r.tr.StepsTaken() >= cfg.Steps {
			s.playing = false
		}
		p.Running = s.training() && err == nil
		p.Adaptive = adaptiveStatus(r.tr)
		out = append(out, protocol.Message{Type: protocol.TypeProgress, Progress: p})
	}
	if err != nil {
		s.halted = err.Error()
		s.playing = false
		pendingStep := s.stepsLeft > 0
		s.stepsLeft = 0
		st := reply(0, protocol.TypeStatus)
		st.Status = s.Status()
		out = append(out, errorMsg(0, err), st)
		if pendingStep {
			out = append(out, errorMsg(s.stepID, err))
			s.stepID = 0
		}
		return out
	}
	finished := !s.training()
	if finished || time.Since(s.lastSnap) >= s.SnapshotEvery {
		if snap, err := s.snapshot(0); err == nil && len(snap.Snapshot.Deltas) > 0 {
			out = append(out, snap)
		}
		s.lastSnap = time.Now()
	}
	if s.stepID != 0 && s.stepsLeft == 0 {
		out = append(out, s.stepDone())
	}
	step := r.tr.StepsTaken()
	endOfSchedule := finished && step >= cfg.Steps
	if cfg.EvalEvery > 0 && (step-max(r.lastEval, 0) >= cfg.EvalEvery || (endOfSchedule && r.lastEval != step)) {
		s.startEval(0)
	}
	if finished && s.stepID == 0 {
		st := reply(0, protocol.TypeStatus)
		st.Status = s.Status()
		out = append(out, st)
	}
	return out
}

// stepDone answers the pending step request with the run's latest losses.
func (s *Session) stepDone() protocol.Message {
	m := reply(s.stepID, protocol.TypeStep)
	p := &protocol.Progress{Step: s.run.tr.StepsTaken(), Running: s.training()}
	if n := len(s.run.losses); n > 0 {
		p.Loss = s.run.losses[n-1].Loss
	}
	m.Progress = p
	s.stepID = 0
	return m
}

// startEval queues an evaluation of the current model: the loss over the
// fixed validation subset, then exact-match accuracy when the task has it.
func (s *Session) startEval(re int) {
	r := s.run
	j := &evalJob{re: re, start: time.Now(), step: r.tr.StepsTaken(), batches: r.evalS.Epoch(r.cfg.Batch)}
	if s.data.metric == data.MetricExactMatch {
		j.exLimit = min(len(s.data.val), protocol.MaxEvalRows)
	}
	j.left = len(j.batches) + j.exLimit
	j.score = make([]float64, j.left)
	for u := range j.left {
		j.queue = append(j.queue, u)
	}
	s.job = j
	s.evalHelpers(j)
}

// evalUnit computes unit u of the evaluation on this worker.
func (s *Session) evalUnit(j *evalJob, u int) error {
	r := s.run
	if u < len(j.batches) {
		b := j.batches[u]
		l, err := r.work.Forward(r.evalActs, b.Inputs, b.Targets, b.Weights, b.B, b.T, nil)
		if err != nil {
			return err
		}
		j.score[u] = l
	} else {
		prompt, want, nl, err := s.matchTokens(u - len(j.batches))
		if err != nil {
			return err
		}
		hit, err := sample.Match(r.work, prompt, want, nl)
		if err != nil {
			return err
		}
		if hit {
			j.score[u] = 1
		}
	}
	j.left--
	return nil
}

// matchTokens is validation example k as sample.ExactMatch scores it.
func (s *Session) matchTokens(k int) (prompt, want []int32, nl int32, err error) {
	tok := s.base.tok
	nl, ok := tok.ID('\n')
	if !ok {
		return nil, nil, 0, errors.New("sample: the vocabulary has no newline to end completions")
	}
	ex := s.data.val[k]
	prompt, _ = tok.Encode(ex.Prompt)
	want, _ = tok.Encode(ex.Completion)
	return prompt, want, nl, nil
}

// evalSlice advances the evaluation for about one chunk's budget.
func (s *Session) evalSlice() []protocol.Message {
	j, r := s.job, s.run
	start := time.Now()
	// At least one unit (or one wait for the shards) per slice, like
	// Trainer.Run's one step, so that every slice makes progress whatever
	// the budget.
	for first := true; first || time.Since(start) < s.Budget; first = false {
		var wait time.Duration
		if len(j.queue) == 0 { // only the shards' units are left
			wait = max(s.Budget-time.Since(start), time.Millisecond)
		}
		j.collect(wait)
		if len(j.queue) > 0 {
			u := j.queue[0]
			j.queue = j.queue[1:]
			if err := s.evalUnit(j, u); err != nil {
				s.job = nil
				return []protocol.Message{errorMsg(j.re, fmt.Errorf("evaluate: %v", err))}
			}
			continue
		}
		if j.left == 0 {
			break
		}
	}
	if j.left > 0 {
		return nil // more next tick
	}
	s.job = nil
	// The single-worker sums, in unit order.
	var sum, w float64
	right := 0
	for u, b := range j.batches {
		var bw float64
		for _, x := range b.Weights[:b.B*b.T] {
			bw += float64(x)
		}
		sum += j.score[u] * bw
		w += bw
	}
	for _, v := range j.score[len(j.batches):] {
		if v == 1 {
			right++
		}
	}
	if w == 0 {
		return []protocol.Message{errorMsg(j.re, errors.New("evaluate: the validation data has no tokens that count"))}
	}
	e := protocol.Eval{Step: j.step, ValLoss: sum / w, Rows: r.evalRows, ValRows: r.valRows,
		Millis: float64(time.Since(j.start).Microseconds()) / 1e3}
	if math.IsNaN(e.ValLoss) || math.IsInf(e.ValLoss, 0) {
		return []protocol.Message{errorMsg(j.re, fmt.Errorf("evaluate: the validation loss is %v", e.ValLoss))}
	}
	if j.exLimit > 0 {
		e.Metric, e.AccuracyRows = data.MetricExactMatch, j.exLimit
		e.Accuracy = float64(right) / float64(j.exLimit)
	}
	if r.evalRows < r.valRows {
		e.Note = fmt.Sprintf("validation loss over the first %d of %d validation rows", r.evalRows, r.valRows)
		if j.exLimit > 0 && j.exLimit < len(s.data.val) {
			e.Note += fmt.Sprintf("; accuracy over the first %d of %d examples", j.exLimit, len(s.data.val))
		}
	}
	r.evals = append(r.evals, e)
	r.lastEval = j.step
	typ := protocol.TypeEval
	if j.re != 0 {
		typ = protocol.TypeEvaluate
	}
	m := reply(j.re, typ)
	m.Eval = &e
	return []protocol.Message{m}
}

// sample generates from the base and the adapted model with the same prompt
// and seed.
func (s *Session) sample(id int, req protocol.Request) ([]protocol.Message, error) {
	if s.run == nil {
		return nil, s.notReady()
	}
	n := req.Tokens
	if n == 0 {
		n = defaultSampleTokens
	}
	if n < 1 || n > protocol.MaxSampleTokens {
		return nil, fmt.Errorf("sample: tokens must be between 1 and %d, got %d", protocol.MaxSampleTokens, n)
	}
	if req.Prompt == "" {
		return nil, errors.New("sample: the prompt is empty")
	}
	prompt, unk := s.base.tok.Encode(req.Prompt)
	o := sample.Options{MaxTokens: n, Temperature: req.Temperature, Seed: req.Seed}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	base, err := sample.Generate(s.base.m, prompt, o)
	if err != nil {
		return nil, err
	}
	adapted, err := sample.Generate(s.run.work, prompt, o)
	if err != nil {
		return nil, err
	}
	m := reply(id, protocol.TypeSample)
	m.Sample = &protocol.Sample{Prompt: req.Prompt, Base: s.base.tok.Decode(base), Adapted: s.base.tok.Decode(adapted),
		Seed: req.Seed, Temperature: req.Temperature, Tokens: n}
	if unk.Count > 0 {
		m.Sample.Unknown = unk.String()
	}
	return []protocol.Message{m}, nil
}

// merge folds ΔW into W and measures what that changed: the logits of a
// probe batch (first validation rows) before and after, and the shapes of
// the adapted layers.
func (s *Session) merge(id int) ([]protocol.Message, error) {
	if s.run == nil {
		return nil, s.notReady()
	}
	r := s.run
	w := r.work
	if r.cfg.Method != string(train.MethodLoRA) && r.cfg.Method != string(train.MethodAdaptive) {
		return nil, fmt.Errorf("merge: only LoRA adapters are merged; a %s run changes W directly", r.cfg.Method)
	}
	if w.Merged {
		return nil, errors.New("merge: the adapters are already merged")
	}
	b := r.evalS.Epoch(min(probeRows, r.cfg.Batch))[0]
	// Without targets: the logits stay logits (evalActs are the trainer's,
	// whose passes with targets turn them into probabilities).
	if _, err := w.Forward(r.evalActs, b.Inputs, nil, nil, b.B, b.T, nil); err != nil {
		return nil, err
	}
	n := b.B * b.T * w.Config.VocabSize
	before := slices.Clone(r.evalActs.Logits[:n])
	shapes := map[string][2]int{}
	w.EachAdapter(func(l, mod int, a *lora.Adapter) {
		_, in := w.Config.ModuleShape(mod)
		shapes[a.Path] = [2]int{len(w.W.Blocks[l].Lin[mod].W) / in, in}
	})
	start := time.Now()
	if err := w.Merge(); err != nil {
		return nil, err
	}
	took := time.Since(start)
	if _, err := w.Forward(r.evalActs, b.Inputs, nil, nil, b.B, b.T, nil); err != nil {
		w.Unmerge()
		return nil, err
	}
	mr := &protocol.Merge{ProbeTokens: b.B * b.T, Millis: float64(took.Microseconds()) / 1e3}
	for i, x := range r.evalActs.Logits[:n] {
		mr.MaxLogitDiff = math.Max(mr.MaxLogitDiff, math.Abs(float64(x)-float64(before[i])))
	}
	w.EachAdapter(func(l, mod int, a *lora.Adapter) {
		_, in := w.Config.ModuleShape(mod)
		mr.Shapes = append(mr.Shapes, protocol.LayerShape{Module: a.Path, Before: shapes[a.Path],
			After: [2]int{len(w.W.Blocks[l].Lin[mod].W) / in, in}})
	})
	m := reply(id, protocol.TypeMerge)
	m.Merge = mr
	m.Status = s.Status()
	return []protocol.Message{m}, nil
}

func (s *Session) export(id int) ([]protocol.Message, error) {
	if s.run == nil {
		return nil, s.notReady()
	}
	if s.run.cfg.Method == string(train.MethodAdaptive) {
		return s.exportAdaptive(id)
	}
	if s.run.cfg.Method != string(train.MethodLoRA) {
		return nil, fmt.Errorf("export: only LoRA adapters are exported; this run's method is %s", s.run.cfg.Method)
	}
	a, err := s.run.work.ExportAdapter(s.run.loraCfg)
	if err != nil {
		return nil, err
	}
	b, err := peft.EncodeArchive(a)
	if err != nil {
		return nil, err
	}
	m := reply(id, protocol.TypeExport)
	m.Export = &protocol.Export{FileName: fmt.Sprintf("lora-%s-%s-r%d.zip", s.base.m.Config.Name, s.run.cfg.Task, s.run.cfg.Rank), Bytes: len(b)}
	m.Data = b
	return []protocol.Message{m}, nil
}

// importAdapter attaches a PEFT archive after checking it fits the loaded
// base model; the run becomes a LoRA run at step 0 with its matrices.
func (s *Session) importAdapter(id int, archive []byte) ([]protocol.Message, error) {
	if s.run == nil {
		return nil, s.notReady()
	}
	if len(archive) == 0 {
		return nil, errors.New("import: no archive (send the .zip as the payload)")
	}
	a, err := peft.DecodeArchive(archive, maxArchiveBytes)
	if err != nil {
		return nil, fmt.Errorf("import: %v", err)
	}
	probe := s.base.m.Clone()
	probe.Config.Name = s.base.m.Config.Name
	lc, err := probe.ImportAdapter(a)
	if err != nil {
		return nil, fmt.Errorf("import refused: %v", err)
	}
	c := s.run.cfg
	c.SeqLen = s.cfg.SeqLen // re-chosen from the data when it was left to the worker
	c.Method, c.Rank, c.Alpha, c.RSLoRA, c.Dropout = string(train.MethodLoRA), lc.Rank, lc.Alpha, lc.UseRSLoRA, lc.Dropout
	c.Targets = slices.Clone(lc.Targets)
	r, err := s.newRun(s.base, c, s.data, lc)
	if err != nil {
		return nil, fmt.Errorf("import: %v", err)
	}
	var copyErr error
	r.work.EachAdapter(func(l, mod int, ad *lora.Adapter) {
		src := probe.Adapters[l][mod]
		if src == nil || len(src.A) != len(ad.A) || len(src.B) != len(ad.B) {
			if copyErr == nil {
				copyErr = fmt.Errorf("import: module %s does not match the adapter's configuration", ad.Path)
			}
			return
		}
		copy(ad.A, src.A)
		copy(ad.B, src.B)
		ad.Scale = src.Scale
	})
	if copyErr != nil {
		return nil, copyErr
	}
	out := s.cancel("import")
	s.cfg, s.run, s.halted = &c, r, ""
	return append(s.statusReply(id, protocol.TypeImport), out...), nil
}

// moduleDelta computes ΔW of one module: s·B·A for LoRA, W − W₀ for full
// fine-tuning. ok is false when the module is not adapted.
func (s *Session) moduleDelta(l, mod int) (delta []float32, ad *lora.Adapter, ok bool) {
	r := s.run
	c := r.work.Config
	out, in := c.ModuleShape(mod)
	switch train.Method(r.cfg.Method) {
	case train.MethodAdaptive:
		if ad = adaptiveFactors(r.tr, model.ModulePath(l, mod)); ad == nil {
			return nil, nil, false
		}
		delta = make([]float32, out*in)
		ad.DeltaW(delta)
		return delta, ad, true
	case train.MethodLoRA:
		if r.work.Adapters == nil || r.work.Adapters[l][mod] == nil {
			return nil, nil, false
		}
		ad = r.work.Adapters[l][mod]
		delta = make([]float32, out*in)
		ad.DeltaW(delta)
		return delta, ad, true
	case train.MethodFull:
		w, w0 := r.work.W.Blocks[l].Lin[mod].W, s.base.m.W.Blocks[l].Lin[mod].W
		delta = make([]float32, len(w))
		for i := range w {
			delta[i] = w[i] - w0[i]
		}
		return delta, nil, true
	}
	return nil, nil, false
}

func maxAbs(v []float32) float64 {
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(float64(x)))
	}
	return m
}

// snapshot packs ΔW of every adapted matrix of every layer into one
// float32 payload, in layer then module order.
func (s *Session) snapshot(id int) (protocol.Message, error) {
	r := s.run
	c := r.work.Config
	sn := &protocol.Snapshot{Step: r.tr.StepsTaken(), Method: r.cfg.Method, Layers: c.NLayer, Deltas: []protocol.Tensor{}}
	if r.cfg.Method == string(train.MethodLoRA) {
		sn.Rank, sn.Scale = r.cfg.Rank, float64(lora.Scale(r.cfg.Alpha, r.cfg.Rank, r.cfg.RSLoRA))
	}
	var payload []byte
	for l := 0; l < c.NLayer; l++ {
		for mod := 0; mod < model.NumModules; mod++ {
			d, _, ok := s.moduleDelta(l, mod)
			if !ok {
				continue
			}
			out, in := c.ModuleShape(mod)
			var off int
			payload, off = protocol.AppendFloat32s(payload, d)
			sn.Deltas = append(sn.Deltas, protocol.Tensor{Name: model.ModulePath(l, mod), Rows: out, Cols: in, Offset: off, MaxAbs: maxAbs(d)})
		}
	}
	typ := protocol.TypeSnapshot
	m := reply(id, typ)
	m.Snapshot, m.Data = sn, payload
	return m, nil
}

// parseModule finds layer and module index of a module path.
func parseModule(c model.Config, p string) (l, mod int, ok bool) {
	for l := 0; l < c.NLayer; l++ {
		for mod := 0; mod < model.NumModules; mod++ {
			if model.ModulePath(l, mod) == p {
				return l, mod, true
			}
		}
	}
	return 0, 0, false
}

// inspect returns ΔW, A, B of one module and ΔW's singular values.
func (s *Session) inspect(id int, module string) (protocol.Message, error) {
	r := s.run
	c := r.work.Config
	l, mod, ok := parseModule(c, module)
	if !ok {
		return protocol.Message{}, fmt.Errorf("inspect: %q is not a module of this model (e.g. %s)", module, model.ModulePath(0, model.ModQ))
	}
	delta, ad, ok := s.moduleDelta(l, mod)
	if !ok {
		return protocol.Message{}, fmt.Errorf("inspect: %s is not adapted in this %s run", module, r.cfg.Method)
	}
	out, in := c.ModuleShape(mod)
	in_ := &protocol.Inspect{Step: r.tr.StepsTaken(), Module: module}
	var payload []byte
	var off int
	payload, off = protocol.AppendFloat32s(payload, delta)
	in_.Delta = protocol.Tensor{Name: module, Rows: out, Cols: in, Offset: off, MaxAbs: maxAbs(delta)}
	if ad != nil {
		in_.Rank, in_.Scale = ad.R, float64(ad.Scale)
		payload, off = protocol.AppendFloat32s(payload, ad.A)
		in_.A = &protocol.Tensor{Name: module + ".lora_A", Rows: ad.R, Cols: ad.In, Offset: off, MaxAbs: maxAbs(ad.A)}
		payload, off = protocol.AppendFloat32s(payload, ad.B)
		in_.B = &protocol.Tensor{Name: module + ".lora_B", Rows: ad.Out, Cols: ad.R, Offset: off, MaxAbs: maxAbs(ad.B)}
	}
	sv, err := singularValues(delta, out, in)
	if err != nil {
		return protocol.Message{}, fmt.Errorf("inspect: %v", err)
	}
	in_.Singular = sv
	in_.NumericalRank, in_.Tol = numericalRank(sv, out, in)
	m := reply(id, protocol.TypeInspect)
	m.Inspect, m.Data = in_, payload
	return m, nil
}
