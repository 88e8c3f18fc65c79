package nn

import (
	"github.com/lora-playground/lora-playground/core/kernels"
	"github.com/lora-playground/lora-playground/core/profile"
)

// LinearForward computes y = x·Wᵀ + b with W stored [out, in] (PyTorch's
// layout). out (N,Out), inp (N,In), weight (Out,In), bias (Out) or nil.
//
// The bias is copied into each row first and the product added to it:
// bias + Σ equals Σ + bias exactly (float addition commutes), and a copy
// is cheaper than a second pass of additions.
func LinearForward(out, inp, weight, bias []float32, N, In, Out int) {
	LinearForwardT(out, inp, weight, nil, bias, N, In, Out)
}

// LinearForwardT is LinearForward given also weightT = Wᵀ (In,Out), or nil,
// for a frozen W whose transpose is kept: then no product transposes W
// (kernels.MatMulNTBoth).
func LinearForwardT(out, inp, weight, weightT, bias []float32, N, In, Out int) {
	t0 := profile.Begin()
	defer profile.End(profile.MatMulForward, t0)
	if bias == nil {
		kernels.MatMulNTBoth(out, inp, weight, weightT, N, Out, In, false)
		return
	}
	bias = bias[:Out]
	for n := 0; n < N; n++ {
		copy(out[n*Out:(n+1)*Out], bias)
	}
	kernels.MatMulNTBoth(out, inp, weight, weightT, N, Out, In, true)
}

// LinearBackward accumulates
//
//	dinp    += dout · W      (N,In)
//	dweight += doutᵀ · inp   (Out,In)   skipped when dweight is nil (frozen W)
//	dbias   += Σ_n dout      (Out)      skipped when dbias is nil
//
// dinp may be nil when nothing upstream needs it.
func LinearBackward(dinp, dweight, dbias, dout, inp, weight []float32, N, In, Out int) {
	LinearBackwardT(dinp, dweight, dbias, dout, inp, weight, nil, N, In, Out)
}

// LinearBackwardT is LinearBackward given also weightT = Wᵀ (In,Out), or
// nil, as for LinearForwardT: dinp += dout·W is then computed as
// dout·(Wᵀ)ᵀ without transposing W.
func LinearBackwardT(dinp, dweight, dbias, dout, inp, weight, weightT []float32, N, In, Out int) {
	if dinp != nil {
		t0 := profile.Begin()
		if weightT != nil {
			kernels.MatMulNTBoth(dinp, dout, weightT, weight, N, In, Out, true)
		} else {
			kernels.MatMulNN(dinp, dout, weight, N, In, Out, true)
		}
		profile.End(profile.MatMulInputGrad, t0)
	}
	if dweight == nil && dbias == nil {
		return
	}
	t0 := profile.Begin()
	defer profile.End(profile.MatMulWeightGrad, t0)
	if dweight != nil {
		kernels.MatMulTN(dweight, dout, inp, Out, In, N, true)
	}
	if dbias != nil {
		for n := 0; n < N; n++ {
			d := dout[n*Out : (n+1)*Out]
			for i := range d {
				dbias[i] += d[i]
			}
		}
	}
}
