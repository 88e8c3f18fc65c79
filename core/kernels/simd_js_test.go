//go:build js && wasm && simd

package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"os"
	"runtime"
	"testing"
	"time"
	"unsafe"
)

// In the simd build MatMulNT/NN/TN run the SIMD128 kernels; the pure-Go
// paths stay under test beside them (and in BenchmarkMatMul, for the
// GFLOP/s ratio of one run).
func init() {
	check := func(f matMulFunc) matMulFunc {
		return func(out, a, b []float32, m, n, k int, accumulate bool) {
			checkDims(out, a, b, m, n, k)
			f(out, a, b, m, n, k, accumulate)
		}
	}
	kernelPairs = append(kernelPairs,
		kernelPair{"NT-go", "NT", check(goNT), MatMulNTNaive},
		kernelPair{"NN-go", "NN", check(goNN), MatMulNNNaive},
		kernelPair{"TN-go", "TN", check(goTN), MatMulTNNaive},
		kernelPair{"NT-dot", "NT", check(func(out, a, b []float32, m, n, k int, acc bool) { simdNTDot(out, a, b, m, n, k, acc) }), MatMulNTNaive},
	)
}

func TestSIMDEnabled(t *testing.T) {
	if !simdEnabled {
		t.Fatal("the simd build does not use the SIMD kernels")
	}
}

// TestSIMDSpeed prints GFLOP/s of the SIMD and pure-Go paths on the model's
// shapes, alternating the two in rounds and keeping each one's best round,
// so a shared, noisy machine distorts the ratio as little as possible.
// It runs only with LORA_KERNEL_SPEED=1 (./build.sh bench sets it).
func TestSIMDSpeed(t *testing.T) {
	if os.Getenv("LORA_KERNEL_SPEED") == "" {
		t.Skip("set LORA_KERNEL_SPEED=1 to measure")
	}
	dotNT := func(out, a, b []float32, m, n, k int, acc bool) { simdNTDot(out, a, b, m, n, k, acc) }
	impls := map[string][]matMulFunc{
		"NT": {goNT, MatMulNT, dotNT}, "NN": {goNN, MatMulNN}, "TN": {goTN, MatMulTN},
	}
	var logGo, logSIMD float64
	count := 0
	for _, pattern := range []string{"NT", "NN", "TN"} {
		for _, s := range modelShapes[pattern] {
			rng := rand.New(rand.NewSource(6))
			a, b, out := randSlice(rng, s.m*s.k), randSlice(rng, s.n*s.k), make([]float32, s.m*s.n)
			flops := 2 * float64(s.m*s.n*s.k)
			reps := max(1, int(4e6/flops)) // about 1 ms of SIMD work per timing
			best := [3]float64{}
			for round := 0; round < 9; round++ {
				for v, f := range impls[pattern] {
					f(out, a, b, s.m, s.n, s.k, true) // warm (and tier up) first
					start := time.Now()
					for r := 0; r < reps; r++ {
						f(out, a, b, s.m, s.n, s.k, true)
					}
					if g := flops * float64(reps) / time.Since(start).Seconds() / 1e9; g > best[v] {
						best[v] = g
					}
				}
			}
			line := fmt.Sprintf("%s %-12v go %6.2f GFLOP/s   simd %6.2f GFLOP/s   ×%.1f", pattern, s, best[0], best[1], best[1]/best[0])
			if best[2] > 0 {
				line += fmt.Sprintf("   (dot-product form %.2f)", best[2])
			}
			t.Log(line)
			logGo += math.Log(best[0])
			logSIMD += math.Log(best[1])
			count++
		}
	}
	t.Logf("geometric mean: go %.2f, simd %.2f GFLOP/s, ×%.1f", math.Exp(logGo/float64(count)), math.Exp(logSIMD/float64(count)), math.Exp((logSIMD-logGo)/float64(count)))
}

// TestSIMDAfterMemoryGrowth runs the kernels on slices allocated after the
// Go heap has grown well past its initial memory: the kernel instance
// imports the same WebAssembly.Memory, so it must see the new pages.
func TestSIMDAfterMemoryGrowth(t *testing.T) {
	const n = 24 << 20 // 96 MiB of float32
	big := make([]float32, n)
	tail := big[n-3*64*64:]
	if addr := uintptr(unsafe.Pointer(&tail[0])); addr < 64<<20 {
		t.Fatalf("slice at %#x: the heap did not grow past 64 MiB", addr)
	}
	rng := rand.New(rand.NewSource(7))
	copy(tail, randSlice(rng, len(tail)))
	out, a, b := tail[:64*64], tail[64*64:2*64*64], tail[2*64*64:]
	for _, kp := range kernelPairs[:3] {
		want := make([]float32, 64*64)
		kp.naive(want, a, b, 64, 64, 64, false)
		kp.fast(out, a, b, 64, 64, 64, false)
		for i := range want {
			if out[i] != want[i] {
				t.Fatalf("%s: out[%d] = %v, want %v", kp.name, i, out[i], want[i])
			}
		}
	}
	runtime.KeepAlive(big)
}

// TestMatMulCountsSeeFallbacks checks the counters the step test relies
// on: products on the kernels count as SIMD, an empty product counts as
// neither, and a product that takes the pure-Go path counts as a fallback.
func TestMatMulCountsSeeFallbacks(t *testing.T) {
	a, b, out := make([]float32, 64*8), make([]float32, 64*8), make([]float32, 64*64)
	ResetMatMulCounts()
	MatMulNT(out, a, b, 64, 64, 8, false)
	MatMulNN(out, a, b, 64, 64, 8, false)
	MatMulTN(out, a, b, 64, 64, 8, false)
	Gemm(out, a, b, 64, 64, 8, 8, 1, 64, 64, false)
	MatMulNT(out, a, b, 0, 64, 8, false)
	if simd, scalar := MatMulCounts(); simd != 4 || scalar != 0 {
		t.Errorf("after 4 SIMD products and an empty one: %d SIMD, %d scalar", simd, scalar)
	}
	countScalar() // what MatMulNT/NN/TN and Gemm call when the SIMD path declines
	if _, scalar := MatMulCounts(); scalar != 1 {
		t.Errorf("a fallback was not counted: %d", scalar)
	}
	ResetMatMulCounts()
	if simd, scalar := MatMulCounts(); simd != 0 || scalar != 0 {
		t.Errorf("ResetMatMulCounts left %d, %d", simd, scalar)
	}
}

// TestSIMDNTPanels checks simdNT on products whose bᵀ is larger than
// one panel (ntPanelFloats), with and without a short last panel: out
// must equal the naive kernel's bit for bit (sgemm sums in the naive
// order whatever columns it is given), and the scratch it leaves must
// hold one panel, not the whole transpose.
func TestSIMDNTPanels(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	for _, s := range []shape{{512, 512, 128}, {512, 128, 512}, {64, 300, 100}, {33, 2*ntPanelFloats/8 + 3, 8}, {40, 9, 5000}} {
		m, n, k := s.m, s.n, s.k
		if nb := ntPanelCols(n, k); nb >= n || nb%8 != 0 || nb*k > max(ntPanelFloats, 8*k) {
			t.Fatalf("%v: panel of %d columns", s, nb)
		}
		for _, acc := range []bool{false, true} {
			scratch.free = nil
			a, b := randSlice(rng, m*k), randSlice(rng, n*k)
			want := randSlice(rng, m*n)
			got := append([]float32(nil), want...)
			MatMulNTNaive(want, a, b, m, n, k, acc)
			MatMulNT(got, a, b, m, n, k, acc)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%v acc=%v: out[%d] = %v, naive %v", s, acc, i, got[i], want[i])
				}
			}
			if len(scratch.free) != 1 || cap(*scratch.free[0]) > max(ntPanelFloats, 8*k) {
				t.Errorf("%v: scratch left %d buffers, the first of %d floats", s, len(scratch.free), cap(*scratch.free[0]))
			}
		}
	}
}
