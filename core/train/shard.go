package train

import (
	"fmt"
	"math"
)

// Data-parallel training
//
// The loss of a batch is a weighted mean over its rows n (weights w mask
// prompts and padding):
//
//	L(θ) = Σ_n w_n·ℓ_n(θ) / W,   W = Σ_n w_n
//
// so its gradient is a sum over any partition of the rows into shards k:
//
//	∇L = Σ_k g_k,   g_k = ∇( Σ_{n∈k} w_n·ℓ_n / W )
//
// Each shard needs only θ, its rows and W. A Trainer with shards (SetShards)
// samples the batch as alone, sends shard k its rows and the current
// trainable parameters (ShardJob), computes the first rows itself, adds the
// shards' gradients (ShardResult) to its own in shard order, and then clips
// and steps AdamW exactly as a single worker does. The combined gradient is
// the single-worker gradient up to float32 summation order (each row's
// dlogits are bit-identical; see model.Activations.SetLossNormalizer), and
// with dropout the masks are the same too (dropoutSource). The parameters
// travel every step, so a shard keeps no optimiser state and cannot drift.
//
// For LoRA this is cheap: r=8 on q,v of a 2-layer model is ~4K numbers,
// 16 KB each way per shard and step.

// ShardJob is one shard's part of one step.
type ShardJob struct {
	Step      int       // 0-based index of the step; with Row0 it keys the dropout masks
	Row0      int       // index in the whole batch of the shard's first row
	B, T      int       // the shard's rows, positions per row
	Inputs    []int32   // (B,T)
	Targets   []int32   // (B,T)
	Weights   []float32 // (B,T)
	WeightSum float64   // W: Σ of the whole batch's weights, the loss's denominator
	Params    []float32 // every trainable number, flat in TrainableNames order (FlatParams)
}

// ShardResult is a shard's answer to a ShardJob.
type ShardResult struct {
	LossSum float64   // Σ_{n∈shard} w_n·ℓ_n, nats
	Grad    []float32 // g_k = ∇(Σ_{n∈shard} w_n·ℓ_n / W), flat like ShardJob.Params
}

// A Shard computes a ShardJob elsewhere, e.g. in another Web Worker. Start
// hands the job over and returns without waiting; Wait returns the result.
// The trainer calls Start on every shard, computes its own rows, then calls
// Wait on each in order. A shard may keep the job's slices until Wait
// returns; the trainer does not touch them before that.
type Shard interface {
	Start(job *ShardJob) error
	Wait() (*ShardResult, error)
}

// ShardError reports a shard that failed during a step. The step was not
// lost: the trainer computed that shard's rows itself, and dropped the
// shard.
type ShardError struct {
	Shard int // index in the slice given to SetShards
	Err   error
}

func (e *ShardError) Error() string {
	return fmt.Sprintf("worker %d failed (%v); its rows were computed by the main worker", e.Shard+2, e.Err)
}

func (e *ShardError) Unwrap() error { return e.Err }

// SetShards makes every following Step split its batch between the trainer
// and shards: with K = len(shards)+1 workers, worker j gets rows
// [j·B/K, (j+1)·B/K), the trainer j = 0. Shards beyond B−1 get no rows. nil
// returns to training alone. A shard that fails is dropped (ShardErrors).
func (t *Trainer) SetShards(shards []Shard) {
	t.shards = append(t.shards[:0], shards...)
	t.shardIndex = t.shardIndex[:0]
	for i := range shards {
		t.shardIndex = append(t.shardIndex, i)
	}
}

// Workers is the number of workers the next step uses: the trainer and its
// live shards, at most the batch size.
func (t *Trainer) Workers() int { return min(len(t.shards)+1, t.Cfg.Batch) }

// ShardErrors returns and forgets the shard failures since the last call.
func (t *Trainer) ShardErrors() []*ShardError {
	e := t.shardErrs
	t.shardErrs = nil
	return e
}

// FlatParams appends every trainable number to dst, tensor after tensor in
// TrainableNames order, and returns the extended slice.
func (t *Trainer) FlatParams(dst []float32) []float32 {
	for _, g := range t.tensors {
		dst = append(dst, g.param...)
	}
	return dst
}

// setFlatParams copies p (as FlatParams lays it out) into the trainable tensors.
func (t *Trainer) setFlatParams(p []float32) error {
	if len(p) != t.TrainableParams() {
		return fmt.Errorf("train: shard job has %d parameters, this trainer has %d (configured differently?)", len(p), t.TrainableParams())
	}
	for _, g := range t.tensors {
		p = p[copy(g.param, p):]
	}
	return nil
}

// ShardGradient is the shard's side: it loads job.Params into the trainable
// tensors and computes the gradient and loss sum of the job's rows, writing
// the flat gradient into grad (len TrainableParams). The trainer must be
// built with the primary's configuration (method, LoRA config, seed) on the
// same base model; its samplers are not used and may be nil.
func (t *Trainer) ShardGradient(job *ShardJob, grad []float32) (lossSum float64, err error) {
	n := job.B * job.T
	switch {
	case job.B < 1 || job.B > t.acts.MaxB || job.T != t.Cfg.SeqLen:
		return 0, fmt.Errorf("train: shard job of %d×%d rows does not fit this trainer (%d×%d)", job.B, job.T, t.acts.MaxB, t.Cfg.SeqLen)
	case len(job.Inputs) != n || len(job.Targets) != n || len(job.Weights) != n:
		return 0, fmt.Errorf("train: shard job has %d inputs, %d targets, %d weights for %d×%d positions", len(job.Inputs), len(job.Targets), len(job.Weights), job.B, job.T)
	case len(grad) != t.TrainableParams():
		return 0, fmt.Errorf("train: gradient buffer of %d for %d parameters", len(grad), t.TrainableParams())
	}
	if err := t.setFlatParams(job.Params); err != nil {
		return 0, err
	}
	for _, g := range t.tensors {
		clear(g.grad)
	}
	lossSum, _, err = t.rowsGradient(job.Step, job.Row0, job.B, job.Inputs, job.Targets, job.Weights, job.WeightSum)
	if err != nil {
		return 0, err
	}
	for _, g := range t.tensors {
		grad = grad[copy(grad, g.grad):]
	}
	return lossSum, nil
}

// rowsGradient runs forward over B rows (the batch's rows row0…), and, when
// something trains, backward with loss denominator W, accumulating into the
// trainable tensors' gradients. It returns Σ w_n·ℓ_n over the rows, and
// their mean loss.
func (t *Trainer) rowsGradient(step, row0, B int, inputs, targets []int32, weights []float32, W float64) (sum, mean float64, err error) {
	T := t.Cfg.SeqLen
	if t.drop != nil {
		t.drop.begin(step, row0, B, T)
	}
	m := t.Model
	t.adaptive.repack() // a shard has just received P and λ
	mean, err = m.Forward(t.acts, inputs, targets, weights, B, T, t.dropout)
	if err != nil {
		return 0, 0, err
	}
	var w float64
	for _, x := range weights[:B*T] {
		w += float64(x)
	}
	if len(t.tensors) > 0 {
		t.acts.SetLossNormalizer(W)
		m.Backward(t.acts, inputs, targets, weights)
		t.adaptive.chain()
	}
	return mean * w, mean, nil
}

// shardRows is worker j's row range out of B rows shared by K workers.
func shardRows(j, K, B int) (lo, hi int) { return j * B / K, (j + 1) * B / K }

// batchGradient fills the trainable tensors' gradients with the gradient
// of the current batch's mean loss and returns that loss, using the shards
// for all but the first rows.
func (t *Trainer) batchGradient() (float64, error) {
	b := t.batch
	T := b.T
	var W float64
	for _, x := range b.Weights[:b.B*T] {
		W += float64(x)
	}
	K := t.Workers()
	type started struct {
		shard  int // index into t.shards
		lo, hi int
		ok     bool
	}
	var jobs []started
	if K > 1 {
		t.flat = t.FlatParams(t.flat[:0])
		for j := 1; j < K; j++ {
			lo, hi := shardRows(j, K, b.B)
			job := &ShardJob{Step: t.step, Row0: lo, B: hi - lo, T: T,
				Inputs: b.Inputs[lo*T : hi*T], Targets: b.Targets[lo*T : hi*T], Weights: b.Weights[lo*T : hi*T],
				WeightSum: W, Params: t.flat}
			err := t.shards[j-1].Start(job)
			if err != nil {
				t.shardFailed(j-1, err)
			}
			jobs = append(jobs, started{j - 1, lo, hi, err == nil})
		}
	}
	for _, g := range t.tensors {
		clear(g.grad)
	}
	_, hi := shardRows(0, K, b.B)
	lossSum, mean, err := t.rowsGradient(t.step, 0, hi, b.Inputs, b.Targets, b.Weights, W)
	if err != nil {
		for _, s := range jobs { // collect the answers so no shard stays mid-job
			if s.ok {
				t.shards[s.shard].Wait()
			}
		}
		return 0, err
	}
	var failed []started
	for _, s := range jobs {
		if !s.ok {
			failed = append(failed, s)
			continue
		}
		r, err := t.shards[s.shard].Wait()
		if err == nil && len(r.Grad) != t.TrainableParams() {
			err = fmt.Errorf("its gradient has %d numbers, not %d", len(r.Grad), t.TrainableParams())
		}
		if err != nil {
			t.shardFailed(s.shard, err)
			failed = append(failed, s)
			continue
		}
		lossSum += r.LossSum
		g := r.Grad
		for _, x := range t.tensors {
			for i, v := range g[:len(x.grad)] {
				x.grad[i] += v
			}
			g = g[len(x.grad):]
		}
	}
	// A failed shard's rows are computed here, so the step is the same.
	for _, s := range failed {
		l, _, err := t.rowsGradient(t.step, s.lo, s.hi-s.lo, b.Inputs[s.lo*T:], b.Targets[s.lo*T:], b.Weights[s.lo*T:], W)
		if err != nil {
			return 0, err
		}
		lossSum += l
	}
	t.dropFailedShards()
	if K == 1 || W == 0 {
		return mean, nil // alone: exactly Forward's loss, as before sharding existed
	}
	return lossSum / W, nil
}

func (t *Trainer) shardFailed(i int, err error) {
	t.shardErrs = append(t.shardErrs, &ShardError{Shard: t.shardIndex[i], Err: err})
	t.dead = append(t.dead, i)
}

func (t *Trainer) dropFailedShards() {
	if len(t.dead) == 0 {
		return
	}
	keep, idx := t.shards[:0], t.shardIndex[:0]
	for i, s := range t.shards {
		dead := false
		for _, d := range t.dead {
			dead = dead || d == i
		}
		if !dead {
			keep, idx = append(keep, s), append(idx, t.shardIndex[i])
		}
	}
	t.shards, t.shardIndex, t.dead = keep, idx, t.dead[:0]
}

// applyGradient checks the gradient in the trainable tensors, clips it and
// steps the optimiser. res.Step and res.LR are set by the caller.
func (t *Trainer) applyGradient(res *StepResult) error {
	cfg := t.Cfg
	var sq float64
	for _, g := range t.tensors {
		for _, v := range g.grad {
			sq += float64(v) * float64(v)
		}
	}
	res.GradNorm = math.Sqrt(sq)
	if math.IsNaN(res.GradNorm) || math.IsInf(res.GradNorm, 0) {
		return &NonFiniteError{Step: t.step + 1, What: "gradient norm", Value: res.GradNorm}
	}
	if cfg.GradClip > 0 && res.GradNorm > cfg.GradClip {
		s := float32(cfg.GradClip / res.GradNorm)
		for _, g := range t.tensors {
			for i := range g.grad {
				g.grad[i] *= s
			}
		}
	}
	t.opt.Step(res.LR, cfg.WeightDecay)
	return nil
}
