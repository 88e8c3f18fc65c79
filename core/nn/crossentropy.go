package nn

import "math"

// CrossEntropyForward turns logits into probabilities and returns the
// weighted mean negative log-likelihood of the targets, in nats per token:
//
//	probs[n,:] = softmax(logits[n,:])
//	loss = Σ_n w[n]·(-log probs[n,target[n]]) / Σ_n w[n]
//
// logits, probs (N,V); targets, weights (N). Weights implement loss masking:
// a prompt or padding position has weight 0 and contributes nothing. When
// every weight is zero the loss is 0 and weightSum is 0. The sum is taken in
// float64 so that the reported loss does not depend on batch size through
// rounding.
func CrossEntropyForward(probs, logits []float32, targets []int32, weights []float32, N, V int) (loss float64, weightSum float64) {
	for n := 0; n < N; n++ {
		p := probs[n*V : (n+1)*V]
		copy(p, logits[n*V:(n+1)*V])
		softmaxInPlace(p)
		if w := weights[n]; w != 0 {
			pt := float64(p[targets[n]])
			loss += float64(w) * -math.Log(math.Max(pt, 1e-30))
			weightSum += float64(w)
		}
	}
	if weightSum == 0 {
		return 0, 0
	}
	return loss / weightSum, weightSum
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
			for i := range d {
				d[i] = 0
			}
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
