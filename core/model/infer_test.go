package model

import (
	"math/rand/v2"
	"testing"

	"github.com/lora-playground/lora-playground/core/lora"
)

func TestDecoderMatchesForward(t *testing.T) {
	m := testModel(t, 21)
	c := m.Config
	if err := m.AddLoRA(lora.Config{Rank: 2, Alpha: 4, Targets: []string{"q_proj", "v_proj", "down_proj"}}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(2, 2))
	m.EachAdapter(func(l, mod int, ad *lora.Adapter) {
		for i := range ad.B {
			ad.B[i] = float32(r.NormFloat64() * 0.3)
		}
	})
	T := c.NCtx
	toks := make([]int32, T)
	for i := range toks {
		toks[i] = int32(r.IntN(c.VocabSize))
	}
	a := NewActivations(c, 1, T)
	if _, err := m.Forward(a, toks, nil, nil, 1, T, nil); err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(m)
	V := c.VocabSize
	for pos, tok := range toks {
		if err := d.Feed(tok); err != nil {
			t.Fatal(err)
		}
		if diff := maxAbsDiff(d.Logits, a.Logits[pos*V:(pos+1)*V]); diff > 1e-5 {
			t.Fatalf("position %d: cached decoder and Forward differ by %g", pos, diff)
		}
	}
	if err := d.Feed(0); err == nil {
		t.Fatal("feeding past the context succeeded")
	}
}
