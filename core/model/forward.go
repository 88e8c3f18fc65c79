package model

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/lora-playground/lora-playground/core/kernels"
	"github.com/lora-playground/lora-playground/core/nn"
	"github.com/lora-playground/lora-playground/core/profile"
)

// layerActs are the activations of one block kept for the backward pass.
//
// ln1, atty, ln2 and gelu are the inputs of the linear layers (ln1 of
// q/k/v, atty of o_proj, ln2 of up_proj, gelu of down_proj). The backward
// pass reads a layer's input only for its weight gradient or its adapter,
// so atty, ln2 and gelu are allocated on the first Forward that needs them
// (see Model.keepsInput); otherwise the forward pass writes them into
// backward scratch, which is free until the backward pass. ln1 is never
// kept: the forward pass writes it into dgelu's quarter 3, and when the
// backward pass needs it, it recomputes it there (at the address the
// adapters of q, k and v still point to) from the block's input and
// ln1Mean, ln1Rstd — one layer norm, ~1% of a step; block 0's input is
// itself recomputed from the tokens when it is not kept. With LoRA on q
// and v, no linear layer's input is kept.
//
// The attention weights (B,NH,T,T) are not kept either: the backward pass
// recomputes them from q and k (nn.AttentionBackward), which is why q is
// kept whenever the model trains.
type layerActs struct {
	ln1Mean []float32 // (B,T)
	ln1Rstd []float32 // (B,T)
	q, k, v []float32 // (B,T,C); q nil unless training
	atty    []float32 // (B,T,C) attention output before o_proj, nil unless kept
	res2    []float32 // (B,T,C) residual after the attention branch
	ln2     []float32 // (B,T,C), nil unless kept
	ln2Mean []float32 // (B,T)
	ln2Rstd []float32 // (B,T)
	up      []float32 // (B,T,4C)
	gelu    []float32 // (B,T,4C), nil unless kept
}

// Activations are the buffers of one forward/backward pass for batches of up
// to MaxB sequences of up to MaxT tokens. Allocate once, reuse every step.
type Activations struct {
	MaxB, MaxT int
	B, T       int // shape of the last forward pass

	// resid[0] is the embedding, resid[l+1] the output of block l. resid[0]
	// is nil unless kept: only ln_1's backward pass in block 0 reads it, and
	// that runs only when something below block 0 trains (the embeddings or
	// ln_1 itself); otherwise it lives in backward scratch (dgelu's quarter
	// 2) during the forward pass, and the backward pass recomputes it from
	// the tokens if it needs block 0's ln1.
	resid            [][]float32
	layers           []layerActs
	lnf              []float32 // (B,T,C) the head's input, nil unless kept (when wte trains)
	lnfMean, lnfRstd []float32 // (B,T)
	// Logits (B,T,V) after Forward, unless SoftmaxInPlace; the gradient of
	// the loss with respect to them after Backward. There is no (B,T,V)
	// buffer for the probabilities: they are computed over the logits.
	Logits []float32
	// SoftmaxInPlace makes a Forward with targets turn Logits into the
	// probabilities, which Backward reads. A trainer, whose Activations
	// nobody reads the logits of, sets it. Otherwise Forward computes only
	// the loss and leaves the logits, and Backward computes the
	// probabilities over them (one more exponential per logit, ~2% of a
	// step). The numbers are the same either way.
	SoftmaxInPlace bool
	probs          bool // Logits holds the probabilities of the last Forward

	// Backward scratch, reused across layers. Buffers whose lives do not
	// overlap share memory: datty is dln (dln is dead from ln_2's backward
	// until the q/k/v projections'); dq, dk, dv and the recomputed ln1 are
	// the four (B,T,C) quarters of the block's own up buffer, dead once the
	// MLP's backward pass has turned it into the up projection's output
	// gradient and that has been used. In the forward pass dres holds a
	// branch's output before it joins the residual stream, and the
	// quarters of up hold ln1 (and block 0's input, and q when nothing
	// trains) until up is computed.
	//
	// The MLP's (B,T,4C) GELU output and its gradient exist whole only
	// when down_proj has an adapter (gelu kept, dgelu for the adapter's
	// input gradient). Otherwise they are made and used in blocks of
	// mlpBlock rows in mlpRows: the forward pass applies GELU and down_proj
	// block by block, and the backward pass computes each block's dgelu =
	// dres·W_down and its GELU backward, which writes dup over up. Each row
	// is computed exactly as in one whole-batch product, so the numbers are
	// the same; down_proj's weight gradient (full fine-tuning) reads the
	// kept GELU output and dres over all rows in one product as before.
	dres    []float32 // (B,T,C) gradient of the residual stream
	dln     []float32 // (B,T,C)
	datty   []float32 // (B,T,C) = dln
	dgelu   []float32 // (B,T,4C), nil unless a down_proj has an adapter
	mlpRows []float32 // (≤ 2·mlpBlock-1, 4C), nil until a block-wise MLP pass needs it and dln is too small (see rowsBuffer)

	weightSum float64
}

// mlpBlock is the row block of the MLP's block-wise passes. At least
// kernels' ntDotRows (32), so that every block's product takes the same
// kernel as the whole batch's would (the last block takes the remainder,
// so it is never shorter), and a multiple of the 4-row register tile.
// A variable only so that a test can make one block of the whole batch.
var mlpBlock = 32

// mlpBlockEnd returns the end of the MLP row block of N rows that starts
// at r0: mlpBlock rows on, or N for the last block, which takes the
// remainder.
func mlpBlockEnd(r0, N int) int {
	if r1 := r0 + mlpBlock; N-r1 >= mlpBlock {
		return r1
	}
	return N
}

// wholeDgelu returns dgelu, allocated for the largest batch on first use.
func (a *Activations) wholeDgelu(C int) []float32 {
	if a.dgelu == nil {
		a.dgelu = make([]float32, a.MaxB*a.MaxT*4*C)
	}
	return a.dgelu
}

// rowsBuffer returns the buffer of the MLP's block-wise passes, for the
// largest block: dln when it is large enough (batches of 4·(2·mlpBlock-1)
// = 252 tokens and more), since nothing reads dln while they run (in the
// forward pass it held ln_2's output, which up_proj has consumed; in the
// backward pass it is next written by up_proj's input gradient); else
// mlpRows, allocated on first use.
func (a *Activations) rowsBuffer(C int) []float32 {
	n := min(a.MaxB*a.MaxT, 2*mlpBlock-1) * 4 * C
	if reuseDeadBuffers && len(a.dln) >= n {
		return a.dln[:n]
	}
	if a.mlpRows == nil {
		a.mlpRows = make([]float32, n)
	}
	return a.mlpRows
}

// reuseDeadBuffers lets rowsBuffer and freeDuringMLP lend buffers that are
// dead at the time. A variable only so that a test can compare with
// separate buffers.
var reuseDeadBuffers = true

// freeDuringMLP returns n floats that nothing reads between the start of
// block l's MLP in the forward pass and the end of the block, or nil: the
// block's output resid[l+1], written only after the MLP, or else the next
// block's up buffer, written only in that block. Their old contents are
// the last pass's, which its backward pass has used.
func (a *Activations) freeDuringMLP(l, n int) []float32 {
	if !reuseDeadBuffers {
		return nil
	}
	if len(a.resid[l+1]) >= n {
		return a.resid[l+1][:n]
	}
	if l+1 < len(a.layers) && len(a.layers[l+1].up) >= n {
		return a.layers[l+1].up[:n]
	}
	return nil
}

// quarter returns quarter i of block l's up buffer, a (B,T,C) buffer for
// the largest batch (see Activations).
func (a *Activations) quarter(l, i int) []float32 {
	n := len(a.dres) // MaxB·MaxT·C
	return a.layers[l].up[i*n : (i+1)*n]
}

// NewActivations allocates buffers for batches up to B×T.
func NewActivations(c Config, B, T int) *Activations {
	C, V, L := c.NEmbd, c.VocabSize, c.NLayer
	N := B * T
	f := func(n int) []float32 { return make([]float32, n) }
	a := &Activations{MaxB: B, MaxT: T}
	a.resid = make([][]float32, L+1)
	for i := 1; i < len(a.resid); i++ { // resid[0]: allocated by Forward when kept
		a.resid[i] = f(N * C)
	}
	a.layers = make([]layerActs, L)
	for l := range a.layers {
		a.layers[l] = layerActs{
			ln1Mean: f(N), ln1Rstd: f(N),
			k: f(N * C), v: f(N * C), // q: allocated by Forward when training
			res2: f(N * C), ln2Mean: f(N), ln2Rstd: f(N),
			up: f(N * 4 * C),
		}
	}
	a.lnfMean, a.lnfRstd = f(N), f(N) // lnf: allocated by Forward when kept
	a.Logits = f(N * V)
	a.dres, a.dln = f(N*C), f(N*C) // dgelu, mlpRows: allocated when needed
	a.datty = a.dln                // see Activations
	return a
}

// Bytes is the size of the buffers a holds, in bytes: what a training or
// evaluation pass costs in activation memory.
func (a *Activations) Bytes() int64 {
	n := 0
	add := func(s ...[]float32) {
		for _, x := range s {
			n += len(x)
		}
	}
	add(a.resid...)
	for _, la := range a.layers {
		add(la.ln1Mean, la.ln1Rstd, la.q, la.k, la.v, la.atty, la.res2, la.ln2, la.ln2Mean, la.ln2Rstd, la.up, la.gelu)
	}
	add(a.lnf, a.lnfMean, a.lnfRstd, a.Logits) // datty is dln
	add(a.dres, a.dln, a.dgelu, a.mlpRows)
	return 4 * int64(n)
}

// keepsInput reports whether the backward pass reads the input of module
// mod of layer l: when its weight trains (dW = dYᵀ·X) or an adapter hangs
// on it (dA needs x). Only a model being trained (G non-nil) keeps any.
func (m *Model) keepsInput(l, mod int) bool {
	if m.G == nil {
		return false
	}
	return m.G.Blocks[l].Lin[mod].W != nil || (m.Adapters != nil && !m.Merged && m.Adapters[l][mod] != nil)
}

// needsOutputGrad reports whether the backward pass needs the gradient of
// the output of module mod of layer l for that module's own sake: its
// weight or bias trains, or an adapter hangs on it.
func (m *Model) needsOutputGrad(l, mod int) bool {
	return m.keepsInput(l, mod) || (m.G != nil && m.G.Blocks[l].Lin[mod].B != nil)
}

// needsBlockInputGrad reports whether the backward pass must carry the
// gradient below block l's q/k/v projections: always above block 0, and at
// block 0 only when ln_1 or the embeddings train.
func (m *Model) needsBlockInputGrad(l int) bool {
	g := m.G
	return g != nil && (l > 0 || g.WTE != nil || g.WPE != nil || g.Blocks[0].Ln1W != nil || g.Blocks[0].Ln1B != nil)
}

// input returns the buffer the forward pass writes a linear layer's input
// into: *kept, allocated for the largest batch on first use, when the
// backward pass will read it, else the scratch temp.
func (a *Activations) input(kept *[]float32, keep bool, perRow int, temp []float32) []float32 {
	if !keep {
		return temp
	}
	if *kept == nil {
		*kept = make([]float32, a.MaxB*a.MaxT*perRow)
	}
	return *kept
}

// linearForward applies module mod of layer l, and its adapter unless merged.
func (m *Model) linearForward(out, in []float32, l, mod, N int, rng *rand.Rand) {
	lin := &m.W.Blocks[l].Lin[mod]
	o, i := m.Config.ModuleShape(mod)
	nn.LinearForwardT(out[:N*o], in[:N*i], lin.W, m.frozenT(l, mod), lin.B, N, i, o)
	if m.Adapters != nil && !m.Merged {
		if ad := m.Adapters[l][mod]; ad != nil {
			t0 := profile.Begin()
			ad.Forward(out, in, N, rng != nil, rng)
			profile.End(profile.LoRA, t0)
		}
	}
}

// Forward runs the model on inputs (B,T). With targets and weights (B,T) it
// also returns the weighted mean cross-entropy in nats per counted token
// (weights mask prompt and padding positions). rng drives LoRA dropout; pass
// nil for evaluation, which disables dropout.
func (m *Model) Forward(a *Activations, inputs, targets []int32, weights []float32, B, T int, rng *rand.Rand) (loss float64, err error) {
	c := m.Config
	C, V, NH := c.NEmbd, c.VocabSize, c.NHead
	if B > a.MaxB || T > a.MaxT || T > c.NCtx || B < 1 || T < 1 {
		return 0, fmt.Errorf("model: batch %d×%d does not fit the buffers (%d×%d) or the context (%d)", B, T, a.MaxB, a.MaxT, c.NCtx)
	}
	N := B * T
	for i, id := range inputs[:N] {
		if id < 0 || int(id) >= V {
			return 0, fmt.Errorf("model: token id %d at position %d is outside the vocabulary (size %d)", id, i, V)
		}
	}
	a.B, a.T = B, T
	a.probs = false
	w := m.W
	var tp time.Duration // profile brackets
	// Block 0's input is kept only when ln_1's backward pass there reads it
	// (see Activations.resid); else it waits in quarter 2 of block 0's up
	// buffer, which nothing touches before the residual add that is its
	// last use.
	x0 := a.input(&a.resid[0], m.needsBlockInputGrad(0), C, a.quarter(0, 2))
	nn.EncoderForward(x0, inputs, w.WTE, w.WPE, B, T, C)
	for l := range w.Blocks {
		blk := &w.Blocks[l]
		la := &a.layers[l]
		x := x0[:N*C]
		if l > 0 {
			x = a.resid[l][:N*C]
		}
		// The inputs of the linear layers, kept or in backward scratch
		// (ln1 never kept; see layerActs).
		ln1 := a.quarter(l, 3)
		atty := a.input(&la.atty, m.keepsInput(l, ModO), C, a.datty)
		ln2 := a.input(&la.ln2, m.keepsInput(l, ModUp), C, a.dln)
		branch := a.dres
		tp = profile.Begin()
		nn.LayerNormForward(ln1, la.ln1Mean, la.ln1Rstd, x, blk.Ln1W, blk.Ln1B, N, C)
		profile.End(profile.LayerNorm, tp)
		// q is read back to recompute the attention weights; when nothing
		// trains it lives in quarter 1 of up.
		q := a.input(&la.q, m.G != nil, C, a.quarter(l, 1))
		m.linearForward(q, ln1, l, ModQ, N, rng)
		m.linearForward(la.k, ln1, l, ModK, N, rng)
		m.linearForward(la.v, ln1, l, ModV, N, rng)
		nn.AttentionForward(atty, q, la.k, la.v, B, T, C, NH)
		m.linearForward(branch, atty, l, ModO, N, rng)
		res2 := la.res2[:N*C]
		for i := range res2 {
			res2[i] = x[i] + branch[i]
		}
		tp = profile.Begin()
		nn.LayerNormForward(ln2, la.ln2Mean, la.ln2Rstd, res2, blk.Ln2W, blk.Ln2B, N, C)
		profile.End(profile.LayerNorm, tp)
		m.linearForward(la.up, ln2, l, ModUp, N, rng)
		if m.keepsInput(l, ModDown) || m.hasAdapter(l, ModDown) {
			// Whole: kept for down_proj's gradients, or in dgelu for
			// its adapter (in evaluation).
			var gelu []float32
			if m.keepsInput(l, ModDown) {
				gelu = a.input(&la.gelu, true, 4*C, nil)
			} else {
				gelu = a.wholeDgelu(C)
			}
			tp = profile.Begin()
			nn.GeluForward(gelu[:N*4*C], la.up[:N*4*C])
			profile.End(profile.GELU, tp)
			m.linearForward(branch, gelu, l, ModDown, N, rng)
		} else {
			m.mlpDownRows(a, branch, l, N)
		}
		next := a.resid[l+1][:N*C]
		for i := range next {
			next[i] = res2[i] + branch[i]
		}
	}
	lnf := a.input(&a.lnf, m.G != nil && m.G.WTE != nil, C, a.dln) // read back only for wte's gradient
	tp = profile.Begin()
	nn.LayerNormForward(lnf, a.lnfMean, a.lnfRstd, a.resid[c.NLayer], w.LnFW, w.LnFB, N, C)
	profile.End(profile.LayerNorm, tp)
	nn.LinearForwardT(a.Logits, lnf, w.WTE, m.headT(), nil, N, C, V) // tied head: logits = lnf·wteᵀ
	if targets == nil {
		return 0, nil
	}
	for i, id := range targets[:N] {
		if id < 0 || int(id) >= V {
			return 0, fmt.Errorf("model: target id %d at position %d is outside the vocabulary (size %d)", id, i, V)
		}
	}
	tp = profile.Begin()
	var probs []float32 // nil: the loss only
	if a.SoftmaxInPlace {
		probs = a.Logits
	}
	loss, a.weightSum = nn.CrossEntropyForward(probs, a.Logits, targets, weights, N, V)
	a.probs = a.SoftmaxInPlace
	profile.End(profile.CrossEntropy, tp)
	return loss, nil
}

// Backward accumulates gradients of the last Forward's loss into m.G and
// into the adapters' gradients. m.G must be allocated (nil slices are
// frozen) and zeroed by the caller.
func (m *Model) Backward(a *Activations, inputs, targets []int32, weights []float32) {
	c := m.Config
	C, V, NH := c.NEmbd, c.VocabSize, c.NHead
	B, T := a.B, a.T
	N := B * T
	w, g := m.W, m.G
	var tp time.Duration // profile brackets

	tp = profile.Begin()
	if !a.probs {
		nn.SoftmaxRows(a.Logits[:N*V], N, V)
	}
	dlogits := a.Logits // each probability is read just before it is overwritten
	nn.CrossEntropyBackward(dlogits, a.Logits, targets, weights, a.weightSum, N, V)
	profile.End(profile.CrossEntropy, tp)
	dres := a.dres[:N*C]
	dln := a.dln[:N*C]
	clear(dln)
	nn.LinearBackwardT(dln, g.WTE, nil, dlogits, a.lnf, w.WTE, m.headT(), N, C, V)
	clear(dres)
	tp = profile.Begin()
	nn.LayerNormBackward(dres, g.LnFW, g.LnFB, dln, a.resid[c.NLayer], w.LnFW, a.lnfMean, a.lnfRstd, N, C)
	profile.End(profile.LayerNorm, tp)

	for l := c.NLayer - 1; l >= 0; l-- {
		blk, gb := &w.Blocks[l], &g.Blocks[l]
		la := &a.layers[l]

		// MLP branch: resid[l+1] = res2 + down(gelu(up(ln2(res2)))).
		var dup []float32
		if m.hasAdapter(l, ModDown) { // its input gradient needs dgelu whole
			dgelu := a.wholeDgelu(C)[:N*4*C]
			clear(dgelu)
			m.linearBackward(dgelu, dres, la.gelu, l, ModDown, N)
			dup = dgelu // GELU's backward turns dgelu into dup in place
			tp = profile.Begin()
			nn.GeluBackward(dup, la.up[:N*4*C], dgelu)
			profile.End(profile.GELU, tp)
		} else {
			dup = m.mlpBackwardRows(a, dres, l, N)
		}
		clear(dln)
		m.linearBackward(dln, dup, la.ln2, l, ModUp, N)
		tp = profile.Begin()
		nn.LayerNormBackward(dres, gb.Ln2W, gb.Ln2B, dln, la.res2, blk.Ln2W, la.ln2Mean, la.ln2Rstd, N, C)
		profile.End(profile.LayerNorm, tp)

		// Attention branch: res2 = resid[l] + o(attn(q,k,v of ln1(resid[l]))).
		// up (now dup) is dead from here on: its quarters hold dq, dk, dv, ln1.
		datty := a.datty[:N*C]
		clear(datty)
		m.linearBackward(datty, dres, la.atty, l, ModO, N)
		// Below layer 0's ln_1 only the embeddings remain: when they and
		// ln_1 are frozen, the gradient with respect to the input of the
		// q/k/v projections is never read, so skip computing it; and then
		// when k_proj neither trains nor has an adapter, nothing reads dk
		// either, so attention skips it.
		needInput := m.needsBlockInputGrad(l)
		needDK := needInput || m.needsOutputGrad(l, ModK)
		dq, dk, dv := a.quarter(l, 0)[:N*C], a.quarter(l, 1)[:N*C], a.quarter(l, 2)[:N*C]
		clear(dq)
		clear(dv)
		if needDK {
			clear(dk)
		} else {
			dk = nil
		}
		nn.AttentionBackward(dq, dk, dv, datty, la.q, la.k, la.v, B, T, C, NH)
		// ln1, where Forward wrote it, the same numbers, when a weight
		// gradient or an adapter reads it.
		ln1 := a.quarter(l, 3)[:N*C]
		if m.keepsInput(l, ModQ) || m.keepsInput(l, ModK) || m.keepsInput(l, ModV) {
			x := a.resid[l]
			if !needInput && l == 0 { // block 0's input was not kept; dln is free then
				x = dln
				nn.EncoderForward(x, inputs, w.WTE, w.WPE, B, T, C)
			}
			tp = profile.Begin()
			nn.LayerNormForward(ln1, la.ln1Mean, la.ln1Rstd, x[:N*C], blk.Ln1W, blk.Ln1B, N, C)
			profile.End(profile.LayerNorm, tp)
		}
		var dlnIn []float32
		if needInput {
			clear(dln)
			dlnIn = dln
		}
		m.linearBackward(dlnIn, dq, ln1, l, ModQ, N)
		if needDK {
			m.linearBackward(dlnIn, dk, ln1, l, ModK, N)
		}
		m.linearBackward(dlnIn, dv, ln1, l, ModV, N)
		if needInput {
			tp = profile.Begin()
			nn.LayerNormBackward(dres, gb.Ln1W, gb.Ln1B, dln, a.resid[l], blk.Ln1W, la.ln1Mean, la.ln1Rstd, N, C)
			profile.End(profile.LayerNorm, tp)
		}
	}
	nn.EncoderBackward(g.WTE, g.WPE, dres, inputs, B, T, C)
}

// hasAdapter reports whether module mod of layer l has an active adapter.
func (m *Model) hasAdapter(l, mod int) bool {
	return m.Adapters != nil && !m.Merged && m.Adapters[l][mod] != nil
}

// mlpDownRows is the forward pass's GELU and down_proj of layer l, block
// by block (see Activations), for a down_proj without adapter whose input
// is not kept: out (N,C) = gelu(up)·W_downᵀ + b_down. In the SIMD build
// W_down is transposed once for all blocks, as the whole-batch product
// would have done once, into a buffer that is free meanwhile when there
// is one large enough (see freeDuringMLP; batches of 4C tokens and more),
// else into kernel scratch, which would stay allocated.
func (m *Model) mlpDownRows(a *Activations, out []float32, l, N int) {
	C := m.Config.NEmbd
	lin := &m.W.Blocks[l].Lin[ModDown]
	up, rows := a.layers[l].up, a.rowsBuffer(C)
	wt := m.frozenT(l, ModDown)
	var s *[]float32
	if wt == nil && kernels.SIMD {
		if wt = a.freeDuringMLP(l, 4*C*C); wt == nil {
			s = kernels.Scratch(4 * C * C)
			wt = *s
		}
		kernels.Transpose(wt, lin.W, C, 4*C)
	}
	for r0, r1 := 0, 0; r0 < N; r0 = r1 {
		r1 = mlpBlockEnd(r0, N)
		g := rows[:(r1-r0)*4*C]
		tp := profile.Begin()
		nn.GeluForward(g, up[r0*4*C:r1*4*C])
		profile.End(profile.GELU, tp)
		nn.LinearForwardT(out[r0*C:r1*C], g, lin.W, wt, lin.B, r1-r0, 4*C, C)
	}
	if s != nil {
		kernels.ReleaseScratch(s)
	}
}

// mlpBackwardRows is the backward pass through down_proj (without
// adapter) and GELU of layer l, block by block (see Activations): it
// accumulates down_proj's weight and bias gradients if they train (over
// all rows at once, from the kept GELU output), then for each block
// computes dgelu = dres·W_down and writes dup = gelu'(up)·dgelu over up,
// which it returns.
func (m *Model) mlpBackwardRows(a *Activations, dres []float32, l, N int) []float32 {
	C := m.Config.NEmbd
	lin, glin := &m.W.Blocks[l].Lin[ModDown], &m.G.Blocks[l].Lin[ModDown]
	la := &a.layers[l]
	if glin.W != nil || glin.B != nil {
		var gelu []float32 // read only for the weight's gradient, when it was kept
		if glin.W != nil {
			gelu = la.gelu[:N*4*C]
		}
		nn.LinearBackwardT(nil, glin.W, glin.B, dres, gelu, lin.W, nil, N, 4*C, C)
	}
	up, rows, wt := la.up[:N*4*C], a.rowsBuffer(C), m.frozenT(l, ModDown)
	for r0, r1 := 0, 0; r0 < N; r0 = r1 {
		r1 = mlpBlockEnd(r0, N)
		dg := rows[:(r1-r0)*4*C]
		clear(dg)
		nn.LinearBackwardT(dg, nil, nil, dres[r0*C:r1*C], nil, lin.W, wt, r1-r0, 4*C, C)
		u := up[r0*4*C : r1*4*C]
		tp := profile.Begin()
		nn.GeluBackward(u, u, dg) // dup over up
		profile.End(profile.GELU, tp)
	}
	return up
}

// linearBackward is LinearBackward for module mod of layer l plus its adapter.
func (m *Model) linearBackward(dinp, dout, inp []float32, l, mod, N int) {
	o, i := m.Config.ModuleShape(mod)
	lin, glin := &m.W.Blocks[l].Lin[mod], &m.G.Blocks[l].Lin[mod]
	if inp != nil { // nil when not kept: then neither dW nor an adapter needs it
		inp = inp[:N*i]
	}
	nn.LinearBackwardT(dinp, glin.W, glin.B, dout[:N*o], inp, lin.W, m.frozenT(l, mod), N, i, o)
	if m.Adapters != nil && !m.Merged {
		if ad := m.Adapters[l][mod]; ad != nil {
			t0 := profile.Begin()
			ad.Backward(dinp, dout[:N*o], N)
			profile.End(profile.LoRA, t0)
		}
	}
}
