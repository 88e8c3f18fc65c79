package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestExp32MatchesMathExp(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	worst := 0.0
	for i := 0; i < 200000; i++ {
		x := float32(r.Float64()*170 - 85)
		got := float64(Exp32(x))
		want := math.Exp(float64(x))
		rel := math.Abs(got-want) / want
		if rel > worst {
			worst = rel
		}
	}
	// A few float32 ulps (2⁻²⁴ ≈ 6e-8 each).
	if worst > 4e-7 {
		t.Fatalf("worst relative error %.3g", worst)
	}
	for _, c := range []struct{ x, want float32 }{
		{0, 1}, {100, float32(math.Inf(1))}, {-200, 0},
	} {
		if got := Exp32(c.x); got != c.want {
			t.Errorf("Exp32(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if nan := Exp32(float32(math.NaN())); nan == nan {
		t.Error("Exp32(NaN) is not NaN")
	}
}

func TestTanh32MatchesMathTanh(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	worstAbs, worstRel := 0.0, 0.0
	for i := 0; i < 200000; i++ {
		u := float32(r.NormFloat64() * 3)
		if i%10 == 0 {
			u *= 1e-3 // small arguments need relative accuracy
		}
		got := float64(Tanh32(u))
		want := math.Tanh(float64(u))
		worstAbs = math.Max(worstAbs, math.Abs(got-want))
		if want != 0 {
			worstRel = math.Max(worstRel, math.Abs(got-want)/math.Abs(want))
		}
	}
	if worstAbs > 3e-7 || worstRel > 2e-6 {
		t.Fatalf("worst error: absolute %.3g, relative %.3g", worstAbs, worstRel)
	}
	if Tanh32(20) != 1 || Tanh32(-20) != -1 || Tanh32(0) != 0 {
		t.Error("saturation or zero wrong")
	}
}

func BenchmarkExp(b *testing.B) {
	xs := make([]float32, 1024)
	for i := range xs {
		xs[i] = float32(i%40) - 20
	}
	b.Run("math.Exp", func(b *testing.B) {
		var s float32
		for i := 0; i < b.N; i++ {
			for _, x := range xs {
				s += float32(math.Exp(float64(x)))
			}
		}
		_ = s
	})
	b.Run("Exp32", func(b *testing.B) {
		var s float32
		for i := 0; i < b.N; i++ {
			for _, x := range xs {
				s += Exp32(x)
			}
		}
		_ = s
	})
}
