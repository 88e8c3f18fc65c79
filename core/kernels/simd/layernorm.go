package simd

// Layer normalisation over rows of C floats (C a multiple of 4), as core/nn's
// LayerNormForward and LayerNormBackward (the latter without weight and bias
// gradients, the LoRA case) compute it, except that each row's sums run in
// four lanes, added as (l0+l1)+(l2+l3) at the end: a different float32
// summation order from the scalar loops (within rounding of them; the tests
// compare with a tolerance), so layer norm is not bit-identical between the
// SIMD and pure-Go builds.
//
//	layernorm_fwd(out, mean, rstd, inp, w, b, N, C i32)
//	layernorm_bwd(dinp, dout, inp, w, mean, rstd, N, C i32)   dinp +=

// LayerNormEps must equal core/nn.LayerNormEps.
const LayerNormEps = 1e-5

type lnLocals struct {
	f                  *fn
	rowB, n, base, off local
	acc, acc2, v, w    local
	mv, sv, d          local
	m, s               local
}

func newLN(f *fn) *lnLocals {
	l := &lnLocals{f: f, rowB: f.newLocal(i32), n: f.newLocal(i32), base: f.newLocal(i32), off: f.newLocal(i32)}
	for _, p := range []*local{&l.acc, &l.acc2, &l.v, &l.w, &l.mv, &l.sv, &l.d} {
		*p = f.newLocal(v128)
	}
	l.m, l.s = f.newLocal(f32), f.newLocal(f32)
	return l
}

// rows emits: for n := 0; n < N; n++ { base = n·C·4; body() }.
func (l *lnLocals) rows(N, C local, body func()) {
	f := l.f
	f.get(C).i32c(2).i32Shl().set(l.rowB)
	f.i32c(0).set(l.n)
	f.block().loop()
	f.get(l.n).get(N).i32LtS().i32Eqz().brIf(1)
	f.get(l.n).get(l.rowB).i32Mul().set(l.base)
	body()
	f.get(l.n).i32c(1).i32Add().set(l.n)
	f.br(0)
	f.end().end()
}

// each emits: for off := 0; off < C·4; off += 16 { body() } (C ≥ 4 assumed
// by the caller's check that C is a positive multiple of 4).
func (l *lnLocals) each(body func()) {
	f := l.f
	f.i32c(0).set(l.off)
	f.loop()
	body()
	f.get(l.off).i32c(16).i32Add().tee(l.off).get(l.rowB).i32Ne().brIf(0)
	f.end()
}

// at pushes the address of element off of row base in array p.
func (l *lnLocals) at(p local) { l.f.get(p).get(l.base).i32Add().get(l.off).i32Add() }

// hsumDiv pushes ((l0+l1)+(l2+l3)) / float32(C) of vector v.
func (l *lnLocals) hsumDiv(v, C local) {
	f := l.f
	f.get(v).f32x4ExtractLane(0).get(v).f32x4ExtractLane(1).f32Add()
	f.get(v).f32x4ExtractLane(2).get(v).f32x4ExtractLane(3).f32Add().f32Add()
	f.get(C).f32ConvertI32S().f32Div()
}

func layerNormFwd() *fn {
	f := &fn{name: "layernorm_fwd", params: []byte{i32, i32, i32, i32, i32, i32, i32, i32}}
	out, mean, rstd, inp, w, b, N, C := f.param(0), f.param(1), f.param(2), f.param(3), f.param(4), f.param(5), f.param(6), f.param(7)
	l := newLN(f)
	l.rows(N, C, func() {
		// m = Σx / C
		f.v128Zero().set(l.acc)
		l.each(func() { f.get(l.acc); l.at(inp); f.v128Load(0).f32x4Add().set(l.acc) })
		l.hsumDiv(l.acc, C)
		f.tee(l.m).f32x4Splat().set(l.mv)
		// v2 = Σ(x-m)² / C; s = 1/√(v2 + ε) in float64
		f.v128Zero().set(l.acc)
		l.each(func() {
			l.at(inp)
			f.v128Load(0).get(l.mv).f32x4Sub().tee(l.d)
			f.get(l.d).f32x4Mul().get(l.acc).f32x4Add().set(l.acc)
		})
		f.f64c(1)
		l.hsumDiv(l.acc, C)
		f.f64PromoteF32().f64c(LayerNormEps).f64Add().f64Sqrt().f64Div().f32DemoteF64().tee(l.s)
		f.f32x4Splat().set(l.sv)
		// out = ((x-m)·s)·w + b
		l.each(func() {
			l.at(out)
			l.at(inp)
			f.v128Load(0).get(l.mv).f32x4Sub().get(l.sv).f32x4Mul()
			f.get(w).get(l.off).i32Add().v128Load(0).f32x4Mul()
			f.get(b).get(l.off).i32Add().v128Load(0).f32x4Add()
			f.v128Store(0)
		})
		f.get(mean).get(l.n).i32c(2).i32Shl().i32Add().get(l.m).f32Store(0)
		f.get(rstd).get(l.n).i32c(2).i32Shl().i32Add().get(l.s).f32Store(0)
	})
	return f
}

func layerNormBwd() *fn {
	f := &fn{name: "layernorm_bwd", params: []byte{i32, i32, i32, i32, i32, i32, i32, i32}}
	dinp, dout, inp, w, mean, rstd, N, C := f.param(0), f.param(1), f.param(2), f.param(3), f.param(4), f.param(5), f.param(6), f.param(7)
	l := newLN(f)
	// xh = (x - m)·s into l.v, g = d·w into l.w
	xhg := func() {
		l.at(inp)
		f.v128Load(0).get(l.mv).f32x4Sub().get(l.sv).f32x4Mul().set(l.v)
		l.at(dout)
		f.v128Load(0).get(w).get(l.off).i32Add().v128Load(0).f32x4Mul().set(l.w)
	}
	l.rows(N, C, func() {
		f.get(mean).get(l.n).i32c(2).i32Shl().i32Add().f32Load(0).f32x4Splat().set(l.mv)
		f.get(rstd).get(l.n).i32c(2).i32Shl().i32Add().f32Load(0).f32x4Splat().set(l.sv)
		f.v128Zero().set(l.acc)
		f.v128Zero().set(l.acc2)
		l.each(func() {
			xhg()
			f.get(l.acc).get(l.w).f32x4Add().set(l.acc)
			f.get(l.acc2).get(l.w).get(l.v).f32x4Mul().f32x4Add().set(l.acc2)
		})
		l.hsumDiv(l.acc, C)
		f.f32x4Splat().set(l.acc) // gMean
		l.hsumDiv(l.acc2, C)
		f.f32x4Splat().set(l.acc2) // gxMean
		// dinp += s·((g - gMean) - xh·gxMean)
		l.each(func() {
			xhg()
			l.at(dinp)
			l.at(dinp)
			f.v128Load(0)
			f.get(l.sv).get(l.w).get(l.acc).f32x4Sub().get(l.v).get(l.acc2).f32x4Mul().f32x4Sub().f32x4Mul()
			f.f32x4Add().v128Store(0)
		})
	})
	return f
}
