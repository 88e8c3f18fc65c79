package kernels

// SIMD reports whether the products run on the WebAssembly SIMD128 kernels
// (js/wasm built with the simd tag), so callers can pick the formulation
// that is fastest there, such as attention as per-head matrix products.
const SIMD = simdEnabled

// Gemm is the general strided product
//
//	c[i·ldc + j] (+)= Σ_{p<k} a[i·sai + p·sap] · b[p·ldb + j]    (i < m, j < n)
//
// overwriting c's m×n block, or adding to it when accumulate is true. It
// covers products of sub-matrices, such as one attention head's columns of
// a (T, C) activation (row stride C), and either orientation of a:
// a(m,k) row-major is sai=k, sap=1; a(k,m) read transposed is sai=1, sap=m.
// b is always read along its rows. c must not overlap a or b.
//
// Each output is Σ_p in ascending p from zero, then stored or added to c,
// as the naive kernels do; the SIMD128 kernel (simd build) sums in the same
// order, so both paths give identical results. The pure-Go path here is a
// plain loop, meant for tests and small products: the models' large
// products go through MatMulNT/NN/TN.
func Gemm(c, a, b []float32, m, n, k, sai, sap, ldb, ldc int, accumulate bool) {
	if m < 0 || n < 0 || k < 0 || sai < 0 || sap < 0 || ldb < 0 || ldc < 0 {
		panic("kernels: negative Gemm dimension or stride")
	}
	if m == 0 || n == 0 {
		return
	}
	if len(c) < (m-1)*ldc+n || (k > 0 && (len(a) < (m-1)*sai+(k-1)*sap+1 || len(b) < (k-1)*ldb+n)) {
		panic("kernels: Gemm slice shorter than its dimensions and strides")
	}
	if k == 0 {
		if !accumulate {
			for i := 0; i < m; i++ {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
	}
	if simdGemm(c, a, b, m, n, k, sai, sap, ldb, ldc, accumulate) {
		return
	}
	countScalar()
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		for j := range ci {
			var s float32
			for p := 0; p < k; p++ {
				s += a[i*sai+p*sap] * b[p*ldb+j]
			}
			if accumulate {
				ci[j] += s
			} else {
				ci[j] = s
			}
		}
	}
}

// Scratch returns a float32 buffer of length n (contents unspecified) from
// the package's free list, for callers that need temporary space in a
// training step without allocating; give it back with ReleaseScratch.
func Scratch(n int) *[]float32 { return getScratch(n) }

// ReleaseScratch returns a buffer from Scratch to the free list.
func ReleaseScratch(s *[]float32) { putScratch(s) }

// Transpose writes dst(c,r) = src(r,c)ᵀ, that is dst[j·r+i] = src[i·c+j],
// for the first r·c elements of each.
func Transpose(dst, src []float32, r, c int) {
	if r < 0 || c < 0 || len(dst) < r*c || len(src) < r*c {
		panic("kernels: Transpose slice shorter than its dimensions")
	}
	transpose(dst, src, r, c)
}
