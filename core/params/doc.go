// Package params counts the parameters of a GPT-2-style decoder and of the
// adapters trained on it, and turns those counts into memory figures.
//
// # The base model
//
// The decoder is GPT-2's architecture with vocabulary V, context T, width C
// and L blocks. Its tensors are
//
//	wte   token embedding          V×C
//	wpe   learned positions        T×C
//	per block i = 0 … L-1 (pre-LayerNorm):
//	  ln_1                          C weight + C bias
//	  attn.{q,k,v,o}_proj           C×C weight + C bias   (four of them)
//	  ln_2                          C weight + C bias
//	  mlp.up_proj                  4C×C weight + 4C bias
//	  mlp.down_proj                 C×4C weight + C bias
//	ln_f                            C weight + C bias
//
// and the language-model head is tied to wte (logits = x·wteᵀ), so it adds
// nothing. Linear weights are stored [out, in]. Summing,
//
//	per block  = 4(C² + C) + (4C² + 4C) + (4C² + C) + 2·2C = 12C² + 13C
//	total      = VC + TC + L(12C² + 13C) + 2C.
//
// The number of heads does not appear: splitting C into H heads of C/H
// changes how q, k and v are read, not how many numbers they hold. For
// GPT-2 small (V 50257, T 1024, C 768, L 12) the total is the familiar
// 124,439,808.
//
// # Where LoRA's savings come from
//
// Full fine-tuning updates every entry of a weight W ∈ ℝ^{out×in}: out·in
// numbers. LoRA (Hu et al. 2021, arXiv:2106.09685) freezes W and learns the
// update as a product of two thin matrices,
//
//	W' = W + (α/r)·B·A,   B ∈ ℝ^{out×r},  A ∈ ℝ^{r×in},
//
// so one adapted matrix costs r·(in + out) trainable numbers instead of
// out·in. For a square C×C projection the ratio is
//
//	r·2C / C² = 2r / C,
//
// which for GPT-3 175B (C = 12288) at r = 1 is 1/6144. Adapting q_proj and
// v_proj in all 96 layers gives 96·2·1·(12288+12288) = 4,718,592 trainable
// parameters, the paper's "4.7M"; r = 8 gives 37,748,736, its "37.7M". The
// frozen base still has to be held in memory, but it needs no gradient and no
// optimiser state, and the adapter file holds only the r·(in+out) numbers per
// adapted matrix.
//
// # Memory
//
// Everything is counted in float32 (4 bytes). Training with AdamW keeps, for
// each trainable parameter, the parameter itself (4 bytes), its gradient
// (4 bytes) and two moment estimates (8 bytes); frozen parameters cost only
// their 4 bytes of weights. Activations depend on batch and sequence length
// and are not counted here.
//
// # Methods
//
// Calculate compares four regimes: MethodFull (every parameter trains),
// MethodBias (BitFit, Ben Zaken et al. 2021: every bias vector trains —
// the nine linear biases per block, 4C + 4C + C, and the LayerNorm biases of
// ln_1, ln_2 and ln_f, giving L·11C + C; LayerNorm gains stay frozen),
// MethodLoRA (base frozen, adapters train) and MethodNone (nothing trains).
package params
