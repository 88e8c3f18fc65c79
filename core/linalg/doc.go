// Package linalg is the dense float64 linear algebra the playground's
// analyses need (core/analysis, the worker's ΔW spectrum): a row-major
// matrix, [Dense], and its singular value decomposition, [Factorize].
//
// It exists for the size of the training worker's wasm. gonum's SVD
// (LAPACK's dgesvd: Householder bidiagonalisation, then implicit QR on the
// bidiagonal) links gonum's blas and lapack, about 160 KB of gzip in a wasm
// binary; the method here is ~150 lines. gonum stays the reference: the
// tests hold this SVD equal to gonum's on random, rank-deficient, tall,
// wide and ill-conditioned matrices.
//
// # The SVD by one-sided Jacobi rotations (Hestenes 1958)
//
// Every real m×n matrix A factors as A = U Σ Vᵀ with U (m×p) and V (n×p)
// orthonormal columns and Σ = diag(σ₁ ≥ … ≥ σ_p ≥ 0), p = min(m, n).
// Equivalently, A·V = U Σ: some orthogonal V makes the columns of A·V
// mutually orthogonal, and then their lengths are the σⱼ and their
// directions the uⱼ.
//
// One-sided Jacobi finds that V as a product of plane rotations. Take two
// columns a_p, a_q of the current A·V with α = ‖a_p‖², β = ‖a_q‖²,
// γ = a_p·a_q. Rotating them by an angle θ,
//
//	a_p ← c·a_p − s·a_q     a_q ← s·a_p + c·a_q     (c = cos θ, s = sin θ)
//
// makes them orthogonal when t = tan θ solves t² + 2ζt − 1 = 0 with
// ζ = (β − α)/(2γ); the smaller root, t = sign(ζ)/(|ζ| + √(1+ζ²)), keeps
// |θ| ≤ π/4. The same rotation applied to columns p, q of V (starting from
// V = I) keeps A·V in step with V. A rotation can spoil the orthogonality
// of pairs done before, but Σ_{p≠q} (a_p·a_q)² falls by 2γ² with every
// rotation, so sweeping over all pairs again and again converges, and
// quadratically once the columns are nearly orthogonal: the matrices here
// (at most a few hundred wide) take 6–10 sweeps. A sweep stops rotating when
// every pair has |γ| ≤ tol·√(αβ), tol = √m·ε (LAPACK's dgesvj uses the same
// test). Because the test is relative to the two columns' lengths, small
// singular values come out with small relative error, not merely small
// error relative to σ₁ (Demmel and Veselić 1992: one-sided Jacobi is at
// least as accurate as bidiagonal QR, and more so on graded matrices).
//
// Columns are rows here: the vectors being rotated are stored contiguously
// (the rows of Aᵀ for a tall A), so each pair's dot products and rotation
// run over two contiguous slices. A wide A (m < n) is factored as its
// transpose, Aᵀ = V Σ Uᵀ, whose columns are A's rows: fewer, longer vectors,
// p(p−1)/2 pairs per sweep either way.
//
// When A is rank-deficient, some a_j end at zero length and have no
// direction. Their uⱼ are then completed to an orthonormal basis (the unit
// vector eᵢ furthest from the span of the others, orthogonalised against
// it twice), so U always has orthonormal columns, as LAPACK's does.
package linalg
