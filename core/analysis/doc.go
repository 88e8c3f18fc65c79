// Package analysis reproduces three of the LoRA paper's (Hu et al. 2021,
// arXiv 2106.09685) questions about what an adapter's update ΔW = s·B·A is,
// and implements the two ways PEFT combines adapters. Everything is computed
// in float64 with core/linalg's SVD (one-sided Jacobi, held equal to
// gonum's in its tests); the adapters themselves are float32.
//
// # Subspace similarity (paper §7.2, Eq. 4)
//
// A LoRA matrix A (r×k) reads its input through r directions of the
// k-dimensional input space: its row space. The SVD A = U Σ Vᵀ orders those
// directions by importance: the columns of V (the right-singular vectors,
// which the paper calls U_A) with the largest singular values first. To ask
// how much of the top-i directions of one adapter the top-j directions of
// another cover, the paper defines
//
//	φ(A₁, A₂, i, j) = ‖V₁⁽ⁱ⁾ᵀ V₂⁽ʲ⁾‖²_F / min(i, j)  ∈ [0, 1]
//
// where V⁽ⁱ⁾ is the first i columns. ‖V₁⁽ⁱ⁾ᵀ V₂⁽ʲ⁾‖²_F is the sum of the
// squared cosines of the principal angles between the two subspaces, so φ
// is 1 when the smaller subspace lies inside the larger and 0 when they are
// orthogonal. [SubspaceSimilarity] returns the whole grid i = 1..r₁,
// j = 1..r₂.
//
// What to compare it against: for two independent, uniformly random
// subspaces of dimensions i and j in R^k, E[P Pᵀ] = (i/k)·I for the i-dim
// one's orthonormal basis P, so E‖PᵀQ‖²_F = tr(E[PPᵀ]·QQᵀ) = (i/k)·j and
//
//	E φ = i·j / (k·min(i, j)) = max(i, j) / k.
//
// The top-i right-singular subspace of a Gaussian matrix is such a uniform
// random subspace (the Gaussian is rotation invariant), so
// [RandomBaseline] (two seeded Gaussian A matrices of the adapters' shapes)
// scatters around that value. The paper found, for GPT-3 175B, that the
// top direction of A_{r=8} and A_{r=64} overlap with φ > 0.5 while the rest
// look like noise: the update has a very low "intrinsic rank".
//
// # Amplification (paper §7.3, Table 7)
//
// Does ΔW point where W already points? Take ΔW's top-r left and right
// singular vectors U (d×r) and V (k×r) and project W onto them: ‖UᵀWV‖_F is
// how much of W lives in ΔW's subspace. Compare with U, V from W's own top
// singular vectors (then ‖UᵀWV‖_F = √(σ₁²+…+σ_r²) of W, its largest
// possible value) and from random orthonormal matrices. The paper found,
// for GPT-3's layer-48 W_q, 0.32 (ΔW's directions) against 21.67 (W's) and
// 0.02 (random) at r = 4: ΔW amplifies directions that W has but does not
// emphasise, and by a large factor: ‖ΔW‖_F / ‖UᵀWV‖_F = 6.91 / 0.32 ≈ 21.5.
// [Amplify] computes all of these for one layer.
//
// # Combining adapters (PEFT's add_weighted_adapter)
//
// Two adapters trained for different tasks can be mixed into one. Exactly,
// the mix of updates Σ wᵢ ΔWᵢ = Σ wᵢ sᵢ Bᵢ Aᵢ is itself low-rank, of rank at
// most Σ rᵢ, and PEFT's "cat" method writes it as one adapter by stacking:
//
//	A = [w₁s₁A₁; w₂s₂A₂; …]   (Σrᵢ × k)     B = [B₁ B₂ …]   (d × Σrᵢ)
//
// so B·A = Σ wᵢ sᵢ Bᵢ Aᵢ to rounding, with the new scale 1 (PEFT sets
// lora_alpha = r). PEFT's "linear" method keeps the rank instead (all rᵢ
// must be equal) and mixes the factors:
//
//	A = Σ sign(wᵢsᵢ)·√|wᵢsᵢ|·Aᵢ     B = Σ √|wᵢsᵢ|·Bᵢ
//
// which is exact for one adapter but for two gives B·A = Σᵢ Σⱼ (…) Bᵢ Aⱼ:
// cross terms B₁A₂ and B₂A₁ that neither adapter learnt. Even an adapter
// blended with itself at 0.5 and 0.5 comes out as (√0.5+√0.5)²·ΔW = 2·ΔW. [Combine] builds
// both as ordinary PEFT adapters; [ExactDelta] gives the ΔW-space mix to
// compare against.
package analysis
