package nn

import (
	"math/rand/v2"
	"testing"
)

// TestCrossEntropyBackwardInPlace: writing dlogits over probs gives the
// same numbers as a separate buffer, masked rows included.
func TestCrossEntropyBackwardInPlace(t *testing.T) {
	const N, V = 6, 11
	r := rand.New(rand.NewPCG(9, 9))
	logits := randSlice(r, N*V, 3)
	targets := []int32{0, 3, 10, 5, 5, 1}
	weights := []float32{1, 0, 1, 0.5, 1, 0}
	probs := make([]float32, N*V)
	_, wsum := CrossEntropyForward(probs, logits, targets, weights, N, V)
	want := make([]float32, N*V)
	CrossEntropyBackward(want, probs, targets, weights, wsum, N, V)
	CrossEntropyBackward(probs, probs, targets, weights, wsum, N, V)
	for i := range want {
		if probs[i] != want[i] {
			t.Fatalf("dlogits[%d] = %v in place, %v separately", i, probs[i], want[i])
		}
	}
}
