package nn

import (
	"math"

	"github.com/lora-playground/lora-playground/core/kernels"
)

// CrossEntropyForward returns the weighted mean negative log-likelihood of
// the targets under softmax(logits), in nats per token:
//
//	probs[n,:] = softmax(logits[n,:])
//	loss = Σ_n w[n]·(-log probs[n,target[n]]) / Σ_n w[n]
//
// logits (N,V); targets, weights (N). probs (N,V) receives the
// probabilities, which the backward pass reads; it may be logits itself
// (in place), or nil when nothing will read them: then only the targets'
// probabilities are computed, with the same operations, and logits stay
// unchanged. Weights implement loss masking: a prompt or padding position
// has weight 0 and contributes nothing. When every weight is zero the loss
// is 0 and weightSum is 0. The sum is taken in float64 so that the reported
// loss does not depend on batch size through rounding.
func CrossEntropyForward(probs, logits []float32, targets []int32, weights []float32, N, V int) (loss float64, weightSum float64) {
	inPlace := probs != nil && N > 0 && &probs[0] == &logits[0]
	for n := 0; n < N; n++ {
		w := weights[n]
		var pt float32
		if probs == nil {
			if w == 0 {
				continue
			}
			pt = softmaxAt(logits[n*V:(n+1)*V], int(targets[n]))
		} else {
			p := probs[n*V : (n+1)*V]
			if !inPlace {
				copy(p, logits[n*V:(n+1)*V])
			}
			softmaxInPlace(p)
			pt = p[targets[n]]
		}
		if w != 0 {
			loss += float64(w) * -math.Log(math.Max(float64(pt), 1e-30))
			weightSum += float64(w)
		}
	}
	if weightSum == 0 {
		return 0, 0
	}
	return loss / weightSum, weightSum
}

// softmaxAt returns softmax(row)[i] computed with softmaxInPlace's
// operations in its order, so it is that function's row[i] to the bit,
// without writing the row.
func softmaxAt(row []float32, i int) float32 {
	maxv := float32(math.Inf(-1))
	for _, s := range row {
		if s > maxv {
			maxv = s
		}
	}
	var sum, ei float32
	for t2, s := range row {
		e := kernels.Exp32(s - maxv)
		if t2 == i {
			ei = e
		}
		sum += e
	}
	inv := 1 / sum
	return ei * inv
}

// SoftmaxRows replaces each of the N rows of x (N,V) by its softmax, as
// CrossEntropyForward computes the probabilities.
func SoftmaxRows(x []float32, N, V int) {
	for n := 0; n < N; n++ {
		softmaxInPlace(x[n*V : (n+1)*V])
	}
}

// CrossEntropyBackward writes (not accumulates) the gradient of the mean
// loss with respect to the logits:
//
//	dlogits[n,i] = w[n]/Σw · (probs[n,i] - [i == target[n]])
//
// dlogits may be probs itself (each probability is read just before its
// element is written), which saves a (B,T,V) buffer in training.
func CrossEntropyBackward(dlogits, probs []float32, targets []int32, weights []float32, weightSum float64, N, V int) {
	for n := 0; n < N; n++ {
		d := dlogits[n*V : (n+1)*V]
		w := weights[n]
		if w == 0 || weightSum == 0 {
			clear(d)
			continue
		}
		c := float32(float64(w) / weightSum)
		p := probs[n*V : (n+1)*V]
		for i := range d {
			d[i] = c * p[i]
		}
		d[targets[n]] -= c
	}
}
