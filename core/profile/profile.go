// Package profile measures where a training step's time goes, phase by
// phase (the products of the frozen and the trained weights, the LoRA
// adapters, attention, softmax, GELU, layer norm, cross-entropy, the
// optimiser), so that the next bottleneck is visible.
//
// The step's code brackets each phase:
//
//	t0 := profile.Begin()
//	nn.GeluForward(out, inp)
//	profile.End(profile.GELU, t0)
//
// When profiling is off (the default) Begin returns 0 and End returns at
// once: a load of one boolean and a branch each, no clock reading, so the
// training code pays nothing measurable for carrying the brackets. Enable
// turns it on for a benchmark's profiling steps; Snapshot reads the
// accumulated times.
//
// Phases nest nowhere: each bracket covers code no other bracket covers,
// so the phases add up to at most the step's time, and the remainder is
// what no bracket covers (embedding, residual additions, clearing
// gradients, drawing the batch).
//
// The totals are plain package variables: profile one goroutine at a time
// (the js/wasm build has only one), and only with Enable set; reading the
// flag from several goroutines while it is off is fine.
package profile

import (
	"fmt"
	"io"
	"time"
)

// Phase is one kind of work in a training step.
type Phase uint8

const (
	// MatMulForward is Y = X·Wᵀ (+ bias) of the model's own linear layers
	// and the tied output head, frozen or trained.
	MatMulForward Phase = iota
	// MatMulInputGrad is dX = dY·W of those layers: the gradient flowing
	// back through a weight, needed whether or not it trains.
	MatMulInputGrad
	// MatMulWeightGrad is dW = dYᵀ·X and the bias gradient: only for weights
	// that train (full fine-tuning), never for frozen ones.
	MatMulWeightGrad
	// LoRA is the adapters' products, forward and backward: h = s·x·Aᵀ,
	// out += h·Bᵀ, dB, dA and the adapters' share of dX.
	LoRA
	// Attention is attention's products (scores Q·Kᵀ, P·V and their
	// gradients), without the softmax.
	Attention
	// Softmax is the causal softmax of the attention scores and, where it
	// is a separate pass (the SIMD build), its backward.
	Softmax
	// GELU is the MLP's activation, forward and backward.
	GELU
	// LayerNorm is the layer norms, forward and backward.
	LayerNorm
	// CrossEntropy is the softmax over the vocabulary, the loss and dlogits.
	CrossEntropy
	// Optimizer is the gradient norm, clipping and the AdamW update.
	Optimizer
	// NumPhases counts the phases.
	NumPhases
)

var names = [NumPhases]string{"matmul X·Wᵀ (forward)", "matmul dY·W (input grad)", "matmul dYᵀ·X (weight grad)",
	"LoRA adapters", "attention products", "softmax (attention)", "GELU", "layer norm", "cross-entropy", "optimiser"}

var keys = [NumPhases]string{"matmul_forward", "matmul_input_grad", "matmul_weight_grad",
	"lora", "attention", "softmax", "gelu", "layernorm", "cross_entropy", "optimizer"}

// String is the phase's name in a table.
func (p Phase) String() string { return names[p] }

// Key is the phase's name in JSON.
func (p Phase) Key() string { return keys[p] }

var (
	enabled bool
	origin  = time.Now()
	totals  [NumPhases]time.Duration
	calls   [NumPhases]int
)

// Enable turns profiling on or off. Turning it on does not reset the
// totals; Reset does.
func Enable(on bool) { enabled = on }

// Enabled reports whether profiling is on.
func Enabled() bool { return enabled }

// Reset zeroes the accumulated totals.
func Reset() {
	totals = [NumPhases]time.Duration{}
	calls = [NumPhases]int{}
}

// Begin starts a bracket: the monotonic time since the package's origin,
// or 0 without reading the clock when profiling is off.
func Begin() time.Duration {
	if !enabled {
		return 0
	}
	return time.Since(origin)
}

// End closes the bracket Begin opened at t0 and adds its length to phase p.
func End(p Phase, t0 time.Duration) {
	if !enabled {
		return
	}
	totals[p] += time.Since(origin) - t0
	calls[p]++
}

// Next closes the bracket opened at t0 for phase p and opens the next one
// at the same instant, returning it: one clock reading, so back-to-back
// phases neither overlap nor leave a gap (a Begin followed by an End would
// count the time between the two readings twice, and a preemption there
// could make the phases add up to more than the step). It returns 0 when
// profiling is off.
func Next(p Phase, t0 time.Duration) time.Duration {
	if !enabled {
		return 0
	}
	now := time.Since(origin)
	totals[p] += now - t0
	calls[p]++
	return now
}

// Profile is the time per step of each phase, over Steps steps.
type Profile struct {
	Steps int
	// Step is the measured time of a whole step (set by the caller; 0 if
	// unknown), so that the table can show what no phase covers.
	Step  time.Duration
	Phase [NumPhases]time.Duration // per step
	Calls [NumPhases]int           // brackets per step
}

// Snapshot returns the accumulated totals divided over steps steps, with
// step the measured time of one whole step.
func Snapshot(steps int, step time.Duration) Profile {
	p := Profile{Steps: steps, Step: step}
	if steps < 1 {
		return p
	}
	for i := range totals {
		p.Phase[i] = totals[i] / time.Duration(steps)
		p.Calls[i] = calls[i] / steps
	}
	return p
}

// Covered is the sum of the phases.
func (p Profile) Covered() time.Duration {
	var s time.Duration
	for _, d := range p.Phase {
		s += d
	}
	return s
}

// WriteTable prints one line per phase: milliseconds per step and share of
// the step, then the rest of the step that no phase covers.
func (p Profile) WriteTable(w io.Writer) {
	total := p.Step
	if total <= 0 {
		total = p.Covered()
	}
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	pct := func(d time.Duration) float64 {
		if total <= 0 {
			return 0
		}
		return 100 * float64(d) / float64(total)
	}
	fmt.Fprintf(w, "profile of one step (mean of %d profiled steps):\n", p.Steps)
	for i, d := range p.Phase {
		if p.Calls[i] == 0 {
			continue
		}
		fmt.Fprintf(w, "  %-28s %8.2f ms %5.1f%%\n", Phase(i), ms(d), pct(d))
	}
	if p.Step > 0 {
		fmt.Fprintf(w, "  %-28s %8.2f ms %5.1f%%\n", "other (embedding, residuals…)", ms(p.Step-p.Covered()), pct(p.Step-p.Covered()))
		fmt.Fprintf(w, "  %-28s %8.2f ms\n", "step", ms(p.Step))
	}
}

// JSON returns the profile as milliseconds per step keyed by Phase.Key,
// with "other" and "step" when the step time is known.
func (p Profile) JSON() map[string]float64 {
	out := map[string]float64{}
	for i, d := range p.Phase {
		out[Phase(i).Key()] = float64(d) / 1e6
	}
	if p.Step > 0 {
		out["other"] = float64(p.Step-p.Covered()) / 1e6
		out["step"] = float64(p.Step) / 1e6
	}
	return out
}
