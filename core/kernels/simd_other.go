//go:build !(js && wasm && simd)

package kernels

// Without the simd build tag (or outside js/wasm) there are no SIMD
// kernels: every product takes the pure-Go path. These stubs compile away.

const simdEnabled = false

// countScalar counts fallbacks only in the simd build (see MatMulCounts there).
func countScalar() {}

func simdNT(out, a, b []float32, m, n, k int, accumulate bool) bool { return false }
func simdNN(out, a, b []float32, m, n, k int, accumulate bool) bool { return false }
func simdTN(out, a, b []float32, m, n, k int, accumulate bool) bool { return false }

func simdNTBoth(out, a, b, bt []float32, m, n, k int, accumulate bool) bool { return false }

func simdGemm(c, a, b []float32, m, n, k, sai, sap, ldb, ldc int, accumulate bool) bool {
	return false
}

// GeluForwardSIMD and GeluBackwardSIMD do nothing without SIMD: they
// report 0 elements done (see simd_js.go).
func GeluForwardSIMD(out, inp []float32) int         { return 0 }
func GeluBackwardSIMD(dinp, inp, dout []float32) int { return 0 }

// SoftmaxCausalSIMD does nothing without SIMD and reports false.
func SoftmaxCausalSIMD(p []float32, T int, scale float32) bool { return false }

// LayerNormForwardSIMD and LayerNormBackwardSIMD do nothing without SIMD
// and report false.
func LayerNormForwardSIMD(out, mean, rstd, inp, weight, bias []float32, N, C int) bool {
	return false
}
func LayerNormBackwardSIMD(dinp, dout, inp, weight, mean, rstd []float32, N, C int) bool {
	return false
}
