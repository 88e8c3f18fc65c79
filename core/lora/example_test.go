package lora_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/lora-playground/lora-playground/core/lora"
)

// An adapter on a 4×6 layer with rank 2 trains 2·(6+4) = 20 numbers
// instead of 24, and at step 0 (B = 0) it changes nothing.
func Example() {
	rng := rand.New(rand.NewPCG(1, 2))
	a := lora.NewAdapter("h.0.attn.q_proj", 2, 6, 4, lora.Scale(4, 2, false), 0, lora.InitDefault, rng)
	fmt.Println("trainable:", a.NumParams(), "of", 6*4)

	x := []float32{1, 2, 3, 4, 5, 6} // one input row
	y := make([]float32, 4)          // the frozen layer's output would be here
	a.Forward(y, x, 1, false, nil)
	fmt.Println("step 0 adds:", y)

	dw := make([]float32, 4*6)
	a.B[0] = 1 // pretend training moved one entry of B
	a.DeltaW(dw)
	nonzeroRows := 0
	for r := 0; r < 4; r++ {
		for c := 0; c < 6; c++ {
			if dw[r*6+c] != 0 {
				nonzeroRows++
				break
			}
		}
	}
	fmt.Println("rows of ΔW touched by one entry of B:", nonzeroRows)
	// Output:
	// trainable: 20 of 24
	// step 0 adds: [0 0 0 0]
	// rows of ΔW touched by one entry of B: 1
}
