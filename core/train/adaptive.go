package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/lora-playground/lora-playground/core/adalora"
	"github.com/lora-playground/lora-playground/core/lora"
	"github.com/lora-playground/lora-playground/core/safetensors"
)

// adaptiveRun is the AdaLoRA side of a MethodAdaptive run: the allocator
// and where the λ tensors' AdamW moments live, so that pruning can clear
// them.
type adaptiveRun struct {
	alloc   *adalora.Allocator
	lambdas []int // index of each adapter's λ in the optimiser's states
}

// attachAdaptive attaches LoRA adapters of rank r⁽⁰⁾ and wraps them as
// adaptive ones. The LoRA adapters' A and B are not trained directly: A is
// Q, and B is recomputed from P and λ after every step.
func (t *Trainer) attachAdaptive() error {
	m, cfg := t.Model, t.Cfg
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6164616c))
	if err := m.AddLoRA(cfg.Adaptive.LoRA(), rng); err != nil {
		return err
	}
	var las []*lora.Adapter
	m.EachAdapter(func(_, _ int, a *lora.Adapter) { las = append(las, a) })
	al, err := adalora.NewAllocator(cfg.Adaptive, cfg.Steps, las, rng)
	if err != nil {
		m.Adapters = nil
		return err
	}
	t.adaptive = &adaptiveRun{alloc: al}
	return nil
}

// register hands P, λ and Q of every adapter to the optimiser (all with
// weight decay, as LoRA's A and B).
func (r *adaptiveRun) register(t *Trainer) {
	for _, a := range r.alloc.Adapters {
		r.lambdas = append(r.lambdas, len(t.opt.states)+1)
		t.opt.Add(a.P, a.DP, true)
		t.opt.Add(a.Lambda, a.DLambda, true)
		t.opt.Add(a.Q, a.DQ, true)
		t.tensors = append(t.tensors,
			gradTensor{a.Path + ".adalora_P", a.P, a.DP},
			gradTensor{a.Path + ".adalora_lambda", a.Lambda, a.DLambda},
			gradTensor{a.Path + ".adalora_Q", a.Q, a.DQ})
	}
}

// chain turns the gradient the backward pass left in every driven LoRA
// adapter's B into gradients of P and λ (on a shard too, before its
// gradient travels).
func (r *adaptiveRun) chain() {
	if r == nil {
		return
	}
	r.alloc.ChainB()
}

// gradient runs on the whole batch's gradient before clipping: the
// orthogonality penalty, cleared gradients of pruned λ, and the importance
// update. step is the number of steps applied before this one.
func (r *adaptiveRun) gradient(step int) {
	if r == nil {
		return
	}
	r.alloc.AfterBackward(step)
}

// afterUpdate prunes as the budget schedule says and clears the AdamW
// moments of every pruned λ, so that no leftover momentum moves it.
func (r *adaptiveRun) afterUpdate(t *Trainer) {
	if r == nil {
		return
	}
	r.alloc.AfterUpdate(t.step)
	for k, a := range r.alloc.Adapters {
		s := &t.opt.states[r.lambdas[k]]
		for i, kept := range a.Kept {
			if !kept {
				s.m[i], s.v[i] = 0, 0
			}
		}
	}
}

// Adaptive returns the rank allocator of a MethodAdaptive run (its adapters,
// current ranks and rank history), or nil for other methods.
func (t *Trainer) Adaptive() *adalora.Allocator {
	if t.adaptive == nil {
		return nil
	}
	return t.adaptive.alloc
}

// save adds the allocator's state (kept masks, smoothed importance, rank
// history) to a State file; nothing for other methods (r is nil).
func (r *adaptiveRun) save(f *safetensors.File) {
	if r == nil {
		return
	}
	for _, st := range r.alloc.StateTensors() {
		f.Tensors = append(f.Tensors, safetensors.F32(st.Name, []int{len(st.Data)}, st.Data))
	}
	f.Metadata["adaptive_history"] = r.alloc.HistoryJSON()
}

// restore reads back what save wrote, through get (which checks lengths
// and finiteness), and returns how many tensors that was. It changes the
// allocator only when everything it needs is there.
func (r *adaptiveRun) restore(f *safetensors.File, get func(string, int) ([]float32, error)) (int, error) {
	if r == nil {
		return 0, nil
	}
	sts := r.alloc.StateTensors()
	values := make([][]float32, len(sts))
	for i, st := range sts {
		v, err := get(st.Name, len(st.Data))
		if err != nil {
			return 0, err
		}
		values[i] = v
	}
	h, ok := f.Metadata["adaptive_history"]
	if !ok {
		return 0, fmt.Errorf("train state: the adaptive-rank history is missing")
	}
	return len(sts), r.alloc.RestoreState(values, h)
}

// repack recomputes every B = P·diag(λ) after P and λ were overwritten.
func (r *adaptiveRun) repack() {
	if r == nil {
		return
	}
	for _, a := range r.alloc.Adapters {
		a.Pack()
	}
}
