package sample

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/lora-playground/lora-playground/core/model"
)

func randomModel(t *testing.T) *model.Model {
	m, err := model.New(model.Config{VocabSize: 13, NCtx: 8, NEmbd: 8, NHead: 2, NLayer: 1})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, p := range m.W.Params(m.Config) {
		for i := range p.Data {
			p.Data[i] = float32(r.NormFloat64())
		}
	}
	return m
}

func TestGenerateIsSeededAndSlidesTheWindow(t *testing.T) {
	m := randomModel(t)
	o := Options{MaxTokens: 30, Temperature: 1, Seed: 7} // 30 > n_ctx: the window must slide
	a, err := Generate(m, []int32{1, 2, 3}, o)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Generate(m, []int32{1, 2, 3}, o)
	if len(a) != 30 || !slices.Equal(a, b) {
		t.Fatalf("same seed gave %v and %v", a, b)
	}
	o.Seed = 8
	c, _ := Generate(m, []int32{1, 2, 3}, o)
	if slices.Equal(a, c) {
		t.Fatal("different seeds gave the same 30 tokens")
	}
}

func TestTopKOneIsGreedy(t *testing.T) {
	m := randomModel(t)
	g, err := Generate(m, []int32{4}, Options{MaxTokens: 12, Temperature: 0})
	if err != nil {
		t.Fatal(err)
	}
	k1, _ := Generate(m, []int32{4}, Options{MaxTokens: 12, Temperature: 0.8, TopK: 1, Seed: 3})
	if !slices.Equal(g, k1) {
		t.Fatalf("greedy %v, top-1 %v", g, k1)
	}
	// Greedy must pick the argmax of the full forward pass.
	a := model.NewActivations(m.Config, 1, 1)
	if _, err := m.Forward(a, []int32{4}, nil, nil, 1, 1, nil); err != nil {
		t.Fatal(err)
	}
	best := 0
	for i, l := range a.Logits[:m.Config.VocabSize] {
		if l > a.Logits[best] {
			best = i
		}
	}
	if g[0] != int32(best) {
		t.Fatalf("first greedy token %d, argmax %d", g[0], best)
	}
}

func TestTopKRestrictsChoices(t *testing.T) {
	m := randomModel(t)
	// With top-k = 2 every sampled first token is one of the two most likely.
	a := model.NewActivations(m.Config, 1, 1)
	m.Forward(a, []int32{5}, nil, nil, 1, 1, nil)
	l := append([]float32(nil), a.Logits[:13]...)
	idx := []int{}
	for i := range l {
		idx = append(idx, i)
	}
	slices.SortFunc(idx, func(x, y int) int {
		if l[x] > l[y] {
			return -1
		}
		return 1
	})
	seen := map[int32]bool{}
	for seed := uint64(0); seed < 40; seed++ {
		out, _ := Generate(m, []int32{5}, Options{MaxTokens: 1, Temperature: 5, TopK: 2, Seed: seed})
		seen[out[0]] = true
	}
	for tok := range seen {
		if int(tok) != idx[0] && int(tok) != idx[1] {
			t.Fatalf("top-2 sampling produced token %d, outside %v", tok, idx[:2])
		}
	}
	if len(seen) != 2 {
		t.Fatalf("hot top-2 sampling produced %d distinct tokens in 40 tries", len(seen))
	}
}

func TestOptionsRejectBadValues(t *testing.T) {
	m := randomModel(t)
	for _, o := range []Options{{MaxTokens: -1}, {MaxTokens: 1, Temperature: -1}, {MaxTokens: 1, TopK: -2}} {
		if _, err := Generate(m, []int32{1}, o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := Generate(m, nil, Options{MaxTokens: 1}); err == nil {
		t.Error("empty prompt accepted")
	}
}

func TestContinueStopsGeneration(t *testing.T) {
	m := randomModel(t)
	full, _ := Generate(m, []int32{1, 2}, Options{MaxTokens: 20, Temperature: 1, Seed: 5})
	stop := errors.New("out of time")
	got, err := Generate(m, []int32{1, 2}, Options{MaxTokens: 20, Temperature: 1, Seed: 5,
		Continue: func(n int) error {
			if n == 7 {
				return stop
			}
			return nil
		}})
	if err != stop || !slices.Equal(got, full[:7]) {
		t.Fatalf("got %v, %v; want the first 7 of %v and the stop error", got, err, full)
	}
}
