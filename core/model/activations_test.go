package model

import (
	"math/rand/v2"
	"testing"

	"github.com/lora-playground/lora-playground/core/lora"
)

// TestActivationsKeepOnlyWhatBackwardReads runs one forward and backward
// pass per method and checks the activation memory: a linear layer's input
// is kept only when its weight trains or an adapter hangs on it. Full
// fine-tuning keeps all four inputs of every block (ln1, atty, ln2, gelu:
// 7 (B,T,C)-sized buffers) and the head's (ln_f's output), LoRA on q and v
// only ln1 (1 per block) and no q in block 0 (nothing there needs dk, the
// only reader of q), evaluation no q at all.
func TestActivationsKeepOnlyWhatBackwardReads(t *testing.T) {
	const B, T = 2, 5
	bytesAfter := func(setup func(m *Model)) int64 {
		m := testModel(t, 11)
		setup(m)
		b := testBatch(2, m.Config, B, T)
		a := NewActivations(m.Config, B, T)
		m.lossOn(t, a, b)
		if m.G != nil {
			m.Backward(a, b.inputs, b.targets, b.weights)
		}
		return a.Bytes()
	}
	eval := bytesAfter(func(m *Model) {})
	full := bytesAfter(func(m *Model) { m.G = NewWeights(m.Config, nil) })
	qv := bytesAfter(func(m *Model) {
		m.G = NewWeights(m.Config, func(Param) bool { return false })
		if err := m.AddLoRA(lora.Config{Rank: 2, Alpha: 2, Targets: []string{"q_proj", "v_proj"}}, rand.New(rand.NewPCG(1, 1))); err != nil {
			t.Fatal(err)
		}
		m.EachAdapter(func(l, mod int, ad *lora.Adapter) { ad.EnableGrad() })
	})
	c := testModel(t, 11).Config
	block := int64(4 * B * T * c.NEmbd * c.NLayer) // one (B,T,C) buffer in every block, in bytes
	head := int64(4 * B * T * c.NEmbd)             // also the size of one block's q
	if full-eval != 8*block+head || qv-eval != 2*block-head {
		t.Errorf("kept inputs: full %d, LoRA q,v %d bytes more than evaluation; want %d and %d", full-eval, qv-eval, 8*block+head, 2*block-head)
	}
}
