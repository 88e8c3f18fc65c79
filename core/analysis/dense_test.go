package analysis

import (
	"math"
	"testing"

	"github.com/lora-playground/lora-playground/core/linalg"
)

func TestRandomOrthonormal(t *testing.T) {
	rng := newRNG(10)
	for _, s := range [][2]int{{1, 1}, {6, 6}, {64, 8}, {256, 64}} {
		q := RandomOrthonormal(s[0], s[1], rng)
		if r, c := q.Dims(); r != s[0] || c != s[1] {
			t.Fatalf("%v: shape %d×%d", s, r, c)
		}
		qtq := linalg.Mul(q, true, q)
		for i := 0; i < s[1]; i++ {
			for j := 0; j < s[1]; j++ {
				want := 0.0
				if i == j {
					want = 1
				}
				if math.Abs(qtq.At(i, j)-want) > 1e-12 {
					t.Fatalf("%d×%d: (QᵀQ)[%d][%d] = %v, want %v", s[0], s[1], i, j, qtq.At(i, j), want)
				}
			}
		}
	}
}
