package kernels

import "sync"

// In the js/wasm build with the simd tag, MatMulNT/NN/TN hand their
// products to WebAssembly SIMD128 kernels instead (simd_js.go); everywhere
// else, and as the tested reference there, they run the pure-Go paths
// below (goNT, goNN, goTN).
//
// The fast kernels share one micro-kernel, ntTile, which computes
// out(m,n) = a(m,k) · b(n,k)ᵀ with both operands contiguous along k. MatMulNN
// and MatMulTN first transpose whichever operand is not k-contiguous into a
// scratch buffer and then call it. Transposing costs (m+n)·k moves against
// m·n·k multiply-adds, a ratio of at most 1/m + 1/n: under 1% for the
// 512-row products of a linear layer, about 13% for the rank-8 LoRA
// gradient (8×128×512). In exchange only one inner loop has to be fast.
//
// Why this form. Go's js/wasm backend emits scalar wasm and has 16 float32
// registers; every slice load costs an address computation plus an
// i64→i32 wrap, and a spilled accumulator costs a store and a load to Go's
// stack in linear memory. So the inner loop should (1) hold as many
// accumulators as fit without spilling, (2) reuse every loaded value
// several times, and (3) carry no bounds checks and few loop branches.
// Measured on this project's shapes (native and wasm under node, see
// BenchmarkMatMul), a 4×2 output tile with k unrolled by 4 was the best of
// the tiles tried (4×4, 4×3, 3×4, 3×2, 2×4, 2×2, 4×1; unroll 1, 2, 4, 8):
// 8 accumulators plus 6 operands per k step fit the 16 registers, 6 loads
// feed 8 multiply-adds, and the unroll amortises the loop branch. 4×4 tiles
// spill (16 accumulators alone fill the register file) and ran at about
// half the speed natively.
//
// For NN and TN the alternatives that avoid scratch were measured too: a
// register tile that reads the strided operand row by row (one slice bounds
// check per k step) and an i-tile × j-vector "axpy" form that keeps out in
// memory. In wasm they ran 30–55% slower than transpose-then-NT.

// MatMulNT computes out(m,n) = a(m,k) · b(n,k)ᵀ, that is
//
//	out[i,j] (+)= Σ_p a[i,p]·b[j,p],
//
// overwriting out, or adding to it when accumulate is true. Only out's
// first m·n elements are touched.
//
// Tiling: 4 rows of a × 2 rows of b at a time, the 8 dot products held in
// registers while p runs along k (unrolled by 4); both operands are read
// contiguously. Leftover rows (m mod 4) and a leftover column (n odd) are
// computed as plain dot products.
func MatMulNT(out, a, b []float32, m, n, k int, accumulate bool) {
	checkDims(out, a, b, m, n, k)
	if simdNT(out, a, b, m, n, k, accumulate) {
		return
	}
	countScalar()
	goNT(out, a, b, m, n, k, accumulate)
}

// goNT is MatMulNT's pure-Go path.
func goNT(out, a, b []float32, m, n, k int, accumulate bool) {
	ntTile(out, a, b, m, n, k, accumulate)
}

// MatMulNTBoth computes out(m,n) = a(m,k) · b(n,k)ᵀ like MatMulNT, given
// the same matrix in both layouts: b (n,k) and bt = bᵀ (k,n). Each path
// then reads the layout it wants and transposes nothing: the pure-Go tile
// reads b along k, the SIMD kernel reads bt along its rows. bt nil means
// MatMulNT.
//
// It is for a frozen weight W (Out,In), whose transpose can be made once
// per training run instead of once per product:
//
//	forward   Y  = X · Wᵀ      MatMulNTBoth(Y, X, W, Wᵀ, N, Out, In)
//	backward  dX = dY · W      MatMulNTBoth(dX, dY, Wᵀ, W, N, In, Out)
func MatMulNTBoth(out, a, b, bt []float32, m, n, k int, accumulate bool) {
	if bt == nil {
		MatMulNT(out, a, b, m, n, k, accumulate)
		return
	}
	checkDims(out, a, b, m, n, k)
	if len(bt) < n*k {
		panic("kernels: matrix slice shorter than its dimensions")
	}
	if simdNTBoth(out, a, b, bt, m, n, k, accumulate) {
		return
	}
	countScalar()
	ntTile(out, a, b, m, n, k, accumulate)
}

// MatMulNN computes out(m,n) = a(m,k) · b(k,n), that is
//
//	out[i,j] (+)= Σ_p a[i,p]·b[p,j],
//
// overwriting out, or adding to it when accumulate is true.
//
// Tiling: b is transposed into scratch bᵀ(n,k) so that both operands are
// contiguous along k, then the 4×2 register tile of MatMulNT runs. The
// scratch comes from a package free list, so steady-state calls do not
// allocate and concurrent calls each get their own buffer.
func MatMulNN(out, a, b []float32, m, n, k int, accumulate bool) {
	checkDims(out, a, b, m, n, k)
	if simdNN(out, a, b, m, n, k, accumulate) {
		return
	}
	countScalar()
	goNN(out, a, b, m, n, k, accumulate)
}

// goNN is MatMulNN's pure-Go path.
func goNN(out, a, b []float32, m, n, k int, accumulate bool) {
	s := getScratch(n * k)
	bt := *s
	transpose(bt, b, k, n)
	ntTile(out, a, bt, m, n, k, accumulate)
	putScratch(s)
}

// MatMulTN computes out(m,n) = a(k,m)ᵀ · b(k,n), that is
//
//	out[i,j] (+)= Σ_p a[p,i]·b[p,j],
//
// overwriting out, or adding to it when accumulate is true.
//
// Tiling: k is cut into chunks of tnBlockK; for each chunk both a's and
// b's rows are transposed into scratch, aᵀ(m,kc) and bᵀ(n,kc), and the 4×2
// register tile of MatMulNT adds that chunk's products to out. This is the
// dW = dYᵀ·X product, where k is the (long) row count B·T and both
// operands would otherwise be read with a stride of m or n per step of k.
// Chunking bounds the scratch at (m+n)·tnBlockK floats however large the
// batch, and keeps the transposed panels in cache while the tile reads
// them; each output is then the sum of its per-chunk partial sums, within
// float32 rounding of the naive kernel's single running sum.
func MatMulTN(out, a, b []float32, m, n, k int, accumulate bool) {
	checkDims(out, a, b, m, n, k)
	if simdTN(out, a, b, m, n, k, accumulate) {
		return
	}
	countScalar()
	goTN(out, a, b, m, n, k, accumulate)
}

// tnBlockK is MatMulTN's chunk of k. Products with k ≤ tnBlockK (every
// product of a batch of up to 256 tokens) sum in the naive order exactly.
const tnBlockK = 256

// goTN is MatMulTN's pure-Go path.
func goTN(out, a, b []float32, m, n, k int, accumulate bool) {
	if k == 0 {
		ntTile(out, nil, nil, m, n, 0, accumulate)
		return
	}
	kc := min(k, tnBlockK)
	s := getScratch((m + n) * kc)
	for p0 := 0; p0 < k; p0 += kc {
		kb := min(kc, k-p0)
		at, bt := (*s)[:m*kb], (*s)[m*kb:(m+n)*kb]
		transpose(at, a[p0*m:(p0+kb)*m], kb, m)
		transpose(bt, b[p0*n:(p0+kb)*n], kb, n)
		ntTile(out, at, bt, m, n, kb, accumulate || p0 > 0)
	}
	putScratch(s)
}

// checkDims panics unless out holds m·n and a, b hold m·k and n·k elements
// (in whichever layout).
func checkDims(out, a, b []float32, m, n, k int) {
	if m < 0 || n < 0 || k < 0 || len(out) < m*n || len(a) < m*k || len(b) < n*k {
		panic("kernels: matrix slice shorter than its dimensions")
	}
}

// ntTile computes out(m,n) (+)= a(m,k) · b(n,k)ᵀ with a 4×2 register tile
// and k unrolled by 4. The comment at the top of this file says why.
func ntTile(out, a, b []float32, m, n, k int, accumulate bool) {
	m4, n2 := m-m%4, n-n%2
	for i := 0; i < m4; i += 4 {
		a0 := a[i*k : i*k+k : i*k+k]
		a1 := a[(i+1)*k : (i+2)*k : (i+2)*k][:len(a0)]
		a2 := a[(i+2)*k : (i+3)*k : (i+3)*k][:len(a0)]
		a3 := a[(i+3)*k : (i+4)*k : (i+4)*k][:len(a0)]
		for j := 0; j < n2; j += 2 {
			b0 := b[j*k : j*k+k : j*k+k][:len(a0)]
			b1 := b[(j+1)*k : (j+2)*k : (j+2)*k][:len(a0)]
			var c00, c01, c10, c11, c20, c21, c30, c31 float32
			p := 0
			for ; p < len(a0)-3; p += 4 {
				x0, x1, x2, x3 := a0[p], a1[p], a2[p], a3[p]
				y0, y1 := b0[p], b1[p]
				c00 += x0 * y0
				c01 += x0 * y1
				c10 += x1 * y0
				c11 += x1 * y1
				c20 += x2 * y0
				c21 += x2 * y1
				c30 += x3 * y0
				c31 += x3 * y1
				x0, x1, x2, x3 = a0[p+1], a1[p+1], a2[p+1], a3[p+1]
				y0, y1 = b0[p+1], b1[p+1]
				c00 += x0 * y0
				c01 += x0 * y1
				c10 += x1 * y0
				c11 += x1 * y1
				c20 += x2 * y0
				c21 += x2 * y1
				c30 += x3 * y0
				c31 += x3 * y1
				x0, x1, x2, x3 = a0[p+2], a1[p+2], a2[p+2], a3[p+2]
				y0, y1 = b0[p+2], b1[p+2]
				c00 += x0 * y0
				c01 += x0 * y1
				c10 += x1 * y0
				c11 += x1 * y1
				c20 += x2 * y0
				c21 += x2 * y1
				c30 += x3 * y0
				c31 += x3 * y1
				x0, x1, x2, x3 = a0[p+3], a1[p+3], a2[p+3], a3[p+3]
				y0, y1 = b0[p+3], b1[p+3]
				c00 += x0 * y0
				c01 += x0 * y1
				c10 += x1 * y0
				c11 += x1 * y1
				c20 += x2 * y0
				c21 += x2 * y1
				c30 += x3 * y0
				c31 += x3 * y1
			}
			for ; p < len(a0); p++ {
				x0, x1, x2, x3 := a0[p], a1[p], a2[p], a3[p]
				y0, y1 := b0[p], b1[p]
				c00 += x0 * y0
				c01 += x0 * y1
				c10 += x1 * y0
				c11 += x1 * y1
				c20 += x2 * y0
				c21 += x2 * y1
				c30 += x3 * y0
				c31 += x3 * y1
			}
			o0 := out[i*n+j : i*n+j+2 : i*n+j+2]
			o1 := out[(i+1)*n+j : (i+1)*n+j+2 : (i+1)*n+j+2]
			o2 := out[(i+2)*n+j : (i+2)*n+j+2 : (i+2)*n+j+2]
			o3 := out[(i+3)*n+j : (i+3)*n+j+2 : (i+3)*n+j+2]
			if accumulate {
				o0[0], o0[1] = o0[0]+c00, o0[1]+c01
				o1[0], o1[1] = o1[0]+c10, o1[1]+c11
				o2[0], o2[1] = o2[0]+c20, o2[1]+c21
				o3[0], o3[1] = o3[0]+c30, o3[1]+c31
			} else {
				o0[0], o0[1] = c00, c01
				o1[0], o1[1] = c10, c11
				o2[0], o2[1] = c20, c21
				o3[0], o3[1] = c30, c31
			}
		}
	}
	// Edges: the odd last column of the tiled rows, then the leftover rows.
	for i := 0; i < m; i++ {
		j0 := n2
		if i >= m4 {
			j0 = 0
		}
		ai := a[i*k : i*k+k]
		for j := j0; j < n; j++ {
			s := dot(ai, b[j*k:j*k+k])
			if accumulate {
				out[i*n+j] += s
			} else {
				out[i*n+j] = s
			}
		}
	}
}

// dot returns Σ_p x[p]·y[p] over len(x) terms, with four partial sums so the
// additions do not wait on each other.
func dot(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	p := 0
	for ; p < len(x)-3; p += 4 {
		s0 += x[p] * y[p]
		s1 += x[p+1] * y[p+1]
		s2 += x[p+2] * y[p+2]
		s3 += x[p+3] * y[p+3]
	}
	for ; p < len(x); p++ {
		s0 += x[p] * y[p]
	}
	return (s0 + s1) + (s2 + s3)
}

// transpose writes dst(c,r) = src(r,c)ᵀ, i.e. dst[j*r+i] = src[i*c+j].
//
// It works on strips of 8 columns of src (8 rows of dst) and walks down all
// rows of src within a strip, so only 8 output rows are being written at
// once. Writing whole columns of dst instead touches c cache lines spaced
// r·4 bytes apart; with r a power of two (512 rows) they share a few cache
// sets and evict each other, which made the naive loop ~10× slower.
func transpose(dst, src []float32, r, c int) {
	dst = dst[:r*c]
	src = src[:r*c]
	j0 := 0
	for ; j0+8 <= c; j0 += 8 {
		d0 := dst[j0*r : j0*r+r : j0*r+r]
		d1 := dst[(j0+1)*r : (j0+2)*r : (j0+2)*r][:len(d0)]
		d2 := dst[(j0+2)*r : (j0+3)*r : (j0+3)*r][:len(d0)]
		d3 := dst[(j0+3)*r : (j0+4)*r : (j0+4)*r][:len(d0)]
		d4 := dst[(j0+4)*r : (j0+5)*r : (j0+5)*r][:len(d0)]
		d5 := dst[(j0+5)*r : (j0+6)*r : (j0+6)*r][:len(d0)]
		d6 := dst[(j0+6)*r : (j0+7)*r : (j0+7)*r][:len(d0)]
		d7 := dst[(j0+7)*r : (j0+8)*r : (j0+8)*r][:len(d0)]
		off := j0
		for i := range d0 {
			s := src[off : off+8 : off+8]
			d0[i], d1[i], d2[i], d3[i] = s[0], s[1], s[2], s[3]
			d4[i], d5[i], d6[i], d7[i] = s[4], s[5], s[6], s[7]
			off += c
		}
	}
	for ; j0 < c; j0++ {
		d := dst[j0*r : j0*r+r]
		for i := range d {
			d[i] = src[i*c+j0]
		}
	}
}

// scratch is a free list of transpose buffers. Unlike a sync.Pool it is not
// emptied by the garbage collector, so a training loop that reuses the same
// shapes never allocates here after its first step; the lock makes
// concurrent callers take distinct buffers. It holds at most one buffer per
// call that was ever in flight at once, each as large as the largest request
// it served.
var scratch struct {
	mu   sync.Mutex
	free []*[]float32
}

// getScratch returns a buffer of length n, reusing a free one when possible.
func getScratch(n int) *[]float32 {
	scratch.mu.Lock()
	var s *[]float32
	if l := len(scratch.free); l > 0 {
		s = scratch.free[l-1]
		scratch.free = scratch.free[:l-1]
	}
	scratch.mu.Unlock()
	if s == nil {
		s = new([]float32)
	}
	if cap(*s) < n {
		*s = make([]float32, n)
	}
	*s = (*s)[:n]
	return s
}

// putScratch returns a buffer from getScratch to the free list.
func putScratch(s *[]float32) {
	scratch.mu.Lock()
	scratch.free = append(scratch.free, s)
	scratch.mu.Unlock()
}
