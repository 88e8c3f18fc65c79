package train

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"time"

	"github.com/lora-playground/lora-playground/core/data"
)

// Data-parallel training
//
// The loss of a batch is a weighted mean over its rows n (weights w mask
// prompts and padding):
//
//	L(θ) = Σ_n w_n·ℓ_n(θ) / W,   W = Σ_n w_n
//
// so its gradient is a sum over any partition of the rows into K workers k:
//
//	∇L = Σ_k g_k,   g_k = ∇( Σ_{n∈k} w_n·ℓ_n / W )
//
// Each worker needs only θ, its rows and W. A Trainer with shards
// (SetShards) is worker 0; shard j (1..K−1) gets a contiguous range of
// rows after worker j−1's: [j·B/K, (j+1)·B/K) while the workers are
// equally fast, fewer for a slower one (rowcut.go).
//
// Every worker holds a replica of the whole training state (parameters,
// AdamW moments, step count) and applies every update itself, so only
// gradients travel, and they travel both ways at once:
//
//  1. A shard that joins gets the state once (ShardJob.Params, M, V) with
//     its rows of the next step.
//  2. Each worker computes its rows' gradient. The trainer then sends each
//     shard its own gradient together with the shard's rows of the NEXT
//     step (the batch does not depend on θ, so the trainer samples it one
//     step ahead); each shard sends the trainer its gradient.
//  3. Every worker adds the K gradients in worker order (g_0 + g_1 + …),
//     clips and steps AdamW: the same float32 operations on the same
//     numbers, so the replicas stay bit-identical. With more than one shard
//     the trainer forwards the shards' gradients to each other.
//  4. A shard that has its next rows starts on them at once.
//
// So a step costs each worker its own rows plus one message each way,
// sent at the same time, and the next step's rows are already there: a
// worker waits for the other's one-way message, never a round trip (the
// job, then its answer) as when the parameters travelled every step. The
// combined gradient is the
// single-worker gradient up to float32 summation order (each row's dlogits
// are bit-identical; see model.Activations.SetLossNormalizer), and with
// dropout the masks are the same too (dropoutSource).
//
// Safety: each result carries a checksum of the parameters the shard
// computed with. A shard whose checksum differs from the trainer's (its
// replica drifted, or the trainer's parameters were changed outside Step)
// is resynchronised, and a shard that fails is dropped (ShardErrors); in
// both cases the trainer computes that shard's rows itself, so the step is
// the same and nothing is lost. The replicas cannot follow AdaLoRA's
// pruning (MethodAdaptive): its shards get the whole state every step.
//
// For LoRA this is cheap: r=8 on q,v of a 2-layer model is ~4K numbers,
// 16 KB each way per shard and step.

// ShardJob is one message from the trainer to a shard: any of a state to
// adopt, other workers' gradients of a step, and the shard's rows of a
// step, in that order.
type ShardJob struct {
	ID      int // increasing, unique in the process (jobIDs); a ShardResult names the job that brought its rows
	K, Slot int // K workers; the shard is worker Slot (1..K−1)

	// The trainer's state before step Step, when Params is set: the shard
	// adopts it and forgets anything pending.
	Step         int
	Params, M, V []float32 // every trainable number and its AdamW moments, flat in TrainableNames order

	// Gradients of step GradStep: Slots is a bitmask of workers, Grads
	// their flat gradients back to back in worker order.
	GradStep int
	Slots    uint32
	Grads    []float32

	// The shard's rows of step RowsStep, when B > 0.
	RowsStep  int
	Row0      int     // index in the whole batch of the first row; with RowsStep it keys the dropout masks
	B, T      int     // rows, positions per row
	Inputs    []int32 // (B,T)
	Targets   []int32 // (B,T)
	Weights   []float32
	WeightSum float64 // W: Σ of the whole batch's weights, the loss's denominator
}

// ShardResult is a shard's gradient for one step.
type ShardResult struct {
	ID      int    // the job that brought the rows
	Step    int    // the step they belong to
	Check   uint64 // ParamsChecksum of the parameters the gradient was computed with
	LossSum float64
	Grad    []float32     // g_k, flat in TrainableNames order
	Elapsed time.Duration // the shard's time for its rows (0: not measured); the trainer cuts rows by it (rowcut.go)
}

// A Shard is another worker, e.g. another Web Worker. Send posts a job and
// returns without waiting; it must not keep the job or its slices. Wait returns
// the shard's next result, in order; the trainer skips results of jobs it
// has since replaced. An error from either means the shard is gone.
type Shard interface {
	Send(job *ShardJob) error
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

// shardLink is the trainer's view of one shard.
type shardLink struct {
	Shard
	index  int       // in the slice given to SetShards
	synced bool      // the shard's replica follows ours
	k      int       // the worker count its rows were cut for
	sent   bool      // any job
	rowsID int       // the job that brought the rows of step rowsStep (0: none)
	rowsOf int       // rowsStep of that job
	lo, hi int       // the rows of that step it was sent
	want   int       // the job whose result the current step awaits
	job    ShardJob  // the job being sent (reused: Send keeps nothing)
	relay  []float32 // the other shards' gradients for it (K > 2)
	time   rowTimer  // its time per row (rowcut.go)
	dead   bool
}

// ShardStats is what the shards cost since the last call to ShardStats.
type ShardStats struct {
	Steps   int           // data-parallel steps taken
	Own     time.Duration // the trainer's own rows
	Wait    time.Duration // waiting for the shards after its own rows
	Resyncs int           // shards sent the whole state again after joining
	Rows    []int         // rows per worker in the last data-parallel step (rowcut.go)
	Uneven  int           // steps whose rows were not cut evenly
	Changes int           // steps cut otherwise than the last data-parallel step with as many workers
}

// SetShards makes every following Step split its batch between the trainer
// and shards: with K = len(shards)+1 workers, worker j (the trainer j = 0)
// gets the j-th of K contiguous ranges of rows, cut by the workers'
// measured speed (rowcut.go), evenly until it is known. Shards beyond B−1
// get no rows. nil
// returns to training alone. Each shard is sent the whole state before its
// first rows. A shard that fails is dropped (ShardErrors).
//
// While it has shards, the trainer keeps its model's transposes of the
// frozen weights (model.SetTransposeCache): with a share of the batch per
// worker, a transpose per weight per step is a larger part of a step, and
// every worker would make it. It turns the cache off again with the last
// shard, unless it was on before.
func (t *Trainer) SetShards(shards []Shard) {
	t.links = t.links[:0]
	for i, s := range shards {
		t.links = append(t.links, &shardLink{Shard: s, index: i})
	}
	if len(shards) > 0 && !t.Model.TransposeCache() {
		t.Model.SetTransposeCache(true)
		t.shardCache = true
	}
	if len(shards) == 0 {
		t.dropShardCache()
	}
}

// dropShardCache turns the transpose cache off when SetShards turned it on,
// for a trainer left without shards.
func (t *Trainer) dropShardCache() {
	if t.shardCache {
		t.Model.SetTransposeCache(false)
		t.shardCache = false
	}
}

// Workers is the number of workers the next step uses: the trainer and its
// live shards, at most the batch size.
func (t *Trainer) Workers() int { return min(len(t.links)+1, t.Cfg.Batch) }

// Replicas returns the live shards whose replica follows the trainer's
// state, in SetShards order: each has been sent every message of the steps
// taken so far, so once it has handled them its parameters are the
// trainer's (an evaluation can use them). None under AdaLoRA, whose shards
// do not follow.
func (t *Trainer) Replicas() []Shard {
	var out []Shard
	for _, l := range t.links {
		if l.synced && l.sent && !l.dead && t.adaptive == nil {
			out = append(out, l.Shard)
		}
	}
	return out
}

// ShardErrors returns and forgets the shard failures since the last call.
func (t *Trainer) ShardErrors() []*ShardError {
	e := t.shardErrs
	t.shardErrs = nil
	return e
}

// ShardStats returns and resets the data-parallel timings.
func (t *Trainer) ShardStats() ShardStats {
	s := t.stats
	t.stats = ShardStats{}
	if s.Steps > 0 {
		for j := range len(t.lastCut) - 1 {
			s.Rows = append(s.Rows, t.lastCut[j+1]-t.lastCut[j])
		}
	}
	return s
}

// unsyncShards makes every shard get the whole state with its next rows:
// after anything that changes the state outside the shards' view.
func (t *Trainer) unsyncShards() {
	for _, l := range t.links {
		l.synced = false
	}
}

// FlatParams appends every trainable number to dst, tensor after tensor in
// TrainableNames order, and returns the extended slice.
func (t *Trainer) FlatParams(dst []float32) []float32 {
	for _, g := range t.tensors {
		dst = append(dst, g.param...)
	}
	return dst
}

// ParamsChecksum hashes every trainable number's bits (a shard proves with
// it that its replica matches).
func (t *Trainer) ParamsChecksum() uint64 {
	h := uint64(len(t.tensors))
	for _, g := range t.tensors {
		h = checksum(h, g.param)
	}
	return h
}

// checksum folds v into h: four independent lanes of multiply-xor, so the
// loop is not one long chain of dependent multiplications.
func checksum(h uint64, v []float32) uint64 {
	const k = 0x9e3779b97f4a7c15
	a, b, c, d := h, h^1, h^2, h^3
	i := 0
	for ; i+4 <= len(v); i += 4 {
		a = (a ^ uint64(math.Float32bits(v[i]))) * k
		b = (b ^ uint64(math.Float32bits(v[i+1]))) * k
		c = (c ^ uint64(math.Float32bits(v[i+2]))) * k
		d = (d ^ uint64(math.Float32bits(v[i+3]))) * k
	}
	for ; i < len(v); i++ {
		a = (a ^ uint64(math.Float32bits(v[i]))) * k
	}
	return (a ^ b>>1 ^ c>>2 ^ d>>3 ^ uint64(len(v))) * k
}

// flatMoments appends AdamW's m or v (which = 0, 1) like FlatParams.
func (t *Trainer) flatMoments(dst []float32, which int) []float32 {
	m, v := t.opt.Moments()
	for _, x := range [][][]float32{m, v}[which] {
		dst = append(dst, x...)
	}
	return dst
}

// adoptState loads a ShardJob's state.
func (t *Trainer) adoptState(job *ShardJob) error {
	P := t.TrainableParams()
	if len(job.Params) != P || len(job.M) != P || len(job.V) != P {
		return fmt.Errorf("train: shard state of %d/%d/%d numbers, this trainer has %d (configured differently?)", len(job.Params), len(job.M), len(job.V), P)
	}
	if job.Step < 0 {
		return fmt.Errorf("train: shard state at step %d", job.Step)
	}
	p, mf, vf := job.Params, job.M, job.V
	m, v := t.opt.Moments()
	for i, g := range t.tensors {
		p = p[copy(g.param, p):]
		mf = mf[copy(m[i], mf):]
		vf = vf[copy(v[i], vf):]
	}
	t.opt.T = job.Step
	t.step = job.Step
	t.halted = nil
	return nil
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

// gradientInto computes the gradient of rows alone into grad (flat, len
// TrainableParams) and returns their loss sum.
func (t *Trainer) gradientInto(grad []float32, step, row0, B int, inputs, targets []int32, weights []float32, W float64) (float64, error) {
	for _, g := range t.tensors {
		clear(g.grad)
	}
	l, _, err := t.rowsGradient(step, row0, B, inputs, targets, weights, W)
	if err != nil {
		return 0, err
	}
	for _, g := range t.tensors {
		grad = grad[copy(grad, g.grad):]
	}
	return l, nil
}

// sumParts sets the trainable tensors' gradients to parts[0] + parts[1] +
// …, added in that order: the trainer and every shard run exactly this, so
// their sums are bit-identical.
func (t *Trainer) sumParts(parts [][]float32) {
	off := 0
	for _, g := range t.tensors {
		n := len(g.grad)
		copy(g.grad, parts[0][off:off+n])
		for _, p := range parts[1:] {
			for i, v := range p[off : off+n] {
				g.grad[i] += v
			}
		}
		off += n
	}
}

// parts returns K flat gradient buffers.
func (t *Trainer) partBuffers(K int) [][]float32 {
	P := t.TrainableParams()
	for len(t.parts) < K {
		t.parts = append(t.parts, make([]float32, P))
	}
	return t.parts[:K]
}

func batchWeight(b *data.Batch) float64 {
	var W float64
	for _, x := range b.Weights[:b.B*b.T] {
		W += float64(x)
	}
	return W
}

// rowsOf fills job's rows with rows [lo, hi) of batch b (of step).
func rowsOf(job *ShardJob, b *data.Batch, step, lo, hi int, W float64) {
	T := b.T
	job.RowsStep, job.Row0, job.B, job.T, job.WeightSum = step, lo, hi-lo, T, W
	job.Inputs, job.Targets, job.Weights = b.Inputs[lo*T:hi*T], b.Targets[lo*T:hi*T], b.Weights[lo*T:hi*T]
}

// jobIDs numbers shard jobs. Unique and increasing across trainers, so
// that a shard handed from one trainer to the next (a new run) cannot
// answer the new one with a result meant for the old: results of older
// jobs are skipped.
var jobIDs atomic.Int32

// newJob returns l's job, cleared, for worker slot of K. It is reused for
// every job to l (a step allocates nothing): Send must not keep it.
func (l *shardLink) newJob(K, slot int) *ShardJob {
	l.job = ShardJob{K: K, Slot: slot}
	return &l.job
}

// send posts job to shard l, numbering it; a failure drops the shard.
func (t *Trainer) send(l *shardLink, job *ShardJob) bool {
	if l.dead {
		return false
	}
	l.sent = true
	job.ID = int(jobIDs.Add(1))
	if err := l.Send(job); err != nil {
		t.shardFailed(l, err)
		return false
	}
	return true
}

// batchGradient fills the trainable tensors' gradients with the gradient
// of the current batch's mean loss and returns that loss, using the shards
// for all but the first rows.
func (t *Trainer) batchGradient() (float64, error) {
	b := t.batch
	W := batchWeight(b)
	K := t.Workers()
	if K == 1 {
		for _, g := range t.tensors {
			clear(g.grad)
		}
		_, mean, err := t.rowsGradient(t.step, 0, b.B, b.Inputs, b.Targets, b.Weights, W)
		return mean, err // alone: exactly Forward's loss, as before sharding existed
	}
	links := t.links[:K-1]
	// AdaLoRA prunes between steps, which the replicas do not: its shards
	// get the whole state with every step's rows instead.
	follow := t.adaptive == nil
	if !follow {
		t.unsyncShards()
	}
	// The cut of this step's rows (rowcut.go): decided when its first
	// rows went out, at the end of the last step.
	t.lastCut = append(t.lastCut[:0], t.cutFor(t.step, K, b.B)...)
	cut := t.lastCut // (t.cut changes when the next step's rows go out)
	// Shards without this step's rows (new, or cut for another K) get
	// them now, with the whole state unless their replica follows ours.
	// A shard holding other rows of this step has computed them; the
	// state makes it forget them. That happens when K changed, and when a
	// shard was dropped and the ones after it moved down a slot while K
	// stayed (a spare shard, beyond B−1, joined).
	for j, l := range links {
		lo, hi := cut[j+1], cut[j+2]
		mine := l.rowsID != 0 && l.rowsOf == t.step
		if l.synced && l.k == K && mine && l.lo == lo && l.hi == hi {
			continue
		}
		job := l.newJob(K, j+1)
		if !l.synced || l.k != K || mine {
			job.Step, job.Params = t.step, t.FlatParams(t.flat[:0])
			job.M, job.V = t.flatMoments(nil, 0), t.flatMoments(nil, 1)
			t.flat = job.Params
			if l.sent && follow {
				t.stats.Resyncs++
			}
		}
		rowsOf(job, b, t.step, lo, hi, W)
		if t.send(l, job) {
			l.synced, l.k, l.rowsID, l.rowsOf, l.lo, l.hi = true, K, job.ID, t.step, lo, hi
		}
	}
	for _, l := range links {
		l.want = l.rowsID // the job whose result answers this step
	}

	start := time.Now()
	parts := t.partBuffers(K)
	lossSum, err := t.gradientInto(parts[0], t.step, 0, cut[1], b.Inputs, b.Targets, b.Weights, W)
	if err != nil {
		t.abandonShards(links)
		return 0, err
	}
	own := time.Now()
	t.ownTime.add(own.Sub(start), cut[1])

	// Our gradient, and the next step's rows, to every shard.
	if follow {
		t.trainData.Next(t.next)
		t.haveNext = true
	}
	Wn := batchWeight(t.next)
	var next []int
	if follow {
		next = t.cutFor(t.step+1, K, t.next.B)
	}
	for j, l := range links {
		if !follow {
			break
		}
		job := l.newJob(K, j+1)
		job.GradStep, job.Slots, job.Grads = t.step, 1, parts[0]
		rowsOf(job, t.next, t.step+1, next[j+1], next[j+2], Wn)
		if t.send(l, job) {
			l.rowsID, l.rowsOf, l.lo, l.hi = job.ID, t.step+1, next[j+1], next[j+2]
		}
	}
	posted := time.Now()

	// Their gradients, in order; a shard that fails or drifted has its
	// rows computed here. (The checksum is taken while they are on their
	// way.)
	check := t.ParamsChecksum()
	for j, l := range links {
		r, err := t.await(l, l.want)
		if err == nil && r.Check != check {
			l.synced = false // resent the state with its next rows
			err = errDrifted
		}
		if err == nil {
			copy(parts[j+1], r.Grad)
			lossSum += r.LossSum
			l.time.add(r.Elapsed, cut[j+2]-cut[j+1])
			continue
		}
		if err != errDrifted {
			t.shardFailed(l, err)
		}
		lo, hi := cut[j+1], cut[j+2]
		T := b.T
		l2, err := t.gradientInto(parts[j+1], t.step, lo, hi-lo, b.Inputs[lo*T:], b.Targets[lo*T:], b.Weights[lo*T:], W)
		if err != nil {
			t.abandonShards(links)
			return 0, err
		}
		lossSum += l2
	}
	// With more than one shard, each needs the others' gradients too.
	if K > 2 && follow {
		for j, l := range links {
			if !l.synced || l.dead {
				continue
			}
			job := l.newJob(K, j+1)
			job.GradStep, job.Grads = t.step, l.relay[:0]
			for i := 1; i < K; i++ {
				if i != j+1 {
					job.Slots |= 1 << i
					job.Grads = append(job.Grads, parts[i]...)
				}
			}
			l.relay = job.Grads
			t.send(l, job)
		}
	}
	t.sumParts(parts)
	t.stats.Steps++
	t.countCut()
	t.stats.Own += own.Sub(start)
	t.stats.Wait += time.Since(posted)
	t.dropFailedShards()
	if W == 0 {
		return 0, nil
	}
	return lossSum / W, nil
}

var errDrifted = errors.New("its parameters differ from the trainer's")

// await returns shard l's result for job id, skipping results of jobs
// since replaced.
func (t *Trainer) await(l *shardLink, id int) (*ShardResult, error) {
	if l.dead {
		return nil, errors.New("it was dropped")
	}
	for {
		r, err := l.Wait()
		if err != nil {
			return nil, err
		}
		if r.ID > id || len(r.Grad) != t.TrainableParams() {
			return nil, fmt.Errorf("a result for job %d with %d numbers, while waiting for job %d with %d", r.ID, len(r.Grad), id, t.TrainableParams())
		}
		if r.ID == id {
			return r, nil
		}
	}
}

// abandonShards is for a step that failed half-way: no shard can follow
// it, so all are resynchronised before their next rows.
func (t *Trainer) abandonShards(links []*shardLink) {
	for _, l := range links {
		l.synced = false
	}
	t.dropFailedShards()
}

func (t *Trainer) shardFailed(l *shardLink, err error) {
	if !l.dead {
		l.dead = true
		t.shardErrs = append(t.shardErrs, &ShardError{Shard: l.index, Err: err})
	}
}

func (t *Trainer) dropFailedShards() {
	t.links = slices.DeleteFunc(t.links, func(l *shardLink) bool { return l.dead })
	if len(t.links) == 0 { // the last shard failed
		t.dropShardCache()
	}
}

// ShardHandle is a shard's side: it takes a job from the trainer and
// returns the gradient of the shard's rows when it can compute them (nil
// when it waits for more). The trainer t must be built with the primary's
// configuration (method, LoRA, optimiser, schedule, seed) on the same base
// model; its samplers are not used and may be nil. The result's slices are
// reused by the next call.
func (t *Trainer) ShardHandle(job *ShardJob) (*ShardResult, error) {
	r := &t.replica
	P := t.TrainableParams()
	if job.Params != nil {
		if job.K < 2 || job.K > 32 || job.Slot < 1 || job.Slot >= job.K {
			return nil, fmt.Errorf("train: shard job for worker %d of %d", job.Slot, job.K)
		}
		if err := t.adoptState(job); err != nil {
			return nil, err
		}
		t.Model.SetTransposeCache(true) // a share of the batch (see SetShards)
		r.k, r.slot, r.pending, r.have, r.haveRows = job.K, job.Slot, false, 0, false
	}
	if r.k == 0 {
		return nil, errors.New("train: a shard job before the trainer's state")
	}
	if job.K != r.k || job.Slot != r.slot {
		return nil, fmt.Errorf("train: shard job for worker %d of %d, this shard is %d of %d", job.Slot, job.K, r.slot, r.k)
	}
	parts := t.partBuffers(r.k)
	if job.Slots != 0 {
		if !r.pending || job.GradStep != t.step {
			return nil, fmt.Errorf("train: gradients of step %d, this shard is at step %d (computed: %v)", job.GradStep, t.step, r.pending)
		}
		g := job.Grads
		for i := 0; i < r.k; i++ {
			if job.Slots&(1<<i) == 0 {
				continue
			}
			if i == r.slot || r.have&(1<<i) != 0 || len(g) < P {
				return nil, fmt.Errorf("train: gradients for workers %b: not what this shard (%d of %d, has %b) needs", job.Slots, r.slot, r.k, r.have)
			}
			g = g[copy(parts[i], g):]
		}
		if len(g) != 0 {
			return nil, fmt.Errorf("train: %d gradient numbers too many", len(g))
		}
		r.have |= job.Slots
		if r.have == (1<<r.k-1)&^(1<<r.slot) {
			// Every gradient is here: the trainer's update, bit for bit.
			t.sumParts(parts)
			res := StepResult{LR: LearningRate(t.step, t.Cfg.WarmupSteps, t.Cfg.Steps, t.Cfg.LR, t.Cfg.MinLRFrac)}
			if err := t.applyGradient(&res); err != nil {
				return nil, err
			}
			t.step++
			r.pending, r.have = false, 0
		}
	}
	if job.B > 0 {
		n := job.B * job.T
		switch {
		case job.B > t.acts.MaxB || job.T != t.Cfg.SeqLen:
			return nil, fmt.Errorf("train: shard job of %d×%d rows does not fit this trainer (%d×%d)", job.B, job.T, t.acts.MaxB, t.Cfg.SeqLen)
		case len(job.Inputs) != n || len(job.Targets) != n || len(job.Weights) != n:
			return nil, fmt.Errorf("train: shard job has %d inputs, %d targets, %d weights for %d×%d positions", len(job.Inputs), len(job.Targets), len(job.Weights), job.B, job.T)
		}
		rw := &r.rows
		rw.ID, rw.RowsStep, rw.Row0, rw.B, rw.T, rw.WeightSum = job.ID, job.RowsStep, job.Row0, job.B, job.T, job.WeightSum
		rw.Inputs = append(rw.Inputs[:0], job.Inputs...)
		rw.Targets = append(rw.Targets[:0], job.Targets...)
		rw.Weights = append(rw.Weights[:0], job.Weights...)
		r.haveRows = true
	}
	if r.pending || !r.haveRows || r.rows.RowsStep != t.step {
		return nil, nil
	}
	rw := &r.rows
	r.haveRows = false
	res := &r.result
	res.ID, res.Step, res.Check, res.Grad = rw.ID, t.step, t.ParamsChecksum(), parts[r.slot]
	start := time.Now()
	l, err := t.gradientInto(res.Grad, t.step, rw.Row0, rw.B, rw.Inputs, rw.Targets, rw.Weights, rw.WeightSum)
	if err != nil {
		return nil, err
	}
	res.LossSum, res.Elapsed = l, time.Since(start)
	r.pending = true
	return res, nil
}

// replica is a shard's side of data-parallel training.
type replica struct {
	k, slot  int
	pending  bool   // the gradient of step t.step is computed and sent; waiting for the others'
	have     uint32 // workers whose gradients of step t.step have come
	haveRows bool
	rows     ShardJob // the rows to compute (copied)
	result   ShardResult
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
