// Package lora implements Low-Rank Adaptation (Hu et al. 2021,
// arXiv 2106.09685) of a linear layer.
//
// A pretrained linear layer computes y = x·Wᵀ + b with W of shape (out, in).
// LoRA freezes W and learns a low-rank update instead of a new W:
//
//	y = x·Wᵀ + b + s · (x·Aᵀ)·Bᵀ        ΔW = s·B·A
//
// with A of shape (r, in), B of shape (out, r) and r ≪ min(in, out). Only A
// and B are trained: r·(in+out) numbers instead of in·out. The scale s is α/r
// (or α/√r with rank-stabilised LoRA, Kalajdzievski 2023), so that changing r
// does not force retuning the learning rate.
//
// B starts at zero, so at step 0 ΔW = 0 and the adapted model is exactly the
// pretrained model; A starts random (Kaiming-uniform as in PEFT, or Gaussian),
// so that the gradient reaching B is not zero. After training, ΔW can be
// added into W ("merged"): the adapted model then costs nothing extra at
// inference and has exactly the same layer shapes as before.
//
// Dropout, when enabled, is applied to the adapter's input x only (as PEFT
// does), never to the frozen path.
package lora

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/lora-playground/lora-playground/core/kernels"
)

// Modules are the linear layers of a transformer block that LoRA can adapt,
// in the order they are listed everywhere in this project.
var Modules = []string{"q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj"}

// Init names how A is initialised (B is always zero).
type Init string

const (
	// InitDefault draws A from Kaiming-uniform with a=√5, i.e. U(-1/√in, 1/√in),
	// PEFT's default (init_lora_weights=true).
	InitDefault Init = "default"
	// InitGaussian draws A from N(0, 1/r), PEFT's init_lora_weights="gaussian".
	InitGaussian Init = "gaussian"
)

// Config is an adapter configuration, mirroring PEFT's LoraConfig.
type Config struct {
	Rank      int      // r ≥ 1
	Alpha     float64  // lora_alpha
	Dropout   float64  // lora_dropout, in [0, 1)
	Targets   []string // target_modules, a subset of Modules
	UseRSLoRA bool     // scale α/√r instead of α/r
	// RankPattern and AlphaPattern override r and α per module. A key is a
	// full module path ("h.1.attn.q_proj") or a short name ("q_proj"); the
	// full path wins.
	RankPattern  map[string]int
	AlphaPattern map[string]float64
	Init         Init
}

// Validate reports the first problem with c in words a user can act on.
func (c Config) Validate() error {
	if c.Rank < 1 {
		return fmt.Errorf("lora: rank must be at least 1, got %d", c.Rank)
	}
	if math.IsNaN(c.Alpha) || math.IsInf(c.Alpha, 0) || c.Alpha <= 0 {
		return fmt.Errorf("lora: alpha must be a positive number, got %v", c.Alpha)
	}
	if !(c.Dropout >= 0 && c.Dropout < 1) {
		return fmt.Errorf("lora: dropout must be in [0, 1), got %v", c.Dropout)
	}
	if len(c.Targets) == 0 {
		return fmt.Errorf("lora: no target modules; choose some of %s", strings.Join(Modules, ", "))
	}
	for _, t := range c.Targets {
		if !slices.Contains(Modules, t) {
			return fmt.Errorf("lora: unknown target module %q; choose from %s", t, strings.Join(Modules, ", "))
		}
	}
	for k, r := range c.RankPattern {
		if r < 1 {
			return fmt.Errorf("lora: rank_pattern[%q] must be at least 1, got %d", k, r)
		}
	}
	for k, a := range c.AlphaPattern {
		if !(a > 0) || math.IsInf(a, 0) {
			return fmt.Errorf("lora: alpha_pattern[%q] must be positive, got %v", k, a)
		}
	}
	switch c.Init {
	case "", InitDefault, InitGaussian:
	default:
		return fmt.Errorf("lora: unknown init %q; use %q or %q", c.Init, InitDefault, InitGaussian)
	}
	return nil
}

// Targeted reports whether module (a short name such as "q_proj") is adapted.
func (c Config) Targeted(module string) bool { return slices.Contains(c.Targets, module) }

// RankFor returns the rank of the adapter on module path (e.g. "h.0.attn.q_proj"
// with short name "q_proj").
func (c Config) RankFor(path, module string) int {
	if r, ok := c.RankPattern[path]; ok {
		return r
	}
	if r, ok := c.RankPattern[module]; ok {
		return r
	}
	return c.Rank
}

// AlphaFor returns α for module path, following the same precedence as RankFor.
func (c Config) AlphaFor(path, module string) float64 {
	if a, ok := c.AlphaPattern[path]; ok {
		return a
	}
	if a, ok := c.AlphaPattern[module]; ok {
		return a
	}
	return c.Alpha
}

// Scale returns s = α/r, or α/√r with rank-stabilised LoRA.
func Scale(alpha float64, r int, rslora bool) float32 {
	if rslora {
		return float32(alpha / math.Sqrt(float64(r)))
	}
	return float32(alpha / float64(r))
}

// Adapter is the pair (A, B) on one linear layer, with its gradients and the
// activations its backward pass needs.
type Adapter struct {
	Path    string // module path, e.g. "h.0.attn.q_proj"
	R       int
	In, Out int
	Scale   float32
	Dropout float32

	A []float32 // (R,In)
	B []float32 // (Out,R)

	DA, DB []float32 // gradients, same shapes; nil when not training

	// Activations kept from Forward for Backward, sized for up to cap rows.
	in     []float32 // (N,In) the adapter's input: the caller's x, or drop(x)
	xd     []float32 // (N,In) drop(x); allocated only with dropout
	mask   []float32 // (N,In) 0 or 1/(1-p); live only when dropout ran
	h      []float32 // (N,R) s·(in·Aᵀ), computed once and used for out and dB
	tmp    []float32 // (N,In) scratch for the masked dx; only with dropout
	masked bool
}

// NewAdapter allocates an adapter and initialises it: B = 0 and A drawn as
// init says, from rng.
func NewAdapter(path string, r, in, out int, scale float32, dropout float64, init Init, rng *rand.Rand) *Adapter {
	a := &Adapter{Path: path, R: r, In: in, Out: out, Scale: scale, Dropout: float32(dropout),
		A: make([]float32, r*in), B: make([]float32, out*r)}
	switch init {
	case InitGaussian:
		std := 1 / math.Sqrt(float64(r))
		for i := range a.A {
			a.A[i] = float32(rng.NormFloat64() * std)
		}
	default:
		bound := 1 / math.Sqrt(float64(in))
		for i := range a.A {
			a.A[i] = float32((2*rng.Float64() - 1) * bound)
		}
	}
	return a
}

// EnableGrad allocates the gradient buffers.
func (a *Adapter) EnableGrad() {
	if a.DA == nil {
		a.DA = make([]float32, len(a.A))
		a.DB = make([]float32, len(a.B))
	}
}

func (a *Adapter) ensure(n int) {
	if len(a.h) < n*a.R {
		a.h = make([]float32, n*a.R)
	}
	if a.Dropout > 0 && len(a.xd) < n*a.In {
		a.xd = make([]float32, n*a.In)
		a.mask = make([]float32, n*a.In)
		a.tmp = make([]float32, n*a.In)
	}
}

// Forward adds the adapter's contribution to out:
//
//	h = s · drop(x)·Aᵀ      (N,R)
//	out += h·Bᵀ             (N,Out)
//
// x (N,In). Dropout runs only when train is true. x must stay unchanged
// until Backward, which reuses h (the product x·Aᵀ is computed once).
func (a *Adapter) Forward(out, x []float32, N int, train bool, rng *rand.Rand) {
	a.ensure(N)
	in := x[:N*a.In]
	a.masked = train && a.Dropout > 0 && rng != nil
	if a.masked {
		keep := 1 / (1 - a.Dropout)
		xd, mask := a.xd[:N*a.In], a.mask[:N*a.In]
		for i, v := range in {
			m := keep
			if rng.Float32() < a.Dropout {
				m = 0
			}
			mask[i] = m
			xd[i] = v * m
		}
		in = xd
	}
	a.in = in
	h := a.h[:N*a.R]
	kernels.MatMulNT(h, in, a.A, N, a.R, a.In, false)
	for i := range h {
		h[i] *= a.Scale
	}
	kernels.MatMulNT(out, h, a.B, N, a.Out, a.R, true)
}

// Backward accumulates the adapter's gradients and its share of dx, given
// dout (N,Out):
//
//	dB += doutᵀ·h               (Out,R)   (h already carries s)
//	dh  = s · dout·B            (N,R)
//	dA += dhᵀ·drop(x)           (R,In)
//	dx += (dh·A) ⊙ mask         (N,In)
//
// dx may be nil. dh lives only during the call, in kernel scratch: one
// buffer for all of a model's adapters rather than one each.
func (a *Adapter) Backward(dx, dout []float32, N int) {
	h := a.h[:N*a.R]
	s := kernels.Scratch(N * a.R)
	defer kernels.ReleaseScratch(s)
	dh := *s
	if a.DB != nil {
		kernels.MatMulTN(a.DB, dout, h, a.Out, a.R, N, true)
	}
	kernels.MatMulNN(dh, dout, a.B, N, a.R, a.Out, false)
	for i := range dh {
		dh[i] *= a.Scale
	}
	if a.DA != nil {
		kernels.MatMulTN(a.DA, dh, a.in, a.R, a.In, N, true)
	}
	if dx == nil {
		return
	}
	if a.masked {
		tmp := a.tmp[:N*a.In]
		kernels.MatMulNN(tmp, dh, a.A, N, a.In, a.R, false)
		for i, m := range a.mask[:N*a.In] {
			dx[i] += tmp[i] * m
		}
		return
	}
	kernels.MatMulNN(dx, dh, a.A, N, a.In, a.R, true)
}

// DeltaW writes ΔW = s·B·A (Out,In) into dst.
func (a *Adapter) DeltaW(dst []float32) {
	kernels.MatMulNN(dst, a.B, a.A, a.Out, a.In, a.R, false)
	for i := range dst[:a.Out*a.In] {
		dst[i] *= a.Scale
	}
}

// Merge adds ΔW into w (Out,In): afterwards x·wᵀ equals x·Wᵀ + s·x·Aᵀ·Bᵀ.
// scratch needs Out·In floats (nil allocates).
func (a *Adapter) Merge(w, scratch []float32) { a.addDelta(w, scratch, 1) }

// Unmerge subtracts ΔW from w, undoing Merge up to float32 rounding.
func (a *Adapter) Unmerge(w, scratch []float32) { a.addDelta(w, scratch, -1) }

func (a *Adapter) addDelta(w, scratch []float32, sign float32) {
	if len(scratch) < a.Out*a.In {
		scratch = make([]float32, a.Out*a.In)
	}
	d := scratch[:a.Out*a.In]
	a.DeltaW(d)
	for i := range d {
		w[i] += sign * d[i]
	}
}

// NumParams is r·(in+out), the number of trainable numbers in the adapter.
func (a *Adapter) NumParams() int { return a.R * (a.In + a.Out) }
