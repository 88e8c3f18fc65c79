package kernels

import "math"

// Exp32 is a float32 eˣ accurate to a few units in the last place, for the
// softmaxes and GELUs of training, where math.Exp's float64 evaluation is a
// large share of the step in js/wasm (it has no assembly there).
//
// Method (Cephes expf): write x = n·ln2 + r with n = round(x/ln2) and
// |r| ≤ ln2/2, using ln2 split in two parts so r is exact; approximate e^r
// by a degree-6 polynomial (Taylor coefficients, error < 2⁻²⁴ on that
// interval); scale by 2ⁿ by building the exponent bits. Inputs beyond the
// float32 range saturate: +Inf above 88.72, 0 below -103.97 (subnormal
// results are flushed to zero), NaN stays NaN.
func Exp32(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	switch {
	case x != x:
		return x
	case x > 88.72283:
		return float32(math.Inf(1))
	case x < -87.33654: // below this 2ⁿ would be subnormal
		return 0
	}
	// Round x/ln2 to the nearest integer (half away from zero).
	h := float32(0.5)
	if x < 0 {
		h = -0.5
	}
	n := int32(x*log2e + h)
	fn := float32(n)
	r := x - fn*ln2hi - fn*ln2lo
	p := 1 + r*(1+r*(0.5+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	return p * math.Float32frombits(uint32(n+127)<<23)
}

// Tanh32 is a float32 tanh. Below |u| = 0.625 it uses Cephes tanhf's odd
// polynomial u + u³·P(u²), which keeps relative accuracy near 0; above, it
// uses tanh(u) = 1 - 2/(e^{2u}+1) with Exp32; beyond 9 it is ±1 in float32.
func Tanh32(u float32) float32 {
	a := u
	if a < 0 {
		a = -a
	}
	var t float32
	switch {
	case a < 0.625:
		s := a * a
		t = ((((-5.70498872745e-3*s+2.06390887954e-2)*s-5.37397155531e-2)*s+1.33314422036e-1)*s-3.33332819422e-1)*s*a + a
	case a > 9.01:
		t = 1
	default:
		t = 1 - 2/(Exp32(2*a)+1)
	}
	if u < 0 {
		return -t
	}
	return t
}
