//go:build js && wasm && simd

package kernels

// The SIMD128 kernels of core/kernels/simd/kernels.wasm, instantiated by
// the JS glue (assets/js/worker.js; core/kernels/simd/exec.mjs for tests)
// on this instance's own memory and supplied as the "kernels" import.
//
//	sgemm(c, a, b, m, n, k, sai, sap, ldb, ldc, acc):
//	c[i·ldc + j] (+)= Σ_p a[i·sai + p·sap] · b[p·ldb + j]
//
// Pointers are byte addresses in linear memory: Go's garbage collector
// does not move heap objects, and nothing runs on this goroutine (so its
// stack cannot move) while the import runs. go:wasmimport accepts only
// fixed-size scalars and pointers, hence *float32 and int32 parameters.

const simdEnabled = true

// matMulCalls counts the products since the last ResetMatMulCounts: those
// handed to a SIMD kernel and those that fell back to a pure-Go loop.
// js/wasm runs one goroutine, so plain counters suffice.
var matMulCalls struct{ simd, scalar int }

// MatMulCounts reports how many products (MatMulNT/NN/TN and Gemm calls)
// ran on the SIMD128 kernels and how many fell back to pure Go since the
// last ResetMatMulCounts. Tests use it to hold every product of a
// training step to the SIMD path.
func MatMulCounts() (simd, scalar int) { return matMulCalls.simd, matMulCalls.scalar }

// ResetMatMulCounts zeroes the counts MatMulCounts reports.
func ResetMatMulCounts() { matMulCalls.simd, matMulCalls.scalar = 0, 0 }

// countScalar records a product that fell back to pure Go.
func countScalar() { matMulCalls.scalar++ }

// MatMulNT takes the dot-product kernel for fewer than ntDotRows rows
// when k is at least ntDotMinK (see simdNT).
const (
	ntDotRows = 32
	ntDotMinK = 16
)

//go:wasmimport kernels sgemm
//go:noescape
func sgemm(c, a, b *float32, m, n, k, sai, sap, ldb, ldc, acc int32)

// simdTrivial handles the products with no multiply-add at all (and so no
// element to take the address of): it reports whether m, n or k is zero,
// having cleared out when k is zero and accumulate is false.
func simdTrivial(out []float32, m, n, k int, accumulate bool) bool {
	if m == 0 || n == 0 {
		return true
	}
	if k == 0 {
		if !accumulate {
			clear(out[:m*n])
		}
		return true
	}
	return false
}

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

//go:wasmimport kernels sdot_nt
//go:noescape
func sdotNT(c, a, b *float32, m, n, k, lda, ldb, ldc, acc int32)

// simdNT: b(n,k) is transposed into scratch bᵀ(k,n), then the NN form.
// The transpose moves n·k floats in scalar Go (~0.6 ns each), which a
// product of m rows repays only for m around 32 and up: below that, with
// k long enough for its vectors, the dot-product kernel (~35 GFLOP/s
// against sgemm's ~50, no transpose) is faster. That covers the cached
// decoder's matrix-vector products. Measured crossover (n=k=128, node):
// m=16 dot 16 µs vs 21 µs transposed, m=32 32 vs 31, m=64 63 vs 52.
//
// b is transposed a panel of ntPanelCols(k) of its rows at a time, and
// each panel's columns of out are one sgemm call: the scratch is then
// at most ntPanelFloats floats (64 KiB) instead of all of bᵀ (a whole
// weight matrix: 256 KiB for the reference model's MLP, 9 MiB for
// GPT-2 small's), and linear memory never gives back what it grew by.
// sgemm sums every element of out in the same order whatever the
// column range it is given, so the numbers are those of one call.
func simdNT(out, a, b []float32, m, n, k int, accumulate bool) bool {
	if m < ntDotRows && k >= ntDotMinK {
		return simdNTDot(out, a, b, m, n, k, accumulate)
	}
	if simdTrivial(out, m, n, k, accumulate) {
		return true
	}
	matMulCalls.simd++
	nb := ntPanelCols(n, k)
	s := getScratch(nb * k)
	bt := *s
	for j0 := 0; j0 < n; j0 += nb {
		w := min(nb, n-j0)
		transpose(bt, b[j0*k:(j0+w)*k], w, k)
		sgemm(&out[j0], &a[0], &bt[0], int32(m), int32(w), int32(k), int32(k), 1, int32(w), int32(n), b2i(accumulate))
	}
	putScratch(s)
	return true
}

// ntPanelFloats bounds simdNT's transposed panel of b, in floats.
const ntPanelFloats = 16 << 10

// ntPanelCols returns how many of b's n rows (out's columns) simdNT
// transposes at a time for rows of length k: as many as fit in
// ntPanelFloats, a multiple of sgemm's 8-column tile, at least one tile,
// and all n when they fit.
func ntPanelCols(n, k int) int {
	if n*k <= ntPanelFloats {
		return n
	}
	return max(8, ntPanelFloats/k&^7)
}

// simdNTBoth: as simdNT, but with bᵀ at hand the NN form needs no
// transpose.
func simdNTBoth(out, a, b, bt []float32, m, n, k int, accumulate bool) bool {
	if m < ntDotRows && k >= ntDotMinK {
		return simdNTDot(out, a, b, m, n, k, accumulate)
	}
	return simdNN(out, a, bt, m, n, k, accumulate)
}

// simdNTDot computes MatMulNT with sdot_nt, in place.
func simdNTDot(out, a, b []float32, m, n, k int, accumulate bool) bool {
	if simdTrivial(out, m, n, k, accumulate) {
		return true
	}
	matMulCalls.simd++
	sdotNT(&out[0], &a[0], &b[0], int32(m), int32(n), int32(k), int32(k), int32(k), int32(n), b2i(accumulate))
	return true
}

// simdNN: a(m,k) row by row, b(k,n) along its rows, in place.
func simdNN(out, a, b []float32, m, n, k int, accumulate bool) bool {
	if simdTrivial(out, m, n, k, accumulate) {
		return true
	}
	matMulCalls.simd++
	sgemm(&out[0], &a[0], &b[0], int32(m), int32(n), int32(k), int32(k), 1, int32(n), int32(n), b2i(accumulate))
	return true
}

// simdTN: a(k,m) read down its columns (sai=1, sap=m), in place.
func simdTN(out, a, b []float32, m, n, k int, accumulate bool) bool {
	if simdTrivial(out, m, n, k, accumulate) {
		return true
	}
	matMulCalls.simd++
	sgemm(&out[0], &a[0], &b[0], int32(m), int32(n), int32(k), 1, int32(m), int32(n), int32(n), b2i(accumulate))
	return true
}

// simdGemm: Gemm has checked the bounds and handled the empty products.
func simdGemm(c, a, b []float32, m, n, k, sai, sap, ldb, ldc int, accumulate bool) bool {
	matMulCalls.simd++
	sgemm(&c[0], &a[0], &b[0], int32(m), int32(n), int32(k), int32(sai), int32(sap), int32(ldb), int32(ldc), b2i(accumulate))
	return true
}

//go:wasmimport kernels gelu_fwd
//go:noescape
func geluFwd(out, inp *float32, n int32)

//go:wasmimport kernels gelu_bwd
//go:noescape
func geluBwd(dinp, inp, dout *float32, n int32)

// GeluForwardSIMD computes out[i] = gelu(inp[i]) exactly as core/nn's
// scalar GeluForward does, for the leading multiple of 4 of len(inp)
// elements, and returns how many it did; the caller does the rest.
func GeluForwardSIMD(out, inp []float32) int {
	n := len(inp) &^ 3
	if n == 0 {
		return 0
	}
	_ = out[n-1]
	geluFwd(&out[0], &inp[0], int32(n))
	return n
}

// GeluBackwardSIMD writes dinp[i] = gelu'(inp[i])·dout[i] exactly as
// core/nn's scalar GeluBackward does (dinp may be dout itself), for the
// leading multiple of 4 of len(inp) elements, and returns how many it did.
func GeluBackwardSIMD(dinp, inp, dout []float32) int {
	n := len(inp) &^ 3
	if n == 0 {
		return 0
	}
	_, _ = dinp[n-1], dout[n-1]
	geluBwd(&dinp[0], &inp[0], &dout[0], int32(n))
	return n
}

//go:wasmimport kernels softmax_causal
//go:noescape
func softmaxCausal(p *float32, T int32, scale float32)

// SoftmaxCausalSIMD turns the T×T scores p into causal attention weights
// (row t: softmax of p[t, 0..t]·scale, zeros after), exactly as core/nn's
// row loop does, and reports true; without SIMD it does nothing and
// reports false.
func SoftmaxCausalSIMD(p []float32, T int, scale float32) bool {
	if T == 0 {
		return true
	}
	_ = p[T*T-1]
	softmaxCausal(&p[0], int32(T), scale)
	return true
}

//go:wasmimport kernels layernorm_fwd
//go:noescape
func layerNormFwd(out, mean, rstd, inp, w, b *float32, N, C int32)

//go:wasmimport kernels layernorm_bwd
//go:noescape
func layerNormBwd(dinp, dout, inp, w, mean, rstd *float32, N, C int32)

// LayerNormForwardSIMD is core/nn's LayerNormForward on the SIMD kernel
// (row sums in four lanes, so within rounding of the scalar loops). It
// reports false, doing nothing, unless C is a positive multiple of 4.
func LayerNormForwardSIMD(out, mean, rstd, inp, weight, bias []float32, N, C int) bool {
	if C <= 0 || C%4 != 0 || N <= 0 {
		return C%4 == 0 && N == 0
	}
	_, _, _, _ = out[N*C-1], inp[N*C-1], mean[N-1], rstd[N-1]
	_, _ = weight[C-1], bias[C-1]
	layerNormFwd(&out[0], &mean[0], &rstd[0], &inp[0], &weight[0], &bias[0], int32(N), int32(C))
	return true
}

// LayerNormBackwardSIMD accumulates dinp as core/nn's LayerNormBackward
// does (without weight and bias gradients), on the SIMD kernel. It reports
// false, doing nothing, unless C is a positive multiple of 4.
func LayerNormBackwardSIMD(dinp, dout, inp, weight, mean, rstd []float32, N, C int) bool {
	if C <= 0 || C%4 != 0 || N <= 0 {
		return C%4 == 0 && N == 0
	}
	_, _, _ = dinp[N*C-1], dout[N*C-1], inp[N*C-1]
	_, _, _ = weight[C-1], mean[N-1], rstd[N-1]
	layerNormBwd(&dinp[0], &dout[0], &inp[0], &weight[0], &mean[0], &rstd[0], int32(N), int32(C))
	return true
}
