// Package kernels holds the dense float32 matrix kernels that training spends
// its time in. Every matrix is a flat, row-major []float32.
//
// A linear layer y = x·Wᵀ + b (W stored [out, in], PyTorch's convention) needs
// three products during training, one per transpose pattern:
//
//	forward   Y  = X · Wᵀ      MatMulNT  (m=rows, n=out, k=in)
//	backward  dX = dY · W      MatMulNN  (m=rows, n=in,  k=out)
//	backward  dW = dYᵀ · X     MatMulTN  (m=out,  n=in,  k=rows)
//
// Each fast kernel has a naive reference beside it (the *Naive functions) and
// tests hold them equal within float32 rounding.
//
// In js/wasm built with the simd tag the products (and Gemm, GELU, the
// attention softmax and layer norm, through the *SIMD functions) run on
// the WebAssembly SIMD128 kernels that core/kernels/simd emits; see
// simd_js.go. Every other build, and the reference the SIMD kernels are
// tested against, is the pure-Go code.
package kernels

// MatMulNTNaive computes out(m,n) = a(m,k) · b(n,k)ᵀ, or adds it to out when
// accumulate is true.
func MatMulNTNaive(out, a, b []float32, m, n, k int, accumulate bool) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				s += a[i*k+p] * b[j*k+p]
			}
			if accumulate {
				out[i*n+j] += s
			} else {
				out[i*n+j] = s
			}
		}
	}
}

// MatMulNNNaive computes out(m,n) = a(m,k) · b(k,n), or adds it to out when
// accumulate is true.
func MatMulNNNaive(out, a, b []float32, m, n, k int, accumulate bool) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				s += a[i*k+p] * b[p*n+j]
			}
			if accumulate {
				out[i*n+j] += s
			} else {
				out[i*n+j] = s
			}
		}
	}
}

// MatMulTNNaive computes out(m,n) = a(k,m)ᵀ · b(k,n), or adds it to out when
// accumulate is true.
func MatMulTNNaive(out, a, b []float32, m, n, k int, accumulate bool) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				s += a[p*m+i] * b[p*n+j]
			}
			if accumulate {
				out[i*n+j] += s
			} else {
				out[i*n+j] = s
			}
		}
	}
}
