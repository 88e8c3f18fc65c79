package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The tests in this file check every backward function against central finite
// differences of its forward function. The scalar being differentiated is
// L = Σ dout·out for a fixed random dout, so ∂L/∂x is exactly what the backward
// pass computes from dout.

func randSlice(r *rand.Rand, n int, scale float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64()) * scale
	}
	return s
}

func dotF64(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// checkGrad perturbs every element of x (or a sample of them) and compares
// (L(x+h)-L(x-h))/2h with analytic[i].
func checkGrad(t *testing.T, name string, x, analytic []float32, loss func() float64) {
	t.Helper()
	const h = 1e-2

	for i := range x {
		orig := x[i]
		x[i] = orig + h
		lp := loss()
		x[i] = orig - h
		lm := loss()
		x[i] = orig
		num := (lp - lm) / (2 * h)
		diff := math.Abs(num - float64(analytic[i]))
		tol := 2e-2*math.Max(math.Abs(num), math.Abs(float64(analytic[i]))) + 2e-3
		if diff > tol {
			t.Errorf("%s[%d]: finite difference %.6g, backward %.6g", name, i, num, analytic[i])
			return
		}

	}
	if len(x) == 0 {
		t.Fatalf("%s: nothing checked", name)
	}
}

func TestLayerNormBackwardMatchesFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	N, C := 3, 8
	inp := randSlice(r, N*C, 1)
	w := randSlice(r, C, 1)
	b := randSlice(r, C, 1)
	dout := randSlice(r, N*C, 1)
	out := make([]float32, N*C)
	mean := make([]float32, N)
	rstd := make([]float32, N)
	loss := func() float64 {
		LayerNormForward(out, mean, rstd, inp, w, b, N, C)
		return dotF64(out, dout)
	}
	loss()
	dinp := make([]float32, N*C)
	dw := make([]float32, C)
	db := make([]float32, C)
	LayerNormBackward(dinp, dw, db, dout, inp, w, mean, rstd, N, C)
	checkGrad(t, "dinp", inp, dinp, loss)
	checkGrad(t, "dweight", w, dw, loss)
	checkGrad(t, "dbias", b, db, loss)
}

func TestLinearBackwardMatchesFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	N, In, Out := 5, 7, 6
	inp := randSlice(r, N*In, 1)
	w := randSlice(r, Out*In, 0.5)
	b := randSlice(r, Out, 0.5)
	dout := randSlice(r, N*Out, 1)
	out := make([]float32, N*Out)
	loss := func() float64 {
		LinearForward(out, inp, w, b, N, In, Out)
		return dotF64(out, dout)
	}
	dinp := make([]float32, N*In)
	dw := make([]float32, Out*In)
	db := make([]float32, Out)
	LinearBackward(dinp, dw, db, dout, inp, w, N, In, Out)
	checkGrad(t, "dinp", inp, dinp, loss)
	checkGrad(t, "dweight", w, dw, loss)
	checkGrad(t, "dbias", b, db, loss)
}

func TestLinearBackwardSkipsFrozenWeights(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	N, In, Out := 4, 3, 2
	inp := randSlice(r, N*In, 1)
	w := randSlice(r, Out*In, 1)
	dout := randSlice(r, N*Out, 1)
	dinpFrozen := make([]float32, N*In)
	LinearBackward(dinpFrozen, nil, nil, dout, inp, w, N, In, Out)
	dinp := make([]float32, N*In)
	LinearBackward(dinp, make([]float32, Out*In), make([]float32, Out), dout, inp, w, N, In, Out)
	for i := range dinp {
		if dinp[i] != dinpFrozen[i] {
			t.Fatalf("freezing the weight changed dinp[%d]: %v vs %v", i, dinpFrozen[i], dinp[i])
		}
	}
}

func TestGeluBackwardMatchesFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	n := 40
	inp := randSlice(r, n, 2)
	dout := randSlice(r, n, 1)
	out := make([]float32, n)
	loss := func() float64 {
		GeluForward(out, inp)
		return dotF64(out, dout)
	}
	dinp := make([]float32, n)
	GeluBackward(dinp, inp, dout)
	checkGrad(t, "dinp", inp, dinp, loss)
}

func TestGeluKnownValues(t *testing.T) {
	for _, c := range []struct{ x, want float64 }{
		{0, 0}, {1, 0.8411920}, {-1, -0.1588080}, {3, 2.9963627},
	} {
		out := make([]float32, 1)
		GeluForward(out, []float32{float32(c.x)})
		if math.Abs(float64(out[0])-c.want) > 1e-5 {
			t.Errorf("gelu(%v) = %v, want %v", c.x, out[0], c.want)
		}
	}
}

func TestAttentionBackwardMatchesFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	B, T, C, NH := 2, 4, 6, 2
	q := randSlice(r, B*T*C, 1)
	k := randSlice(r, B*T*C, 1)
	v := randSlice(r, B*T*C, 1)
	dout := randSlice(r, B*T*C, 1)
	out := make([]float32, B*T*C)
	loss := func() float64 {
		AttentionForward(out, q, k, v, B, T, C, NH)
		return dotF64(out, dout)
	}
	loss()
	dq := make([]float32, B*T*C)
	dk := make([]float32, B*T*C)
	dv := make([]float32, B*T*C)
	AttentionBackward(dq, dk, dv, dout, q, k, v, B, T, C, NH)
	checkGrad(t, "dq", q, dq, loss)
	checkGrad(t, "dk", k, dk, loss)
	checkGrad(t, "dv", v, dv, loss)
}

func TestAttentionIsCausal(t *testing.T) {
	// Changing a later position's key or value must not change any earlier output.
	r := rand.New(rand.NewPCG(11, 12))
	B, T, C, NH := 1, 5, 4, 2
	q := randSlice(r, B*T*C, 1)
	k := randSlice(r, B*T*C, 1)
	v := randSlice(r, B*T*C, 1)
	out1 := make([]float32, B*T*C)
	AttentionForward(out1, q, k, v, B, T, C, NH)
	for i := (T - 1) * C; i < T*C; i++ {
		k[i] += 5
		v[i] -= 3
	}
	out2 := make([]float32, B*T*C)
	AttentionForward(out2, q, k, v, B, T, C, NH)
	for i := 0; i < (T-1)*C; i++ {
		if out1[i] != out2[i] {
			t.Fatalf("output %d changed when only the last position's k,v changed", i)
		}
	}
	// Each row of a head's weights sums to one over t2 ≤ t.
	att := make([]float32, T*T)
	for h := 0; h < NH; h++ {
		headWeightsLoops(att, q, k, 0, h, T, C, C/NH, 0)
		for row := 0; row < T; row++ {
			var s float64
			for _, a := range att[row*T : (row+1)*T] {
				s += float64(a)
			}
			if math.Abs(s-1) > 1e-5 {
				t.Fatalf("attention head %d row %d sums to %v", h, row, s)
			}
		}
	}
}

func TestCrossEntropyBackwardMatchesFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	N, V := 6, 5
	logits := randSlice(r, N*V, 2)
	probs := make([]float32, N*V)
	targets := []int32{0, 4, 2, 2, 1, 3}
	weights := []float32{1, 0, 1, 1, 0, 1} // masked positions contribute nothing
	loss := func() float64 {
		l, _ := CrossEntropyForward(probs, logits, targets, weights, N, V)
		return l
	}
	_, ws := CrossEntropyForward(probs, logits, targets, weights, N, V)
	if ws != 4 {
		t.Fatalf("weight sum %v, want 4", ws)
	}
	dlogits := make([]float32, N*V)
	CrossEntropyBackward(dlogits, probs, targets, weights, ws, N, V)
	checkGrad(t, "dlogits", logits, dlogits, loss)
	for i := V; i < 2*V; i++ {
		if dlogits[i] != 0 {
			t.Fatalf("masked row has gradient %v", dlogits[i])
		}
	}
}

func TestCrossEntropyUniformLogitsGiveLogV(t *testing.T) {
	N, V := 3, 7
	logits := make([]float32, N*V)
	probs := make([]float32, N*V)
	l, _ := CrossEntropyForward(probs, logits, []int32{1, 2, 3}, []float32{1, 1, 1}, N, V)
	if math.Abs(l-math.Log(float64(V))) > 1e-6 {
		t.Fatalf("loss %v, want ln %d = %v", l, V, math.Log(float64(V)))
	}
}

func TestEncoderBackwardMatchesFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	B, T, C, V := 2, 3, 4, 5
	wte := randSlice(r, V*C, 1)
	wpe := randSlice(r, T*C, 1)
	inp := []int32{1, 4, 1, 0, 2, 4}
	dout := randSlice(r, B*T*C, 1)
	out := make([]float32, B*T*C)
	loss := func() float64 {
		EncoderForward(out, inp, wte, wpe, B, T, C)
		return dotF64(out, dout)
	}
	dwte := make([]float32, V*C)
	dwpe := make([]float32, T*C)
	EncoderBackward(dwte, dwpe, dout, inp, B, T, C)
	checkGrad(t, "dwte", wte, dwte, loss)
	checkGrad(t, "dwpe", wpe, dwpe, loss)
}
