package model

import "github.com/lora-playground/lora-playground/core/kernels"

// Frozen weights in both layouts.
//
// A linear layer reads its weight W (Out,In) in both layouts during a
// training step: the forward product X·Wᵀ and the backward product dY·W.
// Each kernel path wants one of them (the pure-Go tile wants the operand
// contiguous along the inner dimension, the SIMD kernel wants it along
// its rows), so one of the two products used to transpose W every step.
// A frozen W — every matrix under LoRA, BitFit or none — does not change
// while a run trains, so the model keeps its transpose Wᵀ (In,Out) and
// both products read whichever layout they want (kernels.MatMulNTBoth).
//
// The cache is off unless SetTransposeCache turns it on, because it costs
// more than it saves here: one more copy of the frozen matrices (for the
// reference configuration 0.4M floats, +1.5 MiB of wasm memory, a tenth of a
// LoRA run's) against one transpose per weight per step, (n·k moves next to
// the product's m·n·k multiply-adds with m = B·T = 512 rows), measured at
// 1–3% of a forward product in the SIMD build and 0–4% of a backward one in
// pure Go — under 1% of a step (core/kernels TestKernelAB). It pays when
// rows per step are few: a data-parallel worker's share of the batch, for
// which core/train turns it on (a step of 4 rows of the reference
// configuration, SIMD build, pinned to one core: 14.7 ms with it against
// 15.0 ms without).
//
// When on, it applies only while the model is being trained (G non-nil)
// and only to weights whose gradient slot is nil. It is dropped when the
// gradient set changes (a new Trainer), when Merge or Unmerge change W,
// and by WeightsChanged, which code that writes W in place must call.
type transposeCache struct {
	on        bool
	g         *Weights                // the gradient set the entries were made under
	valid     [][NumModules]bool      // per layer and module
	lin       [][NumModules][]float32 // Wᵀ (In,Out)
	headValid bool
	head      []float32 // wteᵀ (C,V), the tied output head's
}

// SetTransposeCache turns the cache of frozen weights' transposes on or
// off (the default; turning it off frees it). Results are the same either
// way, bit for bit.
func (m *Model) SetTransposeCache(on bool) {
	m.tc.on = on
	if !on {
		m.tc = transposeCache{}
	}
}

// TransposeCache reports whether the cache of frozen weights' transposes
// is on.
func (m *Model) TransposeCache() bool { return m.tc.on }

// WeightsChanged tells the model that W was written in place: cached
// transposes are remade from the new values when next needed. Merge and
// Unmerge call it; a Trainer's updates touch only trained tensors, which
// are never cached.
func (m *Model) WeightsChanged() {
	for l := range m.tc.valid {
		m.tc.valid[l] = [NumModules]bool{}
	}
	m.tc.headValid = false
}

// sync drops every entry when the gradient set is not the one they were
// made under: a new Trainer may train what the old one froze.
func (tc *transposeCache) sync(m *Model) {
	if tc.g != m.G || len(tc.valid) != m.Config.NLayer {
		tc.g = m.G
		tc.valid = make([][NumModules]bool, m.Config.NLayer)
		if len(tc.lin) != m.Config.NLayer {
			tc.lin = make([][NumModules][]float32, m.Config.NLayer)
		}
		tc.headValid = false
	}
}

// frozenT returns Wᵀ of module mod of layer l when that weight is frozen in
// a model being trained, making it if needed, else nil.
func (m *Model) frozenT(l, mod int) []float32 {
	if !m.tc.on || m.G == nil || m.G.Blocks[l].Lin[mod].W != nil {
		return nil
	}
	tc := &m.tc
	tc.sync(m)
	if !tc.valid[l][mod] {
		out, in := m.Config.ModuleShape(mod)
		if len(tc.lin[l][mod]) != out*in {
			tc.lin[l][mod] = make([]float32, out*in)
		}
		kernels.Transpose(tc.lin[l][mod], m.W.Blocks[l].Lin[mod].W, out, in)
		tc.valid[l][mod] = true
	}
	return tc.lin[l][mod]
}

// headT is frozenT for the tied output head, wteᵀ (C,V).
func (m *Model) headT() []float32 {
	if !m.tc.on || m.G == nil || m.G.WTE != nil {
		return nil
	}
	tc := &m.tc
	tc.sync(m)
	if !tc.headValid {
		V, C := m.Config.VocabSize, m.Config.NEmbd
		if len(tc.head) != V*C {
			tc.head = make([]float32, V*C)
		}
		kernels.Transpose(tc.head, m.W.WTE, V, C)
		tc.headValid = true
	}
	return tc.head
}
