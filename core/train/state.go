package train

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/lora-playground/lora-playground/core/safetensors"
)

// State is everything needed to continue a run later: the trainable
// tensors, their AdamW moments and the step count. It is what the browser
// saves to IndexedDB and what pretraining checkpoints hold. Frozen weights
// are not part of it: they come from the base model.
//
// Resuming is bit-exact: batches are replayed from the seed, and dropout
// masks are a function of (seed, step, row, position), not of a stream.
func (t *Trainer) State() ([]byte, error) {
	f := &safetensors.File{Metadata: map[string]string{
		"step":   strconv.Itoa(t.step),
		"method": string(t.Cfg.Method),
	}}
	m, v := t.opt.Moments()
	for i, g := range t.tensors {
		f.Tensors = append(f.Tensors,
			safetensors.F32(g.name, []int{len(g.param)}, g.param),
			safetensors.F32(g.name+".adam_m", []int{len(g.param)}, m[i]),
			safetensors.F32(g.name+".adam_v", []int{len(g.param)}, v[i]))
	}
	t.adaptive.save(f)
	return safetensors.Encode(f)
}

// Restore loads a State into a trainer built with the same model and
// configuration, and advances the batch sampler to the saved step so the
// run continues as if it had never stopped.
func (t *Trainer) Restore(b []byte) error {
	f, err := safetensors.Parse(b)
	if err != nil {
		return fmt.Errorf("train state: %v", err)
	}
	if f.Metadata["method"] != string(t.Cfg.Method) {
		return fmt.Errorf("train state: saved for method %q, this run uses %q", f.Metadata["method"], t.Cfg.Method)
	}
	step, err := strconv.Atoi(f.Metadata["step"])
	if err != nil || step < 0 {
		return fmt.Errorf("train state: bad step %q", f.Metadata["step"])
	}
	get := func(name string, n int) ([]float32, error) {
		tt, ok := f.Tensor(name)
		if !ok {
			return nil, fmt.Errorf("train state: tensor %s is missing (was it saved for another configuration?)", name)
		}
		v, err := tt.Float32s()
		if err != nil {
			return nil, err
		}
		if len(v) != n {
			return nil, fmt.Errorf("train state: tensor %s has %d values, this run needs %d", name, len(v), n)
		}
		for i, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("train state: tensor %s has a non-finite value at %d", name, i)
			}
		}
		return v, nil
	}
	params := make([][]float32, len(t.tensors))
	ms := make([][]float32, len(t.tensors))
	vs := make([][]float32, len(t.tensors))
	for i, g := range t.tensors {
		if params[i], err = get(g.name, len(g.param)); err != nil {
			return err
		}
		if ms[i], err = get(g.name+".adam_m", len(g.param)); err != nil {
			return err
		}
		if vs[i], err = get(g.name+".adam_v", len(g.param)); err != nil {
			return err
		}
	}
	extra, err := t.adaptive.restore(f, get)
	if err != nil {
		return err
	}
	if want := 3*len(t.tensors) + extra; len(f.Tensors) != want {
		return fmt.Errorf("train state: %d tensors, this run expects %d", len(f.Tensors), want)
	}
	// Everything checked: only now modify the trainer.
	for i, g := range t.tensors {
		copy(g.param, params[i])
	}
	t.opt.SetMoments(step, ms, vs)
	t.adaptive.repack()
	for t.step < step {
		if t.haveNext { // batch t.step was sampled ahead for the shards
			t.haveNext = false
		} else {
			t.trainData.Next(t.batch)
		}
		t.step++
	}
	if t.step > step {
		return fmt.Errorf("train state: saved at step %d but this trainer is already at step %d", step, t.step)
	}
	t.halted = nil
	t.unsyncShards()
	return nil
}

// TrainableNames lists the trainable tensors in optimiser order.
func (t *Trainer) TrainableNames() []string {
	var s []string
	for _, g := range t.tensors {
		s = append(s, g.name)
	}
	return slices.Clip(s)
}
