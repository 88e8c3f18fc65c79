// Package adalora chooses each adapted matrix's LoRA rank during training,
// following AdaLoRA (Zhang et al. 2023, "Adaptive Budget Allocation for
// Parameter-Efficient Fine-Tuning", arXiv 2303.10512).
//
// The LoRA paper fixes one rank r for every adapted matrix and leaves open
// how to choose it. AdaLoRA starts every matrix at a generous rank r⁽⁰⁾ and,
// while training, takes rank away from the matrices where it matters least,
// until the whole model holds a smaller total budget b⁽ᵀ⁾ of ranks. Matrices
// that matter end with more rank than those that do not.
//
// # An adapter shaped like an SVD
//
// Instead of ΔW = s·B·A, each matrix learns
//
//	ΔW = s · P · diag(λ) · Q        P (out,r), λ (r), Q (r,in),  s = α/r⁽⁰⁾
//
// which looks like a singular value decomposition: column i of P, λᵢ and row
// i of Q form a "triplet", one rank-1 piece λᵢ·pᵢ·qᵢᵀ of ΔW. Removing a
// triplet is just setting its λᵢ to zero: P and Q keep their shapes and the
// rank drops by one. (In a truncated SVD of ΔW one would drop the smallest
// singular values; AdaLoRA avoids computing SVDs by training the factors
// directly.) λ starts at zero, so at step 0 ΔW = 0 and the model is exactly
// the base model, as with LoRA's B = 0; P and Q start random.
//
// To keep P and Q close to orthonormal, so that the λᵢ behave like singular
// values and dropping one does not disturb the others, the training loss
// gets a penalty
//
//	γ · ( ‖PᵀP − I‖²_F + ‖QQᵀ − I‖²_F )
//
// (the paper's form; PEFT adds the unsquared norms averaged over matrices).
//
// # Which triplets to keep: importance
//
// The sensitivity of a trainable number θ is I = |θ · ∂L/∂θ|: the first-order
// change of the loss if θ were set to zero. One batch's gradient is noisy, so
// AdaLoRA smooths it and measures how much it varies (β₁, β₂ ≈ 0.85):
//
//	Ī ← β₁·Ī + (1−β₁)·I          smoothed sensitivity
//	Ū ← β₂·Ū + (1−β₂)·|I − Ī|    its uncertainty
//	s(θ) = Ī · Ū
//
// and a triplet's importance adds the score of its λ to the mean score of
// its P column and its Q row:
//
//	Sᵢ = s(λᵢ) + mean_k s(P_kᵢ) + mean_j s(Q_ij)
//
// # How many to keep: the budget schedule
//
// The total number of triplets kept over all matrices follows a cubic
// schedule over T training steps: the full b⁽⁰⁾ = r⁽⁰⁾·(number of matrices)
// during a warm-up of t_init steps, then falling as a cube to the target
// b⁽ᵀ⁾ = r̄·(number of matrices), reached t_final steps before the end, and
// fixed afterwards while the surviving triplets fine-tune:
//
//	b(t) = b⁽⁰⁾                                            t ≤ t_init
//	b(t) = b⁽ᵀ⁾ + (b⁽⁰⁾−b⁽ᵀ⁾)·(1 − (t−t_init)/(T−t_init−t_final))³    otherwise
//	b(t) = b⁽ᵀ⁾                                            t > T − t_final
//
// (rounded down). Every ΔT steps, the triplets with the lowest importance
// over the whole model are pruned until b(t) remain. Their λ is set to zero
// and kept there: its gradient and its AdamW moments are cleared too, so
// nothing brings it back. (PEFT lets a pruned λ train again between
// pruning steps; here a pruned triplet stays pruned, which makes the rank
// of every matrix fall monotonically and the chart easy to read.)
//
// # Running on the LoRA machinery
//
// Each adaptive adapter drives an ordinary lora.Adapter: its A is Q (the
// same slice) and its B is P·diag(λ), recomputed after every update by
// PackForward. The model's forward and backward passes therefore need no
// change; after the backward pass PackBackward turns the gradient of B into
// gradients of P and λ by the chain rule. Sampling, merging and the weight
// views all work as for LoRA.
//
// # What it does on the shipped models
//
// On nano, e2e, q_proj and v_proj of both layers, 300 steps at lr 0.01
// (lora train, seeds 1–3): r⁽⁰⁾ = 12 → r̄ = 4 with α = 24 reached
// validation loss 1.557, 1.554, 1.581, and plain LoRA r = 4, α = 8 (the same
// scale α/r = 2 and the same final size, 2048 numbers) 1.552, 1.554, 1.508;
// LoRA r = 12 reached 1.229 (seed 1). Every adaptive run gave h.0 v_proj 9–11
// of its 12 triplets and h.1 q_proj 0–1.
//
// # Export
//
// The result is a plain LoRA adapter in PEFT's layout: each matrix keeps its
// surviving triplets, B = P[:,kept]·diag(λ_kept) and A = Q[kept,:], with
// rank_pattern giving every module its own r and alpha_pattern its α such
// that α_m/r_m = α/r⁽⁰⁾, the scale it trained with. ΔW is unchanged.
package adalora

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/lora-playground/lora-playground/core/lora"
)

// Config is an adaptive-rank run's configuration. Step counts refer to the
// training run's schedule length T.
type Config struct {
	InitRank   int      // r⁽⁰⁾, every matrix's rank at the start (PEFT init_r)
	TargetRank int      // r̄, the average rank per matrix at the end (PEFT target_r)
	Alpha      float64  // s = α/r⁽⁰⁾ for every matrix, whatever its current rank
	Dropout    float64  // dropout on the adapter's input, in [0, 1)
	Targets    []string // modules to adapt, a subset of lora.Modules

	WarmupSteps int     // t_init: steps at the full budget before pruning starts
	FinalSteps  int     // t_final: steps at the target budget at the end
	Interval    int     // ΔT: prune every Interval steps (≥ 1)
	Beta1       float64 // β₁ of the smoothed sensitivity, in (0, 1)
	Beta2       float64 // β₂ of the uncertainty, in (0, 1)
	OrthReg     float64 // γ, weight of the orthogonality penalty (≥ 0)
}

// DefaultConfig follows the paper's hyperparameters (β₁ = β₂ = 0.85,
// γ = 0.1) with PEFT's default ranks (r⁽⁰⁾ = 12, r̄ = 8 there; 4 here for a
// visible fall on small models), pruning from 10% to 70% of the run.
func DefaultConfig(steps int) Config {
	return Config{InitRank: 12, TargetRank: 4, Alpha: 16, Targets: []string{"q_proj", "v_proj"},
		WarmupSteps: steps / 10, FinalSteps: 3 * steps / 10, Interval: 10,
		Beta1: 0.85, Beta2: 0.85, OrthReg: 0.1}
}

// Validate reports the first problem with c for a run of totalSteps steps.
func (c Config) Validate(totalSteps int) error {
	open01 := func(x float64) bool { return x > 0 && x < 1 }
	switch {
	case c.InitRank < 1:
		return fmt.Errorf("adaptive rank: the initial rank must be at least 1, got %d", c.InitRank)
	case c.TargetRank < 0 || c.TargetRank > c.InitRank:
		return fmt.Errorf("adaptive rank: the target rank must be between 0 and the initial rank %d, got %d", c.InitRank, c.TargetRank)
	case !(c.Alpha > 0) || math.IsInf(c.Alpha, 0):
		return fmt.Errorf("adaptive rank: alpha must be a positive number, got %v", c.Alpha)
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return fmt.Errorf("adaptive rank: dropout must be in [0, 1), got %v", c.Dropout)
	case len(c.Targets) == 0:
		return fmt.Errorf("adaptive rank: no target modules; choose some of %s", strings.Join(lora.Modules, ", "))
	case c.Interval < 1:
		return fmt.Errorf("adaptive rank: the pruning interval must be at least 1 step, got %d", c.Interval)
	case c.WarmupSteps < 0 || c.FinalSteps < 0:
		return fmt.Errorf("adaptive rank: warm-up (%d) and final (%d) steps must not be negative", c.WarmupSteps, c.FinalSteps)
	case c.WarmupSteps+c.FinalSteps >= totalSteps:
		return fmt.Errorf("adaptive rank: warm-up (%d) plus final (%d) steps leave no steps of the %d to prune in; lower them or train longer", c.WarmupSteps, c.FinalSteps, totalSteps)
	case !open01(c.Beta1) || !open01(c.Beta2):
		return fmt.Errorf("adaptive rank: beta1 and beta2 must be in (0, 1), got %v and %v", c.Beta1, c.Beta2)
	case !(c.OrthReg >= 0) || math.IsInf(c.OrthReg, 0):
		return fmt.Errorf("adaptive rank: the orthogonality weight must be non-negative, got %v", c.OrthReg)
	}
	for _, t := range c.Targets {
		if !slices.Contains(lora.Modules, t) {
			return fmt.Errorf("adaptive rank: unknown target module %q; choose from %s", t, strings.Join(lora.Modules, ", "))
		}
	}
	return nil
}

// LoRA is the LoRA configuration whose adapters the adaptive ones drive:
// rank r⁽⁰⁾, scale α/r⁽⁰⁾.
func (c Config) LoRA() lora.Config {
	return lora.Config{Rank: c.InitRank, Alpha: c.Alpha, Dropout: c.Dropout, Targets: slices.Clone(c.Targets), Init: lora.InitDefault}
}

// Budget returns the schedule's total rank b(t) after step t of a run of
// total steps, and whether step t prunes (every interval steps while the
// budget falls, and every step from T − t_final on, where the budget is
// final). b0 and bT are the initial and target totals.
func Budget(t, total, b0, bT, warmup, final, interval int) (budget int, prune bool) {
	switch {
	case t <= warmup:
		return b0, false
	case t >= total-final:
		return bT, true
	}
	c := 1 - float64(t-warmup)/float64(total-final-warmup)
	return int(float64(b0-bT)*c*c*c + float64(bT)), t%interval == 0
}

// Adapter is one matrix's SVD-shaped adapter ΔW = s·P·diag(λ)·Q, its
// gradients, which triplets are still kept, and the smoothed importance of
// every number. It drives LoRA, an ordinary lora.Adapter with A = Q and
// B = P·diag(λ).
type Adapter struct {
	Path       string
	R, In, Out int

	P      []float32 // (Out,R) left singular vectors (PEFT's lora_B)
	Lambda []float32 // (R) singular values (PEFT's lora_E)
	Q      []float32 // (R,In) right singular vectors (PEFT's lora_A); the same slice as LoRA.A

	DP, DLambda, DQ []float32 // gradients; DQ is LoRA.DA

	Kept []bool // (R) triplet i is kept; a pruned triplet has λᵢ = 0 for good

	LoRA *lora.Adapter

	// Smoothed sensitivity Ī and uncertainty Ū of every number of P, λ, Q.
	barP, uncP, barL, uncL, barQ, uncQ []float32
}

// Wrap turns the freshly initialised LoRA adapter la (rank r⁽⁰⁾) into an
// adaptive one: Q takes over la.A's storage and is redrawn, like P, from
// N(0, 1/in) and N(0, 1/out), so that rows of Q and columns of P start with
// unit expected length (nearly orthonormal: the penalty starts near zero;
// PEFT draws N(0, 0.02²) and lets the penalty grow them); λ = 0, so B = 0.
func Wrap(la *lora.Adapter, rng *rand.Rand) *Adapter {
	r, in, out := la.R, la.In, la.Out
	a := &Adapter{Path: la.Path, R: r, In: in, Out: out, LoRA: la,
		P: make([]float32, out*r), Lambda: make([]float32, r), Q: la.A,
		Kept: make([]bool, r)}
	for i := range a.Q {
		a.Q[i] = float32(rng.NormFloat64() / math.Sqrt(float64(in)))
	}
	for i := range a.P {
		a.P[i] = float32(rng.NormFloat64() / math.Sqrt(float64(out)))
	}
	for i := range a.Kept {
		a.Kept[i] = true
	}
	la.EnableGrad()
	a.DP, a.DLambda, a.DQ = make([]float32, out*r), make([]float32, r), la.DA
	f := func(n int) []float32 { return make([]float32, n) }
	a.barP, a.uncP, a.barL, a.uncL, a.barQ, a.uncQ = f(out*r), f(out*r), f(r), f(r), f(r*in), f(r*in)
	a.Pack()
	return a
}

// Rank is the number of kept triplets.
func (a *Adapter) Rank() int {
	n := 0
	for _, k := range a.Kept {
		if k {
			n++
		}
	}
	return n
}

// Pack writes B = P·diag(λ) into the driven LoRA adapter; call it after
// every change to P or λ.
func (a *Adapter) Pack() { PackForward(a.LoRA.B, a.P, a.Lambda, a.Out, a.R) }

// PackForward computes B = P·diag(λ):
//
//	B[o,i] = P[o,i]·λᵢ        B, P (Out,R), λ (R)
func PackForward(B, P, lambda []float32, out, r int) {
	for o := 0; o < out; o++ {
		row, prow := B[o*r:(o+1)*r], P[o*r:(o+1)*r]
		for i, l := range lambda[:r] {
			row[i] = prow[i] * l
		}
	}
}

// PackBackward accumulates the gradients of P and λ from the gradient of
// B = P·diag(λ):
//
//	dP[o,i] += dB[o,i]·λᵢ
//	dλᵢ     += Σ_o dB[o,i]·P[o,i]
func PackBackward(dP, dLambda, dB, P, lambda []float32, out, r int) {
	for o := 0; o < out; o++ {
		drow, dprow, prow := dB[o*r:(o+1)*r], dP[o*r:(o+1)*r], P[o*r:(o+1)*r]
		for i, l := range lambda[:r] {
			dprow[i] += drow[i] * l
			dLambda[i] += drow[i] * prow[i]
		}
	}
}

// OrthForward returns the orthogonality penalty before its weight γ:
//
//	R(P,Q) = ‖PᵀP − I‖²_F + ‖QQᵀ − I‖²_F        P (out,r), Q (r,in)
//
// It is zero exactly when P's columns and Q's rows are orthonormal.
func OrthForward(P, Q []float32, out, r, in int) float64 {
	var s float64
	gram(P, out, r, true, func(i, j int, g float64) { s += sq(g - eye(i, j)) })
	gram(Q, r, in, false, func(i, j int, g float64) { s += sq(g - eye(i, j)) })
	return s
}

// OrthBackward adds γ times the gradient of OrthForward to dP and dQ:
//
//	∂R/∂P = 4·P·(PᵀP − I)        ∂R/∂Q = 4·(QQᵀ − I)·Q
func OrthBackward(dP, dQ, P, Q []float32, out, r, in int, gamma float64) {
	G := make([]float64, r*r) // PᵀP − I, then QQᵀ − I
	gram(P, out, r, true, func(i, j int, g float64) { G[i*r+j] = g - eye(i, j) })
	for o := 0; o < out; o++ {
		prow := P[o*r : (o+1)*r]
		for j := 0; j < r; j++ {
			var s float64
			for i := 0; i < r; i++ {
				s += float64(prow[i]) * G[i*r+j]
			}
			dP[o*r+j] += float32(4 * gamma * s)
		}
	}
	gram(Q, r, in, false, func(i, j int, g float64) { G[i*r+j] = g - eye(i, j) })
	for i := 0; i < r; i++ {
		dq := dQ[i*in : (i+1)*in]
		for k := 0; k < r; k++ {
			c := float32(4 * gamma * G[i*r+k])
			if c == 0 {
				continue
			}
			for j, q := range Q[k*in : (k+1)*in] {
				dq[j] += c * q
			}
		}
	}
}

// gram calls f(i, j, g) for every entry of the r×r Gram matrix of M: MᵀM
// for M (rows,r) when cols is true, MMᵀ for M (r,cols) otherwise.
func gram(M []float32, n, m int, cols bool, f func(i, j int, g float64)) {
	r, k := m, n // r×r from M (n,m) columns; sum over the n rows
	if !cols {
		r, k = n, m
	}
	at := func(i, t int) float64 {
		if cols {
			return float64(M[t*m+i])
		}
		return float64(M[i*m+t])
	}
	for i := 0; i < r; i++ {
		for j := 0; j < r; j++ {
			var g float64
			for t := 0; t < k; t++ {
				g += at(i, t) * at(j, t)
			}
			f(i, j, g)
		}
	}
}

func eye(i, j int) float64 {
	if i == j {
		return 1
	}
	return 0
}

func sq(x float64) float64 { return x * x }

// UpdateImportance folds the current parameters and gradients into the
// smoothed sensitivity and uncertainty of every number:
//
//	I = |θ·g|,  Ī ← β₁·Ī + (1−β₁)·I,  Ū ← β₂·Ū + (1−β₂)·|I − Ī|
func (a *Adapter) UpdateImportance(beta1, beta2 float64) {
	upd := func(bar, unc, theta, grad []float32) {
		b1, b2 := float32(beta1), float32(beta2)
		for i, th := range theta {
			I := float32(math.Abs(float64(th * grad[i])))
			bar[i] = b1*bar[i] + (1-b1)*I
			unc[i] = b2*unc[i] + (1-b2)*float32(math.Abs(float64(I-bar[i])))
		}
	}
	upd(a.barP, a.uncP, a.P, a.DP)
	upd(a.barL, a.uncL, a.Lambda, a.DLambda)
	upd(a.barQ, a.uncQ, a.Q, a.DQ)
}

// Scores writes each triplet's importance into dst (R):
//
//	Sᵢ = s(λᵢ) + mean_o s(P[o,i]) + mean_j s(Q[i,j]),   s = Ī·Ū
func (a *Adapter) Scores(dst []float64) {
	for i := 0; i < a.R; i++ {
		var sp, sq float64
		for o := 0; o < a.Out; o++ {
			k := o*a.R + i
			sp += float64(a.barP[k]) * float64(a.uncP[k])
		}
		for j := 0; j < a.In; j++ {
			k := i*a.In + j
			sq += float64(a.barQ[k]) * float64(a.uncQ[k])
		}
		dst[i] = float64(a.barL[i])*float64(a.uncL[i]) + sp/float64(a.Out) + sq/float64(a.In)
	}
}

// Prune marks triplet i as pruned: λᵢ = 0 and B's column i follows.
func (a *Adapter) Prune(i int) {
	a.Kept[i] = false
	a.Lambda[i] = 0
	a.DLambda[i] = 0
	for o := 0; o < a.Out; o++ {
		a.LoRA.B[o*a.R+i] = 0
	}
}

// ClearPrunedGrads zeroes the gradient of every pruned λ, so that the
// optimiser leaves it at zero.
func (a *Adapter) ClearPrunedGrads() {
	for i, k := range a.Kept {
		if !k {
			a.DLambda[i] = 0
		}
	}
}

// DeltaW writes ΔW = s·P·diag(λ)·Q (Out,In) into dst, computed directly
// from the factors (not through the driven LoRA adapter).
func (a *Adapter) DeltaW(dst []float32) {
	s := float64(a.LoRA.Scale)
	for o := 0; o < a.Out; o++ {
		for j := 0; j < a.In; j++ {
			var v float64
			for i := 0; i < a.R; i++ {
				v += float64(a.P[o*a.R+i]) * float64(a.Lambda[i]) * float64(a.Q[i*a.In+j])
			}
			dst[o*a.In+j] = float32(s * v)
		}
	}
}
