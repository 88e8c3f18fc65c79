package experiment

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/lora-playground/lora-playground/core/data"
	"github.com/lora-playground/lora-playground/core/lora"
	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/sample"
	"github.com/lora-playground/lora-playground/core/tokenizer"
	"github.com/lora-playground/lora-playground/core/train"
)

// Data is the task every run trains on.
type Data struct {
	Kind       data.Kind
	Train, Val []data.Example
	// ExactMatch scores accuracy (sample.ExactMatch: the greedy completion
	// equals the reference) after training, on Config.AccuracyExamples
	// validation examples.
	ExactMatch bool
}

// Config is what every run of an experiment shares.
type Config struct {
	Steps  int     // optimisation steps per run
	LR     float64 // peak learning rate of the LoRA runs
	FullLR float64 // peak learning rate of full fine-tuning (0: LR/10)
	Alpha  float64 // LoRA α, the same for every rank (ΔW = (α/r)·B·A)
	Batch  int     // sequences per step
	SeqLen int     // tokens per sequence (0: data.AutoSeqLen)
	Warmup int     // warmup steps (-1: Steps/10)
	Seed   uint64  // adapter init, batch order, dropout: the same for every run
	// EvalEvery also measures the validation loss every this many steps
	// (0: only after the last step); BestValLoss is the lowest measured.
	EvalEvery int
	// EvalRows bounds the validation rows scored (0: the whole split): the
	// first EvalRows examples, or for running text the first EvalRows
	// windows of SeqLen tokens.
	EvalRows int
	// AccuracyExamples bounds the exact-match examples (0: 64).
	AccuracyExamples int
}

// DefaultConfig is a sweep that separates the runs on nano within a couple
// of minutes in a browser.
func DefaultConfig() Config {
	return Config{Steps: 200, LR: 1e-2, FullLR: 1e-3, Alpha: 16, Batch: 8, Warmup: -1, Seed: 1, EvalRows: 64}
}

// Result is what one run reached.
type Result struct {
	Run
	Label           string   `json:"label"`
	TrainableParams int      `json:"trainable_params"`
	Steps           int      `json:"steps"`
	TrainLoss       Loss     `json:"train_loss"`    // the last step's training loss (NaN for the frozen base)
	ValLoss         Loss     `json:"val_loss"`      // after the last step
	BestValLoss     Loss     `json:"best_val_loss"` // lowest of every measurement
	Accuracy        *float64 `json:"accuracy,omitempty"`
	WallSeconds     float64  `json:"wall_seconds"` // training and evaluation
	TokensPerSec    float64  `json:"tokens_per_sec"`
	// Error says why the run stopped early (e.g. a NaN loss); the
	// experiment goes on with the next run.
	Error string `json:"error,omitempty"`
}

// Loss is a loss in nats per counted token; NaN means not measured, and is
// written to JSON as null (JSON has no NaN).
type Loss float64

// MarshalJSON writes l, or null for NaN and ±Inf.
func (l Loss) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(l)) || math.IsInf(float64(l), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(l))
}

// UnmarshalJSON reads a number, or null as NaN.
func (l *Loss) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*l = Loss(math.NaN())
		return nil
	}
	var f float64
	err := json.Unmarshal(b, &f)
	*l = Loss(f)
	return err
}

// NaN reports whether l was not measured.
func (l Loss) NaN() bool { return math.IsNaN(float64(l)) }

// Progress is where a Runner is.
type Progress struct {
	Run      int    // index of the run in progress (= Runs when done)
	Runs     int    // runs in the experiment
	Label    string // the run in progress
	Phase    string // "train", "eval" (loss), "accuracy" or "done"
	Step     int    // steps taken in the run in progress
	Steps    int    // steps per run
	Loss     Loss   // the last training step's
	Finished int    // runs with a Result
}

// Runner trains the runs of an experiment one after another, a bounded
// slice at a time.
type Runner struct {
	base *model.Model
	tok  *tokenizer.Tokenizer
	data Data
	cfg  Config
	runs []Run

	evalBatches []*data.Batch
	accExamples []data.Example
	results     []Result

	// the run in progress
	idx      int
	phase    string
	tr       *train.Trainer
	work     *model.Model
	res      Result
	start    time.Time
	trainDur time.Duration
	tokens   int
	final    bool // the evaluation in progress is the last one
	next     int  // next eval batch, then next accuracy example
	sum, w   float64
	right    int
}

var nan = Loss(math.NaN())

// phases
const (
	phaseTrain    = "train"
	phaseEval     = "eval"
	phaseAccuracy = "accuracy"
	phaseDone     = "done"
)

// NewRunner prepares runs of base on d. The base model is never modified:
// every run trains its own copy.
func NewRunner(base *model.Model, d Data, cfg Config, runs []Run) (*Runner, error) {
	if len(runs) == 0 {
		return nil, errors.New("experiment: no runs")
	}
	if base.Merged || base.Adapters != nil {
		return nil, errors.New("experiment: the base model must have no adapters")
	}
	if cfg.SeqLen == 0 {
		cfg.SeqLen = data.AutoSeqLen(d.Kind, base.Config.NCtx, d.Train, d.Val)
	}
	if cfg.Warmup < 0 {
		cfg.Warmup = cfg.Steps / 10
	}
	if cfg.FullLR == 0 {
		cfg.FullLR = cfg.LR / 10
	}
	if cfg.AccuracyExamples == 0 {
		cfg.AccuracyExamples = 64
	}
	if cfg.EvalEvery < 0 || cfg.EvalRows < 0 || cfg.AccuracyExamples < 0 {
		return nil, errors.New("experiment: eval_every, eval_rows and accuracy_examples must not be negative")
	}
	if len(d.Train) == 0 || len(d.Val) == 0 {
		return nil, errors.New("experiment: the task needs training and validation examples")
	}
	tok, err := base.Config.NewTokenizer()
	if err != nil {
		return nil, err
	}
	x := &Runner{base: base, tok: tok, data: d, cfg: cfg, runs: runs}
	// Check every run's configuration now, so a bad one fails before any
	// training rather than after minutes of it.
	for _, r := range runs {
		tc := x.trainConfig(r)
		if err := tc.Validate(base.Config); err != nil {
			return nil, fmt.Errorf("experiment: %s: %v", r.Label(), err)
		}
		if r.Method != train.MethodLoRA && r.Method != train.MethodFull && r.Method != train.MethodNone {
			return nil, fmt.Errorf("experiment: %s: method %q; use lora, full or none", r.Label(), r.Method)
		}
	}
	val := d.Val
	if cfg.EvalRows > 0 {
		val = evalSubset(d.Kind, d.Val, cfg.EvalRows, cfg.SeqLen)
	}
	vs, _, err := data.NewSampler(d.Kind, val, tok, cfg.SeqLen, cfg.Seed+1)
	if err != nil {
		return nil, fmt.Errorf("experiment: validation data: %v", err)
	}
	x.evalBatches = vs.Epoch(cfg.Batch)
	if d.ExactMatch {
		x.accExamples = d.Val[:min(len(d.Val), cfg.AccuracyExamples)]
	}
	if err := x.startRun(); err != nil {
		return nil, err
	}
	return x, nil
}

// evalSubset is the fixed start of the validation split: the first n
// examples, or for running text the first n windows of T tokens (one token
// per character).
func evalSubset(kind data.Kind, val []data.Example, n, T int) []data.Example {
	if kind != data.KindText {
		return val[:min(n, len(val))]
	}
	var sb strings.Builder
	for i, e := range val {
		if i > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteString(e.Completion)
	}
	r := []rune(sb.String())
	return []data.Example{{Completion: string(r[:min(len(r), n*T+1)])}}
}

// trainConfig is core/train's configuration of run r.
func (x *Runner) trainConfig(r Run) train.Config {
	c := x.cfg
	tc := train.DefaultConfig()
	tc.Method = r.Method
	tc.LoRA = lora.Config{Rank: max(r.Rank, 1), Alpha: c.Alpha, Targets: r.Targets, Init: lora.InitDefault}
	tc.LR, tc.Steps, tc.Batch, tc.SeqLen, tc.Seed, tc.WarmupSteps = c.LR, max(c.Steps, 1), c.Batch, c.SeqLen, c.Seed, c.Warmup
	if r.Method == train.MethodFull {
		tc.LR = c.FullLR
	}
	if r.Method == train.MethodNone {
		tc.LoRA = lora.Config{}
		tc.WarmupSteps = 0
	}
	return tc
}

// startRun builds the trainer of run x.idx, or finishes the experiment.
func (x *Runner) startRun() error {
	x.tr, x.work = nil, nil
	if x.idx >= len(x.runs) {
		x.phase = phaseDone
		return nil
	}
	r := x.runs[x.idx]
	x.res = Result{Run: r, Label: r.Label(), TrainLoss: nan, ValLoss: nan, BestValLoss: nan}
	x.start, x.trainDur, x.tokens = time.Now(), 0, 0
	// The same seed for every run: the same batches in the same order.
	ts, _, err := data.NewSampler(x.data.Kind, x.data.Train, x.tok, x.cfg.SeqLen, x.cfg.Seed)
	if err != nil {
		return fmt.Errorf("experiment: training data: %v", err)
	}
	x.work = x.base.Clone()
	x.work.Config.Name = x.base.Config.Name
	tr, err := train.New(x.work, x.trainConfig(r), ts, nil)
	if err != nil {
		return fmt.Errorf("experiment: %s: %v", r.Label(), err)
	}
	x.tr = tr
	x.res.TrainableParams = tr.TrainableParams()
	x.phase = phaseTrain
	if r.Method == train.MethodNone || x.cfg.Steps == 0 {
		x.beginEval(true)
	}
	return nil
}

func (x *Runner) beginEval(final bool) {
	x.phase, x.final, x.next, x.sum, x.w = phaseEval, final, 0, 0, 0
}

// finishRun records the run in progress and starts the next.
func (x *Runner) finishRun(errText string) {
	x.res.Error = errText
	x.res.Steps = x.tr.StepsTaken()
	x.res.WallSeconds = time.Since(x.start).Seconds()
	if s := x.trainDur.Seconds(); s > 0 {
		x.res.TokensPerSec = float64(x.tokens) / s
	}
	x.results = append(x.results, x.res)
	x.idx++
	if err := x.startRun(); err != nil {
		// Configurations were validated up front; what is left is a
		// failure to build one run, reported as that run's result.
		x.res = Result{Run: x.runs[x.idx], Label: x.runs[x.idx].Label(), TrainLoss: nan, ValLoss: nan, BestValLoss: nan, Error: err.Error()}
		x.results = append(x.results, x.res)
		x.idx++
		if x.idx < len(x.runs) {
			_ = x.startRun()
		} else {
			x.phase = phaseDone
		}
	}
}

// unit does one unit of work: a training step, a validation batch or an
// accuracy example.
func (x *Runner) unit() {
	switch x.phase {
	case phaseTrain:
		t0 := time.Now()
		s, err := x.tr.Step()
		x.trainDur += time.Since(t0)
		if err != nil {
			x.finishRun(err.Error())
			return
		}
		x.tokens += s.Tokens
		x.res.TrainLoss = Loss(s.Loss)
		n := x.tr.StepsTaken()
		switch {
		case n >= x.cfg.Steps:
			x.beginEval(true)
		case x.cfg.EvalEvery > 0 && n%x.cfg.EvalEvery == 0:
			x.beginEval(false)
		}
	case phaseEval:
		b := x.evalBatches[x.next]
		// The run's own trainer's activations: a second set for evaluation
		// would cost as much again (~6 MiB for tiny at T=64, batch 8).
		l, err := x.work.Forward(x.tr.Activations(), b.Inputs, b.Targets, b.Weights, b.B, b.T, nil)
		if err != nil {
			x.finishRun(err.Error())
			return
		}
		var w float64
		for _, v := range b.Weights[:b.B*b.T] {
			w += float64(v)
		}
		x.sum += l * w
		x.w += w
		x.next++
		if x.next < len(x.evalBatches) {
			return
		}
		loss := nan
		if x.w > 0 {
			loss = Loss(x.sum / x.w)
		}
		x.res.ValLoss = loss
		if x.res.BestValLoss.NaN() || loss < x.res.BestValLoss {
			x.res.BestValLoss = loss
		}
		switch {
		case !x.final:
			x.phase = phaseTrain
		case len(x.accExamples) > 0:
			x.phase, x.next, x.right = phaseAccuracy, 0, 0
		default:
			x.finishRun("")
		}
	case phaseAccuracy:
		a, err := sample.ExactMatch(x.work, x.tok, x.accExamples[x.next:x.next+1], 1)
		if err != nil {
			x.finishRun(err.Error())
			return
		}
		if a == 1 {
			x.right++
		}
		x.next++
		if x.next == len(x.accExamples) {
			acc := float64(x.right) / float64(len(x.accExamples))
			x.res.Accuracy = &acc
			x.finishRun("")
		}
	}
}

// Step works for about budget (at least one unit of work: a training step,
// a validation batch or an accuracy example) and reports where it is; done
// is true once every run has a result.
func (x *Runner) Step(budget time.Duration) (p Progress, done bool) {
	start := time.Now()
	for first := true; x.phase != phaseDone && (first || time.Since(start) < budget); first = false {
		x.unit()
	}
	return x.Progress(), x.phase == phaseDone
}

// Progress reports where the runner is.
func (x *Runner) Progress() Progress {
	p := Progress{Run: x.idx, Runs: len(x.runs), Phase: x.phase, Steps: x.cfg.Steps, Finished: len(x.results), Loss: x.res.TrainLoss}
	if x.idx < len(x.runs) {
		p.Label = x.runs[x.idx].Label()
		if x.tr != nil {
			p.Step = x.tr.StepsTaken()
		}
		if x.runs[x.idx].Method == train.MethodNone {
			p.Steps = 0
		}
	}
	return p
}

// Done reports whether every run has a result.
func (x *Runner) Done() bool { return x.phase == phaseDone }

// Runs returns the planned runs.
func (x *Runner) Runs() []Run { return x.runs }

// Config returns the shared configuration with its defaults filled in.
func (x *Runner) Config() Config { return x.cfg }

// Results returns the finished runs, in order. After a cancel (no more
// Step calls) they are everything that completed.
func (x *Runner) Results() []Result { return append([]Result(nil), x.results...) }

// RunAll steps r to the end. It is for native callers (the CLI, tests);
// onProgress, if not nil, is called after every slice.
func (x *Runner) RunAll(slice time.Duration, onProgress func(Progress)) []Result {
	for {
		p, done := x.Step(slice)
		if onProgress != nil {
			onProgress(p)
		}
		if done {
			return x.Results()
		}
	}
}
