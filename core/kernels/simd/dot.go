package simd

// sdot_nt is the dot-product form of a·bᵀ, for products with few rows
// (the cached decoder's matrix-vector products), where transposing b for
// sgemm would cost as much as the product:
//
//	sdot_nt(c, a, b, m, n, k, lda, ldb, ldc, acc i32)
//	c[i·ldc + j] (+)= Σ_{p<k} a[i·lda + p] · b[j·ldb + p]
//
// For each row of a it takes 4 rows of b at a time (then single rows),
// keeps one f32x4 accumulator per row of b while p runs along k in steps of
// 4, adds each accumulator's lanes as (l0+l1)+(l2+l3), then the k mod 4
// leftover products in order. So the sum is in a different order from the
// naive kernel's (within float32 rounding of it, as the tests allow).
func sdotNT() *fn {
	f := &fn{name: "sdot_nt", params: []byte{i32, i32, i32, i32, i32, i32, i32, i32, i32, i32}}
	c, a, b, m, n, k := f.param(0), f.param(1), f.param(2), f.param(3), f.param(4), f.param(5)
	lda, ldb, ldc, accFlag := f.param(6), f.param(7), f.param(8), f.param(9)
	d := &dot{f: f, c: c, a: a, b: b, n: n, k: k, accFlag: accFlag}
	d.lda4, d.ldb4, d.ldc4 = f.newLocal(i32), f.newLocal(i32), f.newLocal(i32)
	for _, s := range [][2]local{{lda, d.lda4}, {ldb, d.ldb4}, {ldc, d.ldc4}} {
		f.get(s[0]).i32c(2).i32Shl().set(s[1])
	}
	d.k4, d.kend = f.newLocal(i32), f.newLocal(i32)
	f.get(k).i32c(-4).i32And().i32c(2).i32Shl().set(d.k4) // k4 = (k &^ 3)·4 bytes
	f.get(k).i32c(2).i32Shl().set(d.kend)
	d.i, d.j, d.pa, d.off, d.pc = f.newLocal(i32), f.newLocal(i32), f.newLocal(i32), f.newLocal(i32), f.newLocal(i32)
	for q := 0; q < 4; q++ {
		d.pb = append(d.pb, f.newLocal(i32))
		d.acc = append(d.acc, f.newLocal(v128))
		d.s = append(d.s, f.newLocal(f32))
	}
	d.x = f.newLocal(v128)
	d.xs = f.newLocal(f32)

	// for i := 0; i < m; i++
	f.i32c(0).set(d.i)
	f.block().loop()
	f.get(d.i).get(m).i32LtS().i32Eqz().brIf(1)
	f.get(a).get(d.i).get(d.lda4).i32Mul().i32Add().set(d.pa)
	f.get(c).get(d.i).get(d.ldc4).i32Mul().i32Add().set(d.pc)
	f.i32c(0).set(d.j)
	d.cols(4)
	d.cols(1)
	f.get(d.i).i32c(1).i32Add().set(d.i)
	f.br(0)
	f.end().end()
	return f
}

type dot struct {
	f                          *fn
	c, a, b, n, k, accFlag     local
	lda4, ldb4, ldc4, k4, kend local
	i, j, pa, off, pc          local
	pb                         []local
	acc                        []local
	s                          []local
	x                          local
	xs                         local
}

// cols emits: while j+Q <= n { Q outputs c[i, j..j+Q); j += Q }.
func (d *dot) cols(Q int) {
	f := d.f
	f.block().loop()
	f.get(d.j).i32c(int32(Q)).i32Add().get(d.n).i32GtS().brIf(1)
	f.get(d.b).get(d.j).get(d.ldb4).i32Mul().i32Add().set(d.pb[0])
	for q := 1; q < Q; q++ {
		f.get(d.pb[q-1]).get(d.ldb4).i32Add().set(d.pb[q])
	}
	for q := 0; q < Q; q++ {
		f.v128Zero().set(d.acc[q])
	}
	// Vector part: off over [0, k4) in steps of 16 bytes.
	f.i32c(0).set(d.off)
	f.block()
	f.get(d.k4).i32Eqz().brIf(0)
	f.loop()
	f.get(d.pa).get(d.off).i32Add().v128Load(0).set(d.x)
	for q := 0; q < Q; q++ {
		f.get(d.acc[q]).get(d.x).get(d.pb[q]).get(d.off).i32Add().v128Load(0).f32x4Mul().f32x4Add().set(d.acc[q])
	}
	f.get(d.off).i32c(16).i32Add().tee(d.off).get(d.k4).i32Ne().brIf(0)
	f.end().end()
	// Lanes: s = (l0 + l1) + (l2 + l3).
	for q := 0; q < Q; q++ {
		f.get(d.acc[q]).f32x4ExtractLane(0).get(d.acc[q]).f32x4ExtractLane(1).f32Add()
		f.get(d.acc[q]).f32x4ExtractLane(2).get(d.acc[q]).f32x4ExtractLane(3).f32Add()
		f.f32Add().set(d.s[q])
	}
	// Scalar part: off over [k4, 4k).
	f.block()
	f.get(d.off).get(d.kend).i32Ne().i32Eqz().brIf(0)
	f.loop()
	f.get(d.pa).get(d.off).i32Add().f32Load(0).set(d.xs)
	for q := 0; q < Q; q++ {
		f.get(d.s[q]).get(d.xs).get(d.pb[q]).get(d.off).i32Add().f32Load(0).f32Mul().f32Add().set(d.s[q])
	}
	f.get(d.off).i32c(4).i32Add().tee(d.off).get(d.kend).i32Ne().brIf(0)
	f.end().end()
	// Store (or add to) c[i, j+q].
	addr := func() { f.get(d.pc).get(d.j).i32c(2).i32Shl().i32Add() }
	f.get(d.accFlag).if_()
	for q := 0; q < Q; q++ {
		addr()
		addr()
		f.f32Load(uint32(4 * q)).get(d.s[q]).f32Add().f32Store(uint32(4 * q))
	}
	f.else_()
	for q := 0; q < Q; q++ {
		addr()
		f.get(d.s[q]).f32Store(uint32(4 * q))
	}
	f.end()
	f.get(d.j).i32c(int32(Q)).i32Add().set(d.j)
	f.br(0)
	f.end().end()
}
