package nn

import (
	"math"

	"github.com/lora-playground/lora-playground/core/kernels"
)

var geluScale = float32(math.Sqrt(2 / math.Pi))

// GeluForward applies GELU with GPT-2's tanh approximation:
//
//	gelu(x) = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
//
// out, inp (N).
func GeluForward(out, inp []float32) {
	done := kernels.GeluForwardSIMD(out, inp) // 0 unless built with SIMD kernels
	geluForwardScalar(out[done:], inp[done:])
}

// geluForwardScalar is GeluForward in scalar Go; the SIMD kernel computes
// the same operations in the same order.
func geluForwardScalar(out, inp []float32) {
	out = out[:len(inp)] // no bounds check in the loop
	for i, x := range inp {
		u := geluScale * (x + 0.044715*x*x*x)
		out[i] = 0.5 * x * (1 + kernels.Tanh32(u))
	}
}

// GeluBackward writes (does not accumulate) dinp = gelu'(inp)·dout, with
//
//	gelu'(x) = ½(1+tanh u) + ½·x·(1-tanh²u)·√(2/π)·(1 + 3·0.044715·x²)
//
// dinp may be dout itself: each dout[i] is read before dinp[i] is written,
// so the MLP's backward pass needs no second (B,T,4C) buffer.
func GeluBackward(dinp, inp, dout []float32) {
	done := kernels.GeluBackwardSIMD(dinp, inp, dout)
	geluBackwardScalar(dinp[done:], inp[done:], dout[done:])
}

// geluBackwardScalar is GeluBackward in scalar Go.
func geluBackwardScalar(dinp, inp, dout []float32) {
	dinp, dout = dinp[:len(inp)], dout[:len(inp)] // no bounds checks in the loop
	for i, x := range inp {
		u := geluScale * (x + 0.044715*x*x*x)
		th := kernels.Tanh32(u)
		sech2 := 1 - th*th
		g := 0.5*(1+th) + 0.5*x*sech2*geluScale*(1+3*0.044715*x*x)
		dinp[i] = g * dout[i]
	}
}
