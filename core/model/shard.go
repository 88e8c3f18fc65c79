package model

// SetLossNormalizer sets the denominator W of the loss whose gradient the
// next Backward computes. Forward sets it to the sum of its own weights, so
// Backward gives the gradient of that pass's mean loss. Data-parallel
// training splits a batch's rows between workers; each calls
//
//	Forward(rows of its shard) ; SetLossNormalizer(W of the whole batch) ; Backward
//
// so that its gradient is ∂(Σ_{n∈shard} w_n·ℓ_n / W)/∂θ, and the plain sum
// of the shards' gradients is the whole batch's, ∂(Σ_n w_n·ℓ_n / W)/∂θ. Each
// row's dlogits are then the very numbers a single pass over the whole batch
// computes; only the order of the sums over rows differs. W ≤ 0 makes
// Backward's gradient zero, as for a pass with no counted tokens.
func (a *Activations) SetLossNormalizer(w float64) { a.weightSum = max(w, 0) }
