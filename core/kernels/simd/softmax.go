package simd

import "math"

// softmax_causal turns a T×T block of attention scores (row stride T) into
// causal attention weights, as core/nn's attention does row by row:
//
//	softmax_causal(p, T i32, scale f32)
//	row t: s = row[t2]·scale for t2 ≤ t; row[t2] = softmax(s); row[t2] = 0 for t2 > t
//
// with the scalar code's operations and order: the maximum as a running
// "if s > max", Exp32(s - max) (here four lanes at a time, the last 1–3
// through single-lane loads and stores), the sum in ascending t2, then a
// multiplication by its reciprocal. So the weights are identical bit for
// bit to core/nn's.
func softmaxCausal() *fn {
	f := &fn{name: "softmax_causal", params: []byte{i32, i32, f32}}
	p, T, scale := f.param(0), f.param(1), f.param(2)
	t, row, nb, gb, off, end := f.newLocal(i32), f.newLocal(i32), f.newLocal(i32), f.newLocal(i32), f.newLocal(i32), f.newLocal(i32)
	maxv, sum, s := f.newLocal(f32), f.newLocal(f32), f.newLocal(f32)
	x, mv, n, tt, e := f.newLocal(v128), f.newLocal(v128), f.newLocal(v128), f.newLocal(v128), f.newLocal(v128)

	// scalarLoop emits: for off = from; off != to; off += 4 { body }.
	scalarLoop := func(from, to local, body func()) {
		f.get(from).set(off)
		f.block()
		f.get(off).get(to).i32Ne().i32Eqz().brIf(0)
		f.loop()
		body()
		f.get(off).i32c(4).i32Add().tee(off).get(to).i32Ne().brIf(0)
		f.end().end()
	}
	// expVec emits e = Exp32(x - max) for x ≤ max (or NaN): below Exp32's
	// lower limit the result is 0.
	expVec := func() {
		f.get(x).get(mv).f32x4Sub().set(x)
		expLanes(f, x, -0.5, n, tt, e)
		f.f32x4c(0).get(e).get(x).f32x4c(-87.33654).f32x4Lt().v128Bitselect().set(e)
	}
	// vecLoop emits: for off = from; off != to; off += 16 { body }.
	vecLoop := func(from, to local, body func()) {
		f.get(from).set(off)
		f.block()
		f.get(off).get(to).i32Ne().i32Eqz().brIf(0)
		f.loop()
		body()
		f.get(off).i32c(16).i32Add().tee(off).get(to).i32Ne().brIf(0)
		f.end().end()
	}
	sv, gb2 := f.newLocal(v128), f.newLocal(i32)
	f.get(scale).f32x4Splat().set(sv)
	zero := f.newLocal(i32) // constant 0, as a local for scalarLoop
	f.i32c(0).set(zero)
	rowBytes := f.newLocal(i32)
	f.get(T).i32c(2).i32Shl().set(rowBytes)

	f.i32c(0).set(t)
	f.block().loop()
	f.get(t).get(T).i32LtS().i32Eqz().brIf(1)
	f.get(p).get(t).get(rowBytes).i32Mul().i32Add().set(row)
	f.get(t).i32c(1).i32Add().i32c(2).i32Shl().set(nb) // bytes of row[0..t]

	// Scale, and the running maximum: whole vectors in four lanes (a lane
	// takes s where max < s, the scalar "if s > max"; NaN never), the 1–3
	// leftover elements in the scalar, then the lanes folded into it. The
	// maximum of the same numbers is the same in any order, up to the sign
	// of a zero maximum, which changes no exponential (s − ±0 is s, and
	// Exp32(±0) is 1), so the weights stay the scalar loop's to the bit.
	f.get(nb).i32c(-16).i32And().set(gb)
	f.f32x4c(float32(math.Inf(-1))).set(mv)
	vecLoop(zero, gb, func() {
		f.get(row).get(off).i32Add()
		f.get(row).get(off).i32Add().v128Load(0).get(sv).f32x4Mul().tee(x)
		f.v128Store(0)
		f.get(x).get(mv).get(mv).get(x).f32x4Lt().v128Bitselect().set(mv)
	})
	f.f32c(float32(math.Inf(-1))).set(maxv)
	scalarLoop(gb, nb, func() {
		f.get(row).get(off).i32Add()
		f.get(row).get(off).i32Add().f32Load(0).get(scale).f32Mul().tee(s)
		f.f32Store(0)
		f.get(s).get(maxv).get(s).get(maxv).f32Gt().select_().set(maxv)
	})
	for l := byte(0); l < 4; l++ {
		f.get(mv).f32x4ExtractLane(l).set(s)
		f.get(s).get(maxv).get(s).get(maxv).f32Gt().select_().set(maxv)
	}
	f.get(maxv).f32x4Splat().set(mv)

	// Exponentials: whole vectors, then the 1–3 leftover lanes.
	f.i32c(0).set(off)
	f.block()
	f.get(gb).i32Eqz().brIf(0)
	f.loop()
	f.get(row).get(off).i32Add().v128Load(0).set(x)
	expVec()
	f.get(row).get(off).i32Add().get(e).v128Store(0)
	f.get(off).i32c(16).i32Add().tee(off).get(gb).i32Ne().brIf(0)
	f.end().end()
	f.block()
	f.get(gb).get(nb).i32Ne().i32Eqz().brIf(0)
	f.get(row).get(gb).i32Add().set(end) // address of the first leftover
	f.f32x4c(0).set(x)
	f.block()
	for l := byte(0); l < 3; l++ {
		// lane l exists if gb + 4l < nb
		if l > 0 {
			f.get(gb).i32c(int32(4 * l)).i32Add().get(nb).i32LtS().i32Eqz().brIf(0)
		}
		f.get(end).get(x).v128Load32Lane(uint32(4*l), l).set(x)
	}
	f.end()
	expVec()
	f.block()
	for l := byte(0); l < 3; l++ {
		if l > 0 {
			f.get(gb).i32c(int32(4 * l)).i32Add().get(nb).i32LtS().i32Eqz().brIf(0)
		}
		f.get(end).get(e).v128Store32Lane(uint32(4*l), l)
	}
	f.end()
	f.end()

	// Sum in order, normalise, and zero the rest of the row.
	f.f32c(0).set(sum)
	scalarLoop(zero, nb, func() {
		f.get(sum).get(row).get(off).i32Add().f32Load(0).f32Add().set(sum)
	})
	f.f32c(1).get(sum).f32Div().tee(s).f32x4Splat().set(x) // s = 1/sum, in every lane of x
	vecLoop(zero, gb, func() {
		f.get(row).get(off).i32Add()
		f.get(row).get(off).i32Add().v128Load(0).get(x).f32x4Mul()
		f.v128Store(0)
	})
	scalarLoop(gb, nb, func() {
		f.get(row).get(off).i32Add()
		f.get(row).get(off).i32Add().f32Load(0).get(s).f32Mul()
		f.f32Store(0)
	})
	// Zeros from nb to the row's end: single floats up to a 16-byte
	// boundary, whole vectors, then single floats again. When nb is past
	// the last whole vector (gb2 = rowBytes rounded down to 16), all single.
	f.get(rowBytes).i32c(-16).i32And().set(gb2)
	f.block()
	f.block()
	f.get(nb).get(gb2).i32LtS().brIf(0)
	scalarLoop(nb, rowBytes, func() { f.get(row).get(off).i32Add().f32c(0).f32Store(0) })
	f.br(1)
	f.end()
	f.get(nb).i32c(15).i32Add().i32c(-16).i32And().set(end)
	scalarLoop(nb, end, func() { f.get(row).get(off).i32Add().f32c(0).f32Store(0) })
	vecLoop(end, gb2, func() { f.get(row).get(off).i32Add().f32x4c(0).v128Store(0) })
	scalarLoop(gb2, rowBytes, func() { f.get(row).get(off).i32Add().f32c(0).f32Store(0) })
	f.end()

	f.get(t).i32c(1).i32Add().set(t)
	f.br(0)
	f.end().end()
	return f
}
