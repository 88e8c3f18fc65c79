package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"sync"
	"testing"
)

type matMulFunc func(out, a, b []float32, m, n, k int, accumulate bool)

// kernelPair is a fast kernel and its naive reference; pattern names the
// transpose pattern (NT, NN or TN), for modelShapes.
type kernelPair struct {
	name, pattern string
	fast, naive   matMulFunc
}

// kernelPairs pairs each fast kernel with its naive reference. In the simd
// build (simd_js_test.go) the pure-Go paths are added as well.
var kernelPairs = []kernelPair{
	{"NT", "NT", MatMulNT, MatMulNTNaive},
	{"NTBoth", "NT", ntBoth, MatMulNTNaive},
	{"NN", "NN", MatMulNN, MatMulNNNaive},
	{"TN", "TN", MatMulTN, MatMulTNNaive},
}

// ntBoth is MatMulNTBoth given bᵀ, made here.
func ntBoth(out, a, b []float32, m, n, k int, accumulate bool) {
	bt := make([]float32, n*k)
	Transpose(bt, b, n, k)
	MatMulNTBoth(out, a, b, bt, m, n, k, accumulate)
}

// shape is one product out(m,n) with inner dimension k.
type shape struct{ m, n, k int }

func (s shape) String() string { return fmt.Sprintf("%dx%dx%d", s.m, s.n, s.k) }

// edgeShapes exercise every remainder of the 4×2 tile and the 4-way unroll
// of k, plus empty and degenerate products.
var edgeShapes = []shape{
	{0, 0, 0}, {0, 3, 2}, {3, 0, 2}, {3, 2, 0}, {1, 1, 0},
	{1, 1, 1}, {1, 2, 3}, {2, 1, 4}, {3, 5, 7}, {4, 2, 1}, {4, 2, 4}, {4, 2, 5},
	{5, 3, 6}, {7, 9, 11}, {8, 8, 8}, {9, 10, 13}, {13, 17, 3},
	{16, 16, 16}, {1, 97, 5}, {97, 1, 5}, {6, 97, 97}, {97, 97, 97}, {33, 65, 129},
	{64, 64, 32}, {64, 32, 64},
}

// modelShapes are the products of training a GPT with C = 128, T = 64,
// batch 8 (512 rows), vocabulary 97 and LoRA rank 8, for every pattern.
var modelShapes = map[string][]shape{
	"NT": {{512, 128, 128}, {512, 512, 128}, {512, 128, 512}, {512, 97, 128}, {512, 8, 128}, {512, 128, 8}, {64, 64, 32}},
	"NN": {{512, 128, 128}, {512, 128, 512}, {512, 512, 128}, {512, 128, 97}, {512, 128, 8}, {64, 32, 64}},
	"TN": {{128, 128, 512}, {512, 128, 512}, {128, 512, 512}, {8, 128, 512}, {128, 8, 512}, {97, 128, 512}, {64, 64, 32},
		{8, 128, 4096}, {13, 9, 2*tnBlockK + 37}}, // long k: several chunks of MatMulTN, the last one short
}

// randSlice returns n values uniform in [-1, 1) from rng.
func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*rng.Float32() - 1
	}
	return s
}

// absProducts returns, for each out[i,j], Σ_p |a·b| computed by the naive
// kernel on |a|, |b|: the scale that bounds float32 summation error.
func absProducts(naive matMulFunc, a, b []float32, m, n, k int) []float32 {
	abs := func(s []float32) []float32 {
		r := make([]float32, len(s))
		for i, v := range s {
			r[i] = float32(math.Abs(float64(v)))
		}
		return r
	}
	mag := make([]float32, m*n)
	naive(mag, abs(a), abs(b), m, n, k, false)
	return mag
}

// checkClose compares got with want element by element. Two float32 sums of
// the same k+1 terms (k products and, when accumulating, the old out value)
// in different orders each lie within γ·Σ|term| of the exact value, with
// γ ≈ (k+1)·2⁻²⁴, so they may differ by 2γ·Σ|term|.
func checkClose(t *testing.T, got, want, mag, init []float32, k int) {
	t.Helper()
	const u = 1.0 / (1 << 24)
	for i := range want {
		scale := float64(mag[i])
		if init != nil {
			scale += math.Abs(float64(init[i]))
		}
		tol := 2*float64(k+1)*u*scale + 1e-30
		if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= tol) {
			t.Fatalf("out[%d] = %g, naive %g: |diff| %g > tol %g", i, got[i], want[i], d, tol)
		}
	}
}

func TestMatMulMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, kp := range kernelPairs {
		shapes := append(append([]shape{}, edgeShapes...), modelShapes[kp.pattern]...)
		for _, s := range shapes {
			for _, acc := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%v/acc=%v", kp.name, s, acc), func(t *testing.T) {
					m, n, k := s.m, s.n, s.k
					a, b := randSlice(rng, m*k), randSlice(rng, n*k)
					init := randSlice(rng, m*n)
					want := append([]float32(nil), init...)
					got := append([]float32(nil), init...)
					kp.naive(want, a, b, m, n, k, acc)
					kp.fast(got, a, b, m, n, k, acc)
					if !acc {
						init = nil
					}
					checkClose(t, got, want, absProducts(kp.naive, a, b, m, n, k), init, k)
				})
			}
		}
	}
}

// TestMatMulExact uses small integers, for which every float32 sum is exact
// whatever the order, so fast and naive must agree bit for bit.
func TestMatMulExact(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for _, kp := range kernelPairs {
		for _, s := range edgeShapes {
			m, n, k := s.m, s.n, s.k
			ints := func(n int) []float32 {
				r := make([]float32, n)
				for i := range r {
					r[i] = float32(rng.Intn(9) - 4)
				}
				return r
			}
			a, b := ints(m*k), ints(n*k)
			want, got := ints(m*n), make([]float32, m*n)
			copy(got, want)
			kp.naive(want, a, b, m, n, k, true)
			kp.fast(got, a, b, m, n, k, true)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s %v: out[%d] = %v, want %v", kp.name, s, i, got[i], want[i])
				}
			}
		}
	}
}

// TestMatMulStaysInBounds gives each kernel an out with spare capacity and
// slices a and b with trailing data, then checks that nothing past out's
// m·n region was written and that a and b were not modified.
func TestMatMulStaysInBounds(t *testing.T) {
	const guard = 37
	sentinel := float32(math.Inf(-1))
	rng := rand.New(rand.NewSource(3))
	for _, kp := range kernelPairs {
		for _, s := range edgeShapes {
			for _, acc := range []bool{false, true} {
				m, n, k := s.m, s.n, s.k
				buf := make([]float32, guard+m*n+guard)
				for i := range buf {
					buf[i] = sentinel
				}
				out := buf[guard : guard+m*n] // capacity runs into the tail guard
				for i := range out {
					out[i] = 0
				}
				a := randSlice(rng, m*k+guard)
				b := randSlice(rng, n*k+guard)
				a0, b0 := append([]float32(nil), a...), append([]float32(nil), b...)
				kp.fast(out, a[:m*k], b[:n*k], m, n, k, acc)
				for i, v := range buf {
					if (i < guard || i >= guard+m*n) && v != sentinel {
						t.Fatalf("%s %v acc=%v: wrote %v at offset %d outside out", kp.name, s, acc, v, i-guard)
					}
				}
				for i := range a {
					if a[i] != a0[i] {
						t.Fatalf("%s %v: modified a[%d]", kp.name, s, i)
					}
				}
				for i := range b {
					if b[i] != b0[i] {
						t.Fatalf("%s %v: modified b[%d]", kp.name, s, i)
					}
				}
			}
		}
	}
}

func TestMatMulPanicsOnShortSlices(t *testing.T) {
	for _, kp := range kernelPairs {
		for _, c := range []struct{ out, a, b int }{{5, 4, 6}, {6, 3, 6}, {6, 4, 5}} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%s lens %v: no panic", kp.name, c)
					}
				}()
				kp.fast(make([]float32, c.out), make([]float32, c.a), make([]float32, c.b), 2, 3, 2, false)
			}()
		}
	}
}

func TestMatMulNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	for _, kp := range kernelPairs {
		if kp.name == "NTBoth" {
			continue // its test wrapper allocates bᵀ; MatMulNTBoth itself is checked below
		}
		for _, s := range []shape{{512, 128, 128}, {128, 512, 512}, {3, 5, 7}} {
			a, b, out := randSlice(rng, s.m*s.k), randSlice(rng, s.n*s.k), make([]float32, s.m*s.n)
			allocs := testing.AllocsPerRun(5, func() {
				kp.fast(out, a, b, s.m, s.n, s.k, true)
			})
			if allocs != 0 {
				t.Errorf("%s %v: %v allocations per call, want 0", kp.name, s, allocs)
			}
		}
	}
	a, b, bt, out := randSlice(rng, 512*128), randSlice(rng, 128*128), make([]float32, 128*128), make([]float32, 512*128)
	if allocs := testing.AllocsPerRun(5, func() { MatMulNTBoth(out, a, b, bt, 512, 128, 128, true) }); allocs != 0 {
		t.Errorf("MatMulNTBoth: %v allocations per call, want 0", allocs)
	}
}

// TestMatMulConcurrent runs every kernel from several goroutines at once
// (sharing the scratch free list) and checks each result.
func TestMatMulConcurrent(t *testing.T) {
	const workers = 4
	rng := rand.New(rand.NewSource(5))
	s := shape{64, 48, 40}
	a, b := randSlice(rng, s.m*s.k), randSlice(rng, s.n*s.k)
	for _, kp := range kernelPairs {
		want := make([]float32, s.m*s.n)
		kp.fast(want, a, b, s.m, s.n, s.k, false)
		var wg sync.WaitGroup
		errs := make(chan string, workers)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out := make([]float32, s.m*s.n)
				for rep := 0; rep < 20; rep++ {
					kp.fast(out, a, b, s.m, s.n, s.k, false)
					for i := range out {
						if out[i] != want[i] {
							errs <- fmt.Sprintf("%s: out[%d] = %v, want %v", kp.name, i, out[i], want[i])
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	}
}

// BenchmarkMatMul reports GFLOP/s (2·m·n·k flops per call) for the naive and
// fast kernel of each pattern on the model's shapes (and, in the simd build,
// the pure-Go path as NT-go etc.); compare the lines of one run, since
// absolute numbers on a shared machine drift.
func BenchmarkMatMul(b *testing.B) {
	for _, kp := range kernelPairs {
		for _, s := range modelShapes[kp.pattern] {
			rng := rand.New(rand.NewSource(6))
			a, bb, out := randSlice(rng, s.m*s.k), randSlice(rng, s.n*s.k), make([]float32, s.m*s.n)
			impls := []struct {
				name string
				f    matMulFunc
			}{{"naive", kp.naive}, {"fast", kp.fast}}
			if kp.name != kp.pattern {
				impls = impls[1:] // the naive line is already there
			}
			for _, impl := range impls {
				b.Run(fmt.Sprintf("%s/%v/%s", kp.name, s, impl.name), func(b *testing.B) {
					for b.Loop() {
						impl.f(out, a, bb, s.m, s.n, s.k, true)
					}
					b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

func TestTranspose(t *testing.T) {
	for _, s := range []struct{ r, c int }{{0, 0}, {1, 1}, {1, 9}, {9, 1}, {3, 8}, {8, 3}, {5, 17}, {512, 128}, {7, 97}} {
		src := make([]float32, s.r*s.c)
		for i := range src {
			src[i] = float32(i)
		}
		dst := make([]float32, s.r*s.c)
		transpose(dst, src, s.r, s.c)
		for i := 0; i < s.r; i++ {
			for j := 0; j < s.c; j++ {
				if dst[j*s.r+i] != src[i*s.c+j] {
					t.Fatalf("%dx%d: dst[%d,%d] = %v, want %v", s.r, s.c, j, i, dst[j*s.r+i], src[i*s.c+j])
				}
			}
		}
	}
}

// gemmNaive is Gemm's definition, written out.
func gemmNaive(c, a, b []float32, m, n, k, sai, sap, ldb, ldc int, accumulate bool) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				s += a[i*sai+p*sap] * b[p*ldb+j]
			}
			if accumulate {
				c[i*ldc+j] += s
			} else {
				c[i*ldc+j] = s
			}
		}
	}
}

// TestGemmStrided checks Gemm against its definition (bit for bit: both
// sum in the same order) on sub-matrices with padded strides, both
// orientations of a, and checks that nothing outside c's m×n block moves.
func TestGemmStrided(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	sentinel := float32(math.Inf(1))
	for _, s := range append(append([]shape{}, edgeShapes...), shape{64, 32, 64}, shape{64, 64, 32}) {
		for _, transA := range []bool{false, true} {
			for _, acc := range []bool{false, true} {
				m, n, k := s.m, s.n, s.k
				pad := 1 + rng.Intn(5)
				sai, sap := k+pad, 1
				if transA {
					sai, sap = 1, m+pad
				}
				ldb, ldc := n+pad, n+pad+1
				a := randSlice(rng, m*sai+k*sap+pad)
				b := randSlice(rng, k*ldb+pad)
				c := randSlice(rng, m*ldc+pad)
				for i := 0; i < m; i++ {
					for j := n; j < ldc && i*ldc+j < len(c); j++ {
						c[i*ldc+j] = sentinel // the gaps between rows
					}
				}
				want := append([]float32(nil), c...)
				gemmNaive(want, a, b, m, n, k, sai, sap, ldb, ldc, acc)
				Gemm(c, a, b, m, n, k, sai, sap, ldb, ldc, acc)
				for i := range want {
					if c[i] != want[i] {
						t.Fatalf("%v transA=%v acc=%v: c[%d] = %v, want %v", s, transA, acc, i, c[i], want[i])
					}
				}
			}
		}
	}
}

func TestGemmPanicsOnShortSlices(t *testing.T) {
	for i, c := range []struct{ c, a, b int }{{5, 4, 6}, {6, 3, 6}, {6, 4, 5}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("case %d: no panic", i)
				}
			}()
			// m=2, n=3, k=2 with tight strides needs c 6, a 4, b 6.
			Gemm(make([]float32, c.c), make([]float32, c.a), make([]float32, c.b), 2, 3, 2, 2, 1, 3, 3, false)
		}()
	}
}
