package nn

import (
	"math"

	"github.com/lora-playground/lora-playground/core/kernels"
)

// LayerNormEps is the ε added to the variance, as in GPT-2 and PyTorch.
const LayerNormEps = 1e-5

// LayerNormForward normalises each row of inp to zero mean and unit variance,
// then scales and shifts it:
//
//	out = (x - μ) / sqrt(σ² + ε) · weight + bias
//
// out, inp (N,C); weight, bias (C); mean, rstd (N) are saved for the
// backward pass (rstd = 1/sqrt(σ²+ε)). σ² is the biased variance.
func LayerNormForward(out, mean, rstd, inp, weight, bias []float32, N, C int) {
	if kernels.LayerNormForwardSIMD(out, mean, rstd, inp, weight, bias, N, C) {
		return // the SIMD build: the same formula, row sums in four lanes
	}
	layerNormForwardScalar(out, mean, rstd, inp, weight, bias, N, C)
}

// layerNormForwardScalar is LayerNormForward in scalar Go.
func layerNormForwardScalar(out, mean, rstd, inp, weight, bias []float32, N, C int) {
	for n := 0; n < N; n++ {
		x := inp[n*C : (n+1)*C]
		var m float32
		for _, v := range x {
			m += v
		}
		m /= float32(C)
		var v2 float32
		for _, v := range x {
			d := v - m
			v2 += d * d
		}
		v2 /= float32(C)
		s := float32(1 / math.Sqrt(float64(v2)+LayerNormEps))
		o := out[n*C : (n+1)*C]
		for i, v := range x {
			o[i] = (v-m)*s*weight[i] + bias[i]
		}
		mean[n] = m
		rstd[n] = s
	}
}

// LayerNormBackward accumulates dinp (N,C), and dweight, dbias (C) unless they
// are nil (frozen). With x̂ = (x-μ)·rstd and g = dout·weight:
//
//	dx = rstd · (g - mean(g) - x̂·mean(g·x̂))
//	dweight += Σ_n dout·x̂,  dbias += Σ_n dout
func LayerNormBackward(dinp, dweight, dbias, dout, inp, weight, mean, rstd []float32, N, C int) {
	if dweight == nil && dbias == nil && kernels.LayerNormBackwardSIMD(dinp, dout, inp, weight, mean, rstd, N, C) {
		return // the SIMD build, for frozen layer norms (LoRA)
	}
	layerNormBackwardScalar(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C)
}

// layerNormBackwardScalar is LayerNormBackward in scalar Go.
func layerNormBackwardScalar(dinp, dweight, dbias, dout, inp, weight, mean, rstd []float32, N, C int) {
	for n := 0; n < N; n++ {
		x := inp[n*C : (n+1)*C]
		d := dout[n*C : (n+1)*C]
		m, s := mean[n], rstd[n]
		var gMean, gxMean float32
		for i := range x {
			xh := (x[i] - m) * s
			g := d[i] * weight[i]
			gMean += g
			gxMean += g * xh
		}
		gMean /= float32(C)
		gxMean /= float32(C)
		di := dinp[n*C : (n+1)*C]
		for i := range x {
			xh := (x[i] - m) * s
			g := d[i] * weight[i]
			di[i] += s * (g - gMean - xh*gxMean)
			if dweight != nil {
				dweight[i] += d[i] * xh
			}
			if dbias != nil {
				dbias[i] += d[i]
			}
		}
	}
}
