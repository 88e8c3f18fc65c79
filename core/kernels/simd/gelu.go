package simd

import "math"

// GELU, elementwise, four lanes at a time: the same float32 operations in
// the same order as core/nn's GeluForward and GeluBackward with
// core/kernels' Tanh32 and Exp32 (each branch of Tanh32 computed for all
// lanes, then selected), so the results are identical bit for bit; a test
// in the simd build checks that against the scalar code.
//
//	gelu_fwd(out, inp, n i32)        out[i]   = gelu(inp[i])              i < n
//	gelu_bwd(dinp, inp, dout, n i32) dinp[i]  = gelu'(inp[i])·dout[i]     i < n
//
// n must be a multiple of 4 (the caller does the rest). gelu_bwd loads
// dout[i] before it stores dinp[i], so dinp may be dout itself: the MLP's
// backward pass turns the gradient of GELU's output into that of its input
// in place, without a second (B,T,4C) buffer.

var geluScale = float32(math.Sqrt(2 / math.Pi))

func geluFwd() *fn {
	f := &fn{name: "gelu_fwd", params: []byte{i32, i32, i32}}
	out, inp, n := f.param(0), f.param(1), f.param(2)
	g := newGeluLocals(f)
	g.loop(n, func(off local) {
		f.get(inp).get(off).i32Add().v128Load(0).set(g.x)
		g.tanhOfU()
		// out = (0.5·x)·(1 + th)
		f.get(out).get(off).i32Add()
		f.f32x4c(0.5).get(g.x).f32x4Mul().f32x4c(1).get(g.th).f32x4Add().f32x4Mul()
		f.v128Store(0)
	})
	return f
}

func geluBwd() *fn {
	f := &fn{name: "gelu_bwd", params: []byte{i32, i32, i32, i32}}
	dinp, inp, dout, n := f.param(0), f.param(1), f.param(2), f.param(3)
	g := newGeluLocals(f)
	g.loop(n, func(off local) {
		f.get(inp).get(off).i32Add().v128Load(0).set(g.x)
		g.tanhOfU()
		// sech2 = 1 - th·th
		f.f32x4c(1).get(g.th).get(g.th).f32x4Mul().f32x4Sub().set(g.t)
		// g = 0.5·(1+th) + (((0.5·x)·sech2)·scale)·(1 + ((3·0.044715)·x)·x)
		f.f32x4c(0.5).f32x4c(1).get(g.th).f32x4Add().f32x4Mul()
		f.f32x4c(0.5).get(g.x).f32x4Mul().get(g.t).f32x4Mul().f32x4c(geluScale).f32x4Mul()
		f.f32x4c(1).f32x4c(3 * 0.044715).get(g.x).f32x4Mul().get(g.x).f32x4Mul().f32x4Add()
		f.f32x4Mul().f32x4Add().set(g.t)
		// dinp = g·dout
		f.get(dinp).get(off).i32Add()
		f.get(g.t).get(dout).get(off).i32Add().v128Load(0).f32x4Mul()
		f.v128Store(0)
	})
	return f
}

type geluLocals struct {
	f                           *fn
	off, end                    local // byte offset into the arrays, and its end
	x, u, a, s, ps, n, e, th, t local
}

func newGeluLocals(f *fn) *geluLocals {
	g := &geluLocals{f: f, off: f.newLocal(i32), end: f.newLocal(i32)}
	for _, l := range []*local{&g.x, &g.u, &g.a, &g.s, &g.ps, &g.n, &g.e, &g.th, &g.t} {
		*l = f.newLocal(v128)
	}
	return g
}

// loop emits: for off := 0; off < 4n; off += 16 { body(off) }.
func (g *geluLocals) loop(n local, body func(off local)) {
	f := g.f
	f.get(n).i32c(2).i32Shl().set(g.end)
	f.i32c(0).set(g.off)
	f.block()
	f.get(g.end).i32Eqz().brIf(0)
	f.loop()
	body(g.off)
	f.get(g.off).i32c(16).i32Add().tee(g.off).get(g.end).i32Ne().brIf(0)
	f.end().end()
}

// tanhOfU emits th = Tanh32(u) for u = scale·(x + ((0.044715·x)·x)·x).
func (g *geluLocals) tanhOfU() {
	f := g.f
	f.get(g.x).f32x4c(0.044715).get(g.x).f32x4Mul().get(g.x).f32x4Mul().get(g.x).f32x4Mul().f32x4Add()
	f.f32x4c(geluScale).f32x4Mul().set(g.u)
	// a = |u|; the polynomial branch (|u| < 0.625):
	// ps = (((((c0·s + c1)·s - c2)·s + c3)·s - c4)·s)·a + a,  s = a²
	f.get(g.u).f32x4Abs().tee(g.a).get(g.a).f32x4Mul().set(g.s)
	f.f32x4c(-5.70498872745e-3).get(g.s).f32x4Mul().f32x4c(2.06390887954e-2).f32x4Add()
	f.get(g.s).f32x4Mul().f32x4c(5.37397155531e-2).f32x4Sub()
	f.get(g.s).f32x4Mul().f32x4c(1.33314422036e-1).f32x4Add()
	f.get(g.s).f32x4Mul().f32x4c(3.33332819422e-1).f32x4Sub()
	f.get(g.s).f32x4Mul().get(g.a).f32x4Mul().get(g.a).f32x4Add().set(g.ps)
	// The exponential branch: e = Exp32(2a), for 2a ≥ 0 (so h = +0.5).
	// Lanes where it overflows are not selected below.
	f.f32x4c(2).get(g.a).f32x4Mul().set(g.s) // s = 2a from here on
	expLanes(f, g.s, 0.5, g.n, g.t, g.e)
	// te = 1 - 2/(e + 1); t = a < 0.625 ? ps : a > 9.01 ? 1 : te
	f.get(g.ps)
	f.f32x4c(1)
	f.f32x4c(1).f32x4c(2).get(g.e).f32x4c(1).f32x4Add().f32x4Div().f32x4Sub()
	f.get(g.a).f32x4c(9.01).f32x4Gt().v128Bitselect()
	f.get(g.a).f32x4c(0.625).f32x4Lt().v128Bitselect().set(g.t)
	// th = u < 0 ? -t : t
	f.get(g.t).f32x4Neg().get(g.t).get(g.u).f32x4c(0).f32x4Lt().v128Bitselect().set(g.th)
}

// expLanes emits e = Exp32(x) for the lanes of x, all of one sign, with
// h = +0.5 for x ≥ 0 or -0.5 for x ≤ 0 (Exp32 rounds x/ln2 half away from
// zero; at x = ±0 both give n = 0): n = int32(x·log2e + h),
// r = (x - n·ln2hi) - n·ln2lo, e = P(r)·2ⁿ, with Exp32's operations in its
// order. It does not clamp: lanes beyond Exp32's range must be replaced by
// the caller. n and t are scratch locals.
func expLanes(f *fn, x local, h float32, n, t, e local) {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	f.get(x).f32x4c(log2e).f32x4Mul().f32x4c(h).f32x4Add().i32x4TruncSatF32x4S().tee(n)
	f.f32x4ConvertI32x4S().set(t)                                                                         // t = float32(n)
	f.get(x).get(t).f32x4c(ln2hi).f32x4Mul().f32x4Sub().get(t).f32x4c(ln2lo).f32x4Mul().f32x4Sub().set(e) // e = r
	// P(r) = 1 + r·(1 + r·(1/2 + r·(1/6 + r·(1/24 + r·(1/120 + r·(1/720))))))
	f.f32x4c(1)
	f.get(e).f32x4c(1)
	f.get(e).f32x4c(0.5)
	f.get(e).f32x4c(1.0 / 6)
	f.get(e).f32x4c(1.0 / 24)
	f.get(e).f32x4c(1.0 / 120)
	f.get(e).f32x4c(1.0 / 720).f32x4Mul()
	for i := 0; i < 5; i++ {
		f.f32x4Add().f32x4Mul()
	}
	f.f32x4Add()
	f.get(n).i32x4c(127).i32x4Add().i32c(23).i32x4Shl() // the bits of 2ⁿ
	f.f32x4Mul().set(e)
}
