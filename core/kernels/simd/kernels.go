// Package simd emits kernels.wasm, a WebAssembly module of SIMD128 matrix
// kernels for the js/wasm build of the trainer (Go's wasm backend emits no
// SIMD). The module imports its memory (env.memory) and is instantiated
// with the Go instance's own memory, so the kernels read and write Go's
// slices in place; core/kernels declares them with //go:wasmimport under
// the simd build tag, and the JS glue (assets/js/worker.js, or exec.mjs
// for tests) links the two instances.
//
// The module is generated, not hand-written: `go generate` runs ./gen,
// which writes Module() to kernels.wasm, and a test checks that the
// committed file is byte-identical to a fresh emission.
package simd

//go:generate go run ./gen

// MinPages is the minimum size of the imported memory, in 64 KiB pages.
// It must not exceed the Go instance's initial memory (tens of pages).
const MinPages = 1

// Tile is the register tile of sgemm: TileRows rows of the output by
// TileVecs f32x4 vectors (4·TileVecs columns). 4×8 holds 8 accumulators,
// two vectors of b and a broadcast element of a: 11 of the 14 vector
// registers V8 allocates on x64 (xmm14 and xmm15 are its scratch), so
// nothing spills.
const (
	TileRows = 4
	TileVecs = 2
)

// Module returns the kernel module's bytes. It exports sdot_nt (dot.go),
// gelu_fwd and gelu_bwd (gelu.go), softmax_causal (softmax.go),
// layernorm_fwd and layernorm_bwd (layernorm.go) and
//
//	sgemm(c, a, b, m, n, k, sai, sap, ldb, ldc, acc i32)
//
// which computes, for i < m and j < n,
//
//	c[i·ldc + j] (+)= Σ_{p<k} a[i·sai + p·sap] · b[p·ldb + j]
//
// adding to c when acc is non-zero, overwriting it otherwise. c, a and b are
// byte addresses of float32 arrays in the imported memory; all strides are in
// elements. b is read along rows (j contiguous), a with arbitrary strides,
// so one kernel serves a(m,k)·b(k,n) (sai=k, sap=1) and a(k,m)ᵀ·b(k,n)
// (sai=1, sap=m); a·b(n,k)ᵀ needs b transposed first.
//
// Every product is summed in the naive order (p ascending, one multiply
// then one add each, no fused multiply-add), so results equal the naive
// reference kernels' bit for bit.
//
// Tiling: TileRows rows × 4·TileVecs columns of c are held in f32x4
// accumulators while p runs over k; each step loads TileVecs vectors of a
// row of b and broadcasts one element of a per row (v128.load32_splat).
// Leftover columns are done by a 4-column tile and then column by column
// with scalar float32; leftover rows one at a time with the same tiles.
func Module() []byte {
	return module(MinPages, []*fn{sgemm(TileRows, TileVecs), sdotNT(), geluFwd(), geluBwd(), softmaxCausal(), layerNormFwd(), layerNormBwd()})
}

// sgemm emits the kernel with an R-row × 4W-column register tile.
func sgemm(R, W int) *fn {
	f := &fn{name: "sgemm", params: []byte{i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32}}
	c, a, b, m, n, k := f.param(0), f.param(1), f.param(2), f.param(3), f.param(4), f.param(5)
	sai, sap, ldb, ldc, accFlag := f.param(6), f.param(7), f.param(8), f.param(9), f.param(10)

	// Strides in bytes, and the byte length of b's k rows.
	sai4, sap4, ldb4, ldc4, kldb4 := f.newLocal(i32), f.newLocal(i32), f.newLocal(i32), f.newLocal(i32), f.newLocal(i32)
	for _, s := range [][2]local{{sai, sai4}, {sap, sap4}, {ldb, ldb4}, {ldc, ldc4}} {
		f.get(s[0]).i32c(2).i32Shl().set(s[1])
	}
	f.get(k).get(ldb4).i32Mul().set(kldb4)

	g := &gemm{f: f, c: c, a: a, b: b, m: m, n: n, accFlag: accFlag,
		sai4: sai4, sap4: sap4, ldb4: ldb4, ldc4: ldc4, kldb4: kldb4,
		i: f.newLocal(i32), j: f.newLocal(i32), pa: f.newLocal(i32), pb: f.newLocal(i32),
		pend: f.newLocal(i32), pc: f.newLocal(i32)}
	maxR := R
	for r := 0; r < maxR; r++ {
		g.par = append(g.par, f.newLocal(i32))
	}
	for r := 0; r < maxR; r++ {
		row := make([]local, W)
		for w := range row {
			row[w] = f.newLocal(v128)
		}
		g.vacc = append(g.vacc, row)
		g.sacc = append(g.sacc, 0)
	}
	for w := 0; w < W; w++ {
		g.vb = append(g.vb, f.newLocal(v128))
	}
	g.vx = f.newLocal(v128)
	for r := 0; r < maxR; r++ {
		g.sacc[r] = f.newLocal(f32)
	}
	g.sb, g.sx = f.newLocal(f32), f.newLocal(f32)

	// i = 0; full row blocks of R, then single rows.
	f.i32c(0).set(g.i)
	g.rowLoop(R, W)
	if R > 1 {
		g.rowLoop(1, W)
	}
	return f
}

type gemm struct {
	f                             *fn
	c, a, b, m, n, accFlag        local
	sai4, sap4, ldb4, ldc4, kldb4 local
	i, j, pa, pb, pend, pc        local
	par                           []local   // per-row pointers into a
	vacc                          [][]local // vector accumulators [row][vec]
	sacc                          []local   // scalar accumulators [row]
	vb                            []local   // vectors of b
	vx                            local     // broadcast element of a
	sb, sx                        local     // scalar b and a
}

// rowLoop emits: while i+R <= m { one block of R rows; i += R }.
func (g *gemm) rowLoop(R, W int) {
	f := g.f
	f.block().loop()
	f.get(g.i).i32c(int32(R)).i32Add().get(g.m).i32GtS().brIf(1)
	// pa = a + i·sai4, pc = c + i·ldc4: the block's first row.
	f.get(g.a).get(g.i).get(g.sai4).i32Mul().i32Add().set(g.pa)
	f.get(g.c).get(g.i).get(g.ldc4).i32Mul().i32Add().set(g.pc)
	f.i32c(0).set(g.j)
	// Column tiles of 4W, then (if W > 1) one of 4, then single columns.
	g.colLoop(R, W, true)
	if W > 1 {
		g.colLoop(R, 1, false)
	}
	g.colLoop(R, 0, true)
	f.get(g.i).i32c(int32(R)).i32Add().set(g.i)
	f.br(0)
	f.end().end()
}

// colLoop emits a loop (or, when repeat is false, a single step) over
// column tiles of 4W columns, or single scalar columns when W is 0.
func (g *gemm) colLoop(R, W int, repeat bool) {
	f := g.f
	cols := int32(4 * W)
	if W == 0 {
		cols = 1
	}
	f.block()
	if repeat {
		f.loop()
	}
	f.get(g.j).i32c(cols).i32Add().get(g.n).i32GtS().brIf(b2u(repeat))
	g.tile(R, W)
	f.get(g.j).i32c(cols).i32Add().set(g.j)
	if repeat {
		f.br(0)
		f.end()
	}
	f.end()
}

func b2u(repeat bool) uint32 {
	if repeat {
		return 1
	}
	return 0
}

// tile emits one R × 4W tile (R × 1 scalar when W is 0) at rows i.., columns j..
func (g *gemm) tile(R, W int) {
	f := g.f
	// Row pointers into a, b's column pointer and its end after k rows.
	f.get(g.pa).set(g.par[0])
	for r := 1; r < R; r++ {
		f.get(g.par[r-1]).get(g.sai4).i32Add().set(g.par[r])
	}
	f.get(g.b).get(g.j).i32c(2).i32Shl().i32Add().tee(g.pb)
	f.get(g.kldb4).i32Add().set(g.pend)
	for r := 0; r < R; r++ {
		if W == 0 {
			f.f32c0().set(g.sacc[r])
			continue
		}
		for w := 0; w < W; w++ {
			f.v128Zero().set(g.vacc[r][w])
		}
	}
	// for pb != pend { acc += a[r,p] · b[p, j..]; advance }
	f.block()
	f.get(g.pb).get(g.pend).i32Ne().i32Eqz().brIf(0)
	f.loop()
	if W == 0 {
		f.get(g.pb).f32Load(0).set(g.sb)
	}
	for w := 0; w < W; w++ {
		f.get(g.pb).v128Load(uint32(16 * w)).set(g.vb[w])
	}
	for r := 0; r < R; r++ {
		if W == 0 {
			f.get(g.sacc[r]).get(g.par[r]).f32Load(0).get(g.sb).f32Mul().f32Add().set(g.sacc[r])
			continue
		}
		f.get(g.par[r]).v128Load32Splat(0).set(g.vx)
		for w := 0; w < W; w++ {
			f.get(g.vacc[r][w]).get(g.vx).get(g.vb[w]).f32x4Mul().f32x4Add().set(g.vacc[r][w])
		}
	}
	for r := 0; r < R; r++ {
		f.get(g.par[r]).get(g.sap4).i32Add().set(g.par[r])
	}
	f.get(g.pb).get(g.ldb4).i32Add().tee(g.pb).get(g.pend).i32Ne().brIf(0)
	f.end().end()

	// Store: row r of the tile starts at pc + r·ldc4 + 4j.
	store := func(add bool) {
		for r := 0; r < R; r++ {
			// address of c[i+r, j]
			addr := func() {
				f.get(g.pc).get(g.j).i32c(2).i32Shl().i32Add()
				for q := 0; q < r; q++ {
					f.get(g.ldc4).i32Add()
				}
			}
			if W == 0 {
				addr()
				if add {
					addr()
					f.f32Load(0).get(g.sacc[r]).f32Add()
				} else {
					f.get(g.sacc[r])
				}
				f.f32Store(0)
				continue
			}
			for w := 0; w < W; w++ {
				addr()
				if add {
					addr()
					f.v128Load(uint32(16 * w)).get(g.vacc[r][w]).f32x4Add()
				} else {
					f.get(g.vacc[r][w])
				}
				f.v128Store(uint32(16 * w))
			}
		}
	}
	f.get(g.accFlag).if_()
	store(true)
	f.else_()
	store(false)
	f.end()
}
