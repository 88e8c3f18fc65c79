package nn

import (
	"math/rand/v2"
	"testing"
)

// TestCrossEntropyProbabilitiesWhereverStored: the probabilities written
// over the logits (in place), into a separate buffer, or not at all (nil),
// and SoftmaxRows of the logits, give the same loss and the same numbers,
// and the backward pass gives the same gradient whether it writes over the
// probabilities or beside them, masked rows included.
func TestCrossEntropyProbabilitiesWhereverStored(t *testing.T) {
	const N, V = 6, 11
	r := rand.New(rand.NewPCG(9, 9))
	logits := randSlice(r, N*V, 3)
	targets := []int32{0, 3, 10, 5, 5, 1}
	weights := []float32{1, 0, 1, 0.5, 1, 0}

	probs := make([]float32, N*V)
	loss, wsum := CrossEntropyForward(probs, logits, targets, weights, N, V)
	kept := append([]float32(nil), logits...)
	if l, ws := CrossEntropyForward(nil, kept, targets, weights, N, V); l != loss || ws != wsum {
		t.Fatalf("without stored probabilities: loss %v (weights %v), stored %v (%v)", l, ws, loss, wsum)
	}
	same(t, "logits after a pass that stores nothing", logits, kept, logits)
	rows := append([]float32(nil), logits...)
	SoftmaxRows(rows, N, V)
	same(t, "SoftmaxRows", logits, rows, probs)
	inPlace := append([]float32(nil), logits...)
	if l, ws := CrossEntropyForward(inPlace, inPlace, targets, weights, N, V); l != loss || ws != wsum {
		t.Fatalf("in place: loss %v (weights %v), separately %v (%v)", l, ws, loss, wsum)
	}
	same(t, "probabilities in place", logits, inPlace, probs)

	want := make([]float32, N*V)
	CrossEntropyBackward(want, probs, targets, weights, wsum, N, V)
	CrossEntropyBackward(probs, probs, targets, weights, wsum, N, V)
	same(t, "dlogits in place", logits, probs, want)
}
