// Package train fine-tunes a model with one of five methods and the same
// optimiser, schedule and data, so that their results can be compared:
//
//   - lora: the base model is frozen; low-rank adapters (package lora) train.
//   - full: every weight trains (full fine-tuning, the paper's baseline).
//   - bias: only bias vectors train (BitFit, Ben Zaken et al. 2021).
//   - none: nothing trains; steps only measure the base model's loss.
//   - adaptive: LoRA whose rank per matrix is chosen during training by
//     pruning the least important singular values (AdaLoRA, package adalora).
//
// A Trainer advances one optimisation step per call to Step, so that a Web
// Worker can run training in short, bounded chunks and stay responsive. Every
// source of randomness (batches, dropout, adapter init) is seeded from
// Config.Seed: the same seed on the same build gives the same loss curve, bit
// for bit.
package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/lora-playground/lora-playground/core/adalora"
	"github.com/lora-playground/lora-playground/core/data"
	"github.com/lora-playground/lora-playground/core/lora"
	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/profile"
)

// Method is an adaptation method.
type Method string

const (
	MethodLoRA Method = "lora"
	MethodFull Method = "full"
	MethodBias Method = "bias"
	MethodNone Method = "none"
	// MethodAdaptive is LoRA whose rank per matrix is chosen while training
	// (AdaLoRA, package adalora); see adaptive.go.
	MethodAdaptive Method = "adaptive"
)

// Config is a training run's configuration.
type Config struct {
	Method Method
	LoRA   lora.Config // used when Method is lora
	// Adaptive is used when Method is adaptive.
	Adaptive adalora.Config

	LR          float64 // peak learning rate
	MinLRFrac   float64 // the cosine ends at MinLRFrac·LR
	WarmupSteps int
	Steps       int // schedule length; training may go on at the final rate
	Batch       int // sequences per step
	SeqLen      int // tokens per sequence, at most the model's n_ctx
	WeightDecay float64
	GradClip    float64 // clip the global gradient norm to this; 0 disables
	Seed        uint64
}

// DefaultConfig is a LoRA run that learns visibly within a minute in a
// browser on the shipped models.
func DefaultConfig() Config {
	return Config{
		Method: MethodLoRA,
		LoRA:   lora.Config{Rank: 8, Alpha: 16, Targets: []string{"q_proj", "v_proj"}, Init: lora.InitDefault},
		LR:     3e-3, MinLRFrac: 0.1, WarmupSteps: 20, Steps: 500,
		Batch: 8, SeqLen: 64, WeightDecay: 0.01, GradClip: 1, Seed: 1,
	}
}

// Validate reports the first unusable setting.
func (c Config) Validate(mc model.Config) error {
	switch c.Method {
	case MethodLoRA:
		if err := c.LoRA.Validate(); err != nil {
			return err
		}
	case MethodAdaptive:
		if err := c.Adaptive.Validate(c.Steps); err != nil {
			return err
		}
	case MethodFull, MethodBias, MethodNone:
	default:
		return fmt.Errorf("train: unknown method %q; use lora, adaptive, full, bias or none", c.Method)
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	switch {
	case !finite(c.LR) || c.LR <= 0:
		return fmt.Errorf("train: learning rate must be positive, got %v", c.LR)
	case !finite(c.MinLRFrac) || c.MinLRFrac < 0 || c.MinLRFrac > 1:
		return fmt.Errorf("train: min_lr_frac must be in [0, 1], got %v", c.MinLRFrac)
	case c.Steps < 1:
		return fmt.Errorf("train: steps must be at least 1, got %d", c.Steps)
	case c.WarmupSteps < 0 || c.WarmupSteps > c.Steps:
		return fmt.Errorf("train: warmup (%d) must be between 0 and steps (%d)", c.WarmupSteps, c.Steps)
	case c.Batch < 1 || c.Batch > 1024:
		return fmt.Errorf("train: batch must be between 1 and 1024, got %d", c.Batch)
	case c.SeqLen < 2 || c.SeqLen > mc.NCtx:
		return fmt.Errorf("train: sequence length must be between 2 and the model's context %d, got %d", mc.NCtx, c.SeqLen)
	case !finite(c.WeightDecay) || c.WeightDecay < 0:
		return fmt.Errorf("train: weight decay must be non-negative, got %v", c.WeightDecay)
	case !finite(c.GradClip) || c.GradClip < 0:
		return fmt.Errorf("train: gradient clip must be non-negative, got %v", c.GradClip)
	}
	return nil
}

// StepResult describes one optimisation step.
type StepResult struct {
	Step         int     // 1-based number of the step just taken
	Loss         float64 // training loss of the batch, nats per counted token
	GradNorm     float64 // global gradient norm before clipping
	LR           float64
	Tokens       int // tokens processed (B·T)
	TokensPerSec float64
}

// NonFiniteError reports a NaN or infinite loss or gradient. The step that
// produced it was not applied: the model keeps its last good state.
type NonFiniteError struct {
	Step  int
	What  string // "loss" or "gradient norm"
	Value float64
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("training stopped at step %d: the %s became %v; the model keeps its state from step %d (try a lower learning rate)", e.Step, e.What, e.Value, e.Step-1)
}

// ErrNonFinite matches any *NonFiniteError with errors.Is.
var ErrNonFinite = errors.New("non-finite value")

func (e *NonFiniteError) Is(target error) bool { return target == ErrNonFinite }

// gradTensor is a trainable tensor and its gradient.
type gradTensor struct {
	name        string
	param, grad []float32
}

// Trainer runs a training loop one step at a time.
type Trainer struct {
	Model *model.Model
	Cfg   Config

	acts      *model.Activations
	opt       *AdamW
	trainData *data.Sampler
	valData   *data.Sampler
	batch     *data.Batch
	dropout   *rand.Rand     // over drop; nil without dropout
	drop      *dropoutSource // keys each mask element by (step, row, position)
	tensors   []gradTensor
	adaptive  *adaptiveRun // non-nil for MethodAdaptive
	step      int
	halted    error

	// Data-parallel training (shard.go).
	links     []*shardLink
	shardErrs []*ShardError
	stats     ShardStats
	flat      []float32   // the parameters sent to a shard that joins
	parts     [][]float32 // each worker's gradient of the step, flat
	next      *data.Batch // the next step's batch, sampled ahead for the shards
	haveNext  bool
	replica   replica // as a shard
	// shardCache: SetShards turned the model's transpose cache on.
	shardCache bool

	// The cut of the rows between workers (rowcut.go).
	cut        rowCut    // of the step whose rows went out last
	lastCut    []int     // of the last data-parallel step
	prevCut    []int     // of the last counted one (ShardStats.Changes)
	ownTime    rowTimer  // the trainer's time per row
	cutTimes   []float64 // scratch: the workers' times per row
	cutScratch struct{ even, cur, best, rows []int }
}

// New prepares m for training with cfg on the given samplers (val may be nil).
// For lora it attaches fresh adapters; the base weights are never modified.
func New(m *model.Model, cfg Config, trainData, valData *data.Sampler) (*Trainer, error) {
	if err := cfg.Validate(m.Config); err != nil {
		return nil, err
	}
	if m.Merged {
		return nil, errors.New("train: the model's adapters are merged; unmerge before training")
	}
	t := &Trainer{Model: m, Cfg: cfg, trainData: trainData, valData: valData,
		acts:  model.NewActivations(m.Config, cfg.Batch, cfg.SeqLen),
		opt:   NewAdamW(),
		batch: data.NewBatch(cfg.Batch, cfg.SeqLen),
		next:  data.NewBatch(cfg.Batch, cfg.SeqLen),
	}
	t.acts.SoftmaxInPlace = true // nothing reads a training pass's logits
	keep := func(model.Param) bool { return false }
	switch cfg.Method {
	case MethodFull:
		keep = func(model.Param) bool { return true }
	case MethodBias:
		keep = func(p model.Param) bool { return p.Kind == model.KindBias || p.Kind == model.KindNormBias }
	case MethodLoRA:
		if err := m.AddLoRA(cfg.LoRA, rand.New(rand.NewPCG(cfg.Seed, 0x6c6f7261))); err != nil {
			return nil, err
		}
	case MethodAdaptive:
		if err := t.attachAdaptive(); err != nil {
			return nil, err
		}
	}
	if cfg.Method != MethodLoRA && cfg.Method != MethodAdaptive {
		m.Adapters = nil
	}
	t.drop, t.dropout = newDropout(m, cfg.Seed)
	m.G = model.NewWeights(m.Config, keep)
	grads := m.G.Params(m.Config)
	for i, p := range m.W.Params(m.Config) {
		if g := grads[i].Data; g != nil {
			decay := p.Kind == model.KindMatrix || p.Kind == model.KindEmbedding
			t.opt.Add(p.Data, g, decay)
			t.tensors = append(t.tensors, gradTensor{p.Name, p.Data, g})
		}
	}
	if t.adaptive != nil {
		t.adaptive.register(t)
		return t, nil
	}
	m.EachAdapter(func(l, mod int, a *lora.Adapter) {
		a.EnableGrad()
		t.opt.Add(a.A, a.DA, true)
		t.opt.Add(a.B, a.DB, true)
		t.tensors = append(t.tensors, gradTensor{a.Path + ".lora_A", a.A, a.DA}, gradTensor{a.Path + ".lora_B", a.B, a.DB})
	})
	return t, nil
}

// Activations returns the trainer's activation buffers, for forward passes
// between steps (as Evaluate makes), so that evaluating needs no second set
// (for the reference configuration ~6 MiB). After a pass with targets,
// Logits holds the probabilities (SoftmaxInPlace); pass nil targets to
// read the logits.
func (t *Trainer) Activations() *model.Activations { return t.acts }

// StepsTaken is the number of steps applied so far.
func (t *Trainer) StepsTaken() int { return t.step }

// Halted returns the error that stopped training, if any.
func (t *Trainer) Halted() error { return t.halted }

// TrainableParams counts the numbers the optimiser updates.
func (t *Trainer) TrainableParams() int {
	n := 0
	for _, g := range t.tensors {
		n += len(g.param)
	}
	return n
}

// OptimizerBytes is the AdamW state's size.
func (t *Trainer) OptimizerBytes() int { return t.opt.StateBytes() }

// Step takes one optimisation step on the next training batch.
func (t *Trainer) Step() (StepResult, error) {
	if t.halted != nil {
		return StepResult{}, t.halted
	}
	start := time.Now()
	cfg := t.Cfg
	b := t.batch
	if t.haveNext { // sampled ahead for the shards (shard.go)
		t.batch, t.next, t.haveNext = t.next, t.batch, false
		b = t.batch
	} else {
		t.trainData.Next(b)
	}
	loss, err := t.batchGradient()
	if err != nil {
		return StepResult{}, err
	}
	res := StepResult{Step: t.step + 1, Loss: loss, Tokens: b.B * b.T,
		LR: LearningRate(t.step, cfg.WarmupSteps, cfg.Steps, cfg.LR, cfg.MinLRFrac)}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		t.halted = &NonFiniteError{Step: t.step + 1, What: "loss", Value: loss}
		t.unsyncShards() // they may have taken the step
		return res, t.halted
	}
	if len(t.tensors) > 0 {
		t.adaptive.gradient(t.step)
		tp := profile.Begin()
		err := t.applyGradient(&res)
		profile.End(profile.Optimizer, tp)
		if err != nil {
			t.halted = err
			t.unsyncShards()
			return res, t.halted
		}
	}
	t.step++
	t.adaptive.afterUpdate(t)
	if d := time.Since(start).Seconds(); d > 0 {
		res.TokensPerSec = float64(res.Tokens) / d
	}
	return res, nil
}

// Run takes up to n steps, stopping early once budget has elapsed (when
// budget > 0) or on error. It is the bounded chunk a Web Worker calls
// between messages.
func (t *Trainer) Run(n int, budget time.Duration) ([]StepResult, error) {
	start := time.Now()
	// n is often the rest of the run (a million steps in the workers
	// bench) while a chunk takes a few: room for n results would be
	// megabytes allocated, zeroed and collected every chunk.
	out := make([]StepResult, 0, min(n, 32))
	for i := 0; i < n; i++ {
		r, err := t.Step()
		if err != nil {
			return out, err
		}
		out = append(out, r)
		if budget > 0 && time.Since(start) >= budget {
			break
		}
	}
	return out, nil
}

// Evaluate returns the mean loss (nats per counted token) over one ordered
// pass of the validation data, without dropout. It returns an error when
// there is no validation data.
func (t *Trainer) Evaluate() (float64, error) {
	if t.valData == nil {
		return 0, errors.New("train: no validation data")
	}
	return EvalLoss(t.Model, t.acts, t.valData, t.Cfg.Batch)
}

// EvalLoss is the token-weighted mean loss of m over one ordered pass of s.
// acts must fit batches of B rows of s's sequence length.
func EvalLoss(m *model.Model, acts *model.Activations, s *data.Sampler, B int) (float64, error) {
	var sum, weight float64
	for _, b := range s.Epoch(B) {
		l, err := m.Forward(acts, b.Inputs, b.Targets, b.Weights, b.B, b.T, nil)
		if err != nil {
			return 0, err
		}
		var w float64
		for _, x := range b.Weights[:b.B*b.T] {
			w += float64(x)
		}
		sum += l * w
		weight += w
	}
	if weight == 0 {
		return 0, errors.New("train: the validation data has no tokens that count")
	}
	return sum / weight, nil
}
