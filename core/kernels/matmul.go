package kernels

// MatMulNT computes out(m,n) = a(m,k) · b(n,k)ᵀ (or += when accumulate).
func MatMulNT(out, a, b []float32, m, n, k int, accumulate bool) {
	MatMulNTNaive(out, a, b, m, n, k, accumulate)
}

// MatMulNN computes out(m,n) = a(m,k) · b(k,n) (or += when accumulate).
func MatMulNN(out, a, b []float32, m, n, k int, accumulate bool) {
	MatMulNNNaive(out, a, b, m, n, k, accumulate)
}

// MatMulTN computes out(m,n) = a(k,m)ᵀ · b(k,n) (or += when accumulate).
func MatMulTN(out, a, b []float32, m, n, k int, accumulate bool) {
	MatMulTNNaive(out, a, b, m, n, k, accumulate)
}
