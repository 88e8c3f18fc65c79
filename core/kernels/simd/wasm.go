package simd

// A minimal writer of the WebAssembly binary format: just the sections,
// instructions and types the kernel module needs. Reference: the
// WebAssembly core specification 2.0, chapter 5 (binary format), and the
// fixed-width SIMD proposal (opcodes prefixed by 0xFD), part of 2.0.

import "math"

// Value types.
const (
	i32  byte = 0x7F
	f32  byte = 0x7D
	v128 byte = 0x7B
)

// uleb appends v as an unsigned LEB128 number.
func uleb(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

// sleb appends v as a signed LEB128 number.
func sleb(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// name appends a length-prefixed UTF-8 name.
func name(b []byte, s string) []byte { return append(uleb(b, uint32(len(s))), s...) }

// section appends section id with its length-prefixed contents.
func section(b []byte, id byte, contents []byte) []byte {
	return append(uleb(append(b, id), uint32(len(contents))), contents...)
}

// local is a function local (parameters first), by index.
type local uint32

// fn is one function being assembled: its signature, extra locals and code.
type fn struct {
	name    string
	params  []byte
	results []byte
	locals  []byte // types of the locals after the parameters
	code    []byte
}

// newLocal declares a local of type t and returns its index.
func (f *fn) newLocal(t byte) local {
	f.locals = append(f.locals, t)
	return local(len(f.params) + len(f.locals) - 1)
}

// param returns parameter i.
func (f *fn) param(i int) local { return local(i) }

func (f *fn) op(b ...byte) *fn { f.code = append(f.code, b...); return f }

// simdOp appends a 0xFD-prefixed instruction.
func (f *fn) simdOp(op uint32) *fn { f.code = uleb(append(f.code, 0xFD), op); return f }

// memarg appends a memory immediate: log2 alignment and byte offset.
func (f *fn) memarg(align, offset uint32) *fn {
	f.code = uleb(uleb(f.code, align), offset)
	return f
}

// Control.
const blockEmpty = 0x40

func (f *fn) block() *fn        { return f.op(0x02, blockEmpty) }
func (f *fn) loop() *fn         { return f.op(0x03, blockEmpty) }
func (f *fn) if_() *fn          { return f.op(0x04, blockEmpty) }
func (f *fn) else_() *fn        { return f.op(0x05) }
func (f *fn) end() *fn          { return f.op(0x0B) }
func (f *fn) br(d uint32) *fn   { f.code = uleb(append(f.code, 0x0C), d); return f }
func (f *fn) brIf(d uint32) *fn { f.code = uleb(append(f.code, 0x0D), d); return f }

// Locals.
func (f *fn) get(l local) *fn { f.code = uleb(append(f.code, 0x20), uint32(l)); return f }
func (f *fn) set(l local) *fn { f.code = uleb(append(f.code, 0x21), uint32(l)); return f }
func (f *fn) tee(l local) *fn { f.code = uleb(append(f.code, 0x22), uint32(l)); return f }

// Integer arithmetic and comparisons (i32).
func (f *fn) i32c(v int32) *fn { f.code = sleb(append(f.code, 0x41), v); return f }
func (f *fn) i32Eqz() *fn      { return f.op(0x45) }
func (f *fn) i32Ne() *fn       { return f.op(0x47) }
func (f *fn) i32LtS() *fn      { return f.op(0x48) }
func (f *fn) i32GtS() *fn      { return f.op(0x4A) }
func (f *fn) i32LeS() *fn      { return f.op(0x4C) }
func (f *fn) i32Add() *fn      { return f.op(0x6A) }
func (f *fn) i32Sub() *fn      { return f.op(0x6B) }
func (f *fn) i32Mul() *fn      { return f.op(0x6C) }
func (f *fn) i32Shl() *fn      { return f.op(0x74) }
func (f *fn) i32And() *fn      { return f.op(0x71) }

// Scalar float32.
func (f *fn) f32Load(off uint32) *fn  { return f.op(0x2A).memarg(2, off) }
func (f *fn) f32Store(off uint32) *fn { return f.op(0x38).memarg(2, off) }
func (f *fn) f32c0() *fn              { return f.op(0x43, 0, 0, 0, 0) }
func (f *fn) f32Add() *fn             { return f.op(0x92) }
func (f *fn) f32Div() *fn             { return f.op(0x95) }
func (f *fn) f32Sub() *fn             { return f.op(0x93) }
func (f *fn) f32ConvertI32S() *fn     { return f.op(0xB2) }
func (f *fn) f64PromoteF32() *fn      { return f.op(0xBB) }
func (f *fn) f32DemoteF64() *fn       { return f.op(0xB6) }
func (f *fn) f64Add() *fn             { return f.op(0xA0) }
func (f *fn) f64Div() *fn             { return f.op(0xA3) }
func (f *fn) f64Sqrt() *fn            { return f.op(0x9F) }

// f64c pushes a float64 constant.
func (f *fn) f64c(v float64) *fn {
	b := math.Float64bits(v)
	f.op(0x44)
	for i := 0; i < 8; i++ {
		f.op(byte(b >> (8 * i)))
	}
	return f
}
func (f *fn) f32Gt() *fn   { return f.op(0x5E) }
func (f *fn) select_() *fn { return f.op(0x1B) }

// f32c pushes a float32 constant.
func (f *fn) f32c(v float32) *fn {
	b := math.Float32bits(v)
	return f.op(0x43, byte(b), byte(b>>8), byte(b>>16), byte(b>>24))
}
func (f *fn) f32Mul() *fn { return f.op(0x94) }

// SIMD128. Loads and stores declare 4-byte alignment (Go aligns float32
// slices to 4 bytes only); the hint never affects correctness.
func (f *fn) v128Load(off uint32) *fn        { return f.simdOp(0x00).memarg(2, off) }
func (f *fn) v128Load32Splat(off uint32) *fn { return f.simdOp(0x09).memarg(2, off) }
func (f *fn) v128Store(off uint32) *fn       { return f.simdOp(0x0B).memarg(2, off) }
func (f *fn) v128Zero() *fn                  { f.simdOp(0x0C); return f.op(make([]byte, 16)...) }
func (f *fn) f32x4ExtractLane(l byte) *fn    { return f.simdOp(0x1F).op(l) }
func (f *fn) f32x4Splat() *fn                { return f.simdOp(0x13) }
func (f *fn) v128Load32Lane(off uint32, l byte) *fn {
	return f.simdOp(0x56).memarg(2, off).op(l)
}
func (f *fn) v128Store32Lane(off uint32, l byte) *fn {
	return f.simdOp(0x5A).memarg(2, off).op(l)
}
func (f *fn) f32x4Add() *fn            { return f.simdOp(0xE4) }
func (f *fn) f32x4Sub() *fn            { return f.simdOp(0xE5) }
func (f *fn) f32x4Mul() *fn            { return f.simdOp(0xE6) }
func (f *fn) f32x4Div() *fn            { return f.simdOp(0xE7) }
func (f *fn) f32x4Abs() *fn            { return f.simdOp(0xE0) }
func (f *fn) f32x4Neg() *fn            { return f.simdOp(0xE1) }
func (f *fn) f32x4Lt() *fn             { return f.simdOp(0x43) }
func (f *fn) f32x4Gt() *fn             { return f.simdOp(0x44) }
func (f *fn) v128Bitselect() *fn       { return f.simdOp(0x52) }
func (f *fn) i32x4Add() *fn            { return f.simdOp(0xAE) }
func (f *fn) i32x4Shl() *fn            { return f.simdOp(0xAB) }
func (f *fn) i32x4TruncSatF32x4S() *fn { return f.simdOp(0xF8) }
func (f *fn) f32x4ConvertI32x4S() *fn  { return f.simdOp(0xFA) }

// f32x4c pushes a v128 constant holding v in all four float32 lanes.
func (f *fn) f32x4c(v float32) *fn { return f.i32x4c(int32(math.Float32bits(v))) }

// i32x4c pushes a v128 constant holding v in all four int32 lanes.
func (f *fn) i32x4c(v int32) *fn {
	f.simdOp(0x0C)
	for i := 0; i < 4; i++ {
		f.op(byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	}
	return f
}

// module assembles a module importing env.memory (minimum minPages, no
// maximum) and exporting every function under its name.
func module(minPages uint32, fns []*fn) []byte {
	b := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

	// Type section: one signature per function (duplicates are harmless
	// and keep indices simple).
	var s []byte
	s = uleb(s, uint32(len(fns)))
	for _, f := range fns {
		s = append(s, 0x60)
		s = append(uleb(s, uint32(len(f.params))), f.params...)
		s = append(uleb(s, uint32(len(f.results))), f.results...)
	}
	b = section(b, 1, s)

	// Import section: the memory the functions work in.
	s = uleb(nil, 1)
	s = name(s, "env")
	s = name(s, "memory")
	s = append(s, 0x02, 0x00) // memory, limits without maximum
	s = uleb(s, minPages)
	b = section(b, 2, s)

	// Function section: function i has type i.
	s = uleb(nil, uint32(len(fns)))
	for i := range fns {
		s = uleb(s, uint32(i))
	}
	b = section(b, 3, s)

	// Export section.
	s = uleb(nil, uint32(len(fns)))
	for i, f := range fns {
		s = name(s, f.name)
		s = append(s, 0x00)
		s = uleb(s, uint32(i))
	}
	b = section(b, 7, s)

	// Code section: locals run-length encoded by type, then the body.
	s = uleb(nil, uint32(len(fns)))
	for _, f := range fns {
		var body []byte
		var runs [][2]uint32
		for _, t := range f.locals {
			if n := len(runs); n > 0 && byte(runs[n-1][1]) == t {
				runs[n-1][0]++
			} else {
				runs = append(runs, [2]uint32{1, uint32(t)})
			}
		}
		body = uleb(body, uint32(len(runs)))
		for _, r := range runs {
			body = append(uleb(body, r[0]), byte(r[1]))
		}
		body = append(body, f.code...)
		body = append(body, 0x0B) // end of the function
		s = append(uleb(s, uint32(len(body))), body...)
	}
	return section(b, 10, s)
}
