package train

import "math"

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter 2019) and
// bias correction. For each trainable tensor θ with gradient g at step t:
//
//	m ← β₁·m + (1-β₁)·g
//	v ← β₂·v + (1-β₂)·g²
//	m̂ = m/(1-β₁ᵗ),  v̂ = v/(1-β₂ᵗ)
//	θ ← θ - lr·( m̂/(√v̂ + ε) + λ·θ )
//
// Moments exist only for trainable tensors: a frozen weight costs no
// optimiser memory, which is most of LoRA's memory saving.
type AdamW struct {
	Beta1, Beta2, Eps float64
	T                 int // steps taken
	states            []adamState
}

// adamState is the pair of moments of one trainable tensor.
type adamState struct {
	param, grad []float32
	m, v        []float32
	decay       bool // apply weight decay (matrices only, as in GPT-2 recipes)
}

// NewAdamW returns an optimiser with the usual defaults β₁=0.9, β₂=0.999, ε=1e-8.
func NewAdamW() *AdamW { return &AdamW{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

// Add registers a trainable tensor and its gradient buffer.
func (o *AdamW) Add(param, grad []float32, decay bool) {
	o.states = append(o.states, adamState{param: param, grad: grad,
		m: make([]float32, len(param)), v: make([]float32, len(param)), decay: decay})
}

// StateBytes is the optimiser's memory: two float32 moments per trainable number.
func (o *AdamW) StateBytes() int {
	n := 0
	for _, s := range o.states {
		n += 8 * len(s.param)
	}
	return n
}

// Step applies one update with learning rate lr and weight decay wd.
func (o *AdamW) Step(lr, wd float64) {
	o.T++
	b1, b2 := o.Beta1, o.Beta2
	c1 := 1 - math.Pow(b1, float64(o.T))
	c2 := 1 - math.Pow(b2, float64(o.T))
	for _, s := range o.states {
		d := float32(0)
		if s.decay {
			d = float32(lr * wd)
		}
		fb1, fb2 := float32(b1), float32(b2)
		lrc := float32(lr / c1)
		ic2 := float32(1 / c2)
		eps := float32(o.Eps)
		p, g, m, v := s.param, s.grad[:len(s.param)], s.m[:len(s.param)], s.v[:len(s.param)]
		for i := range p {
			gi := g[i]
			mi := fb1*m[i] + (1-fb1)*gi
			vi := fb2*v[i] + (1-fb2)*gi*gi
			m[i], v[i] = mi, vi
			p[i] -= lrc*mi/(float32(math.Sqrt(float64(vi*ic2)))+eps) + d*p[i]
		}
	}
}

// Moments exposes the optimiser state for saving: for each registered
// tensor in order, its m and v.
func (o *AdamW) Moments() (m, v [][]float32) {
	for _, s := range o.states {
		m = append(m, s.m)
		v = append(v, s.v)
	}
	return m, v
}

// SetMoments restores state saved with Moments; shapes must match.
func (o *AdamW) SetMoments(t int, m, v [][]float32) bool {
	if len(m) != len(o.states) || len(v) != len(o.states) {
		return false
	}
	for i, s := range o.states {
		if len(m[i]) != len(s.m) || len(v[i]) != len(s.v) {
			return false
		}
	}
	for i, s := range o.states {
		copy(s.m, m[i])
		copy(s.v, v[i])
	}
	o.T = t
	return true
}

// LearningRate is the warmup + cosine schedule: linear from peak/warmup to
// peak over the first warmup steps, then a cosine from peak down to
// minFrac·peak at step total, and minFrac·peak after that.
func LearningRate(step, warmup, total int, peak, minFrac float64) float64 {
	switch {
	case step < warmup:
		return peak * float64(step+1) / float64(warmup)
	case step >= total:
		return peak * minFrac
	}
	p := float64(step-warmup) / float64(total-warmup)
	return peak * (minFrac + (1-minFrac)*0.5*(1+math.Cos(math.Pi*p)))
}
