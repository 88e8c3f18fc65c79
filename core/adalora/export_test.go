package adalora_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lora-playground/lora-playground/core/adalora"
	"github.com/lora-playground/lora-playground/core/lora"
	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/peft"
)

// smallModel is a random 2-layer model with adaptive adapters on q and v.
func smallModel(t testing.TB) (*model.Model, *adalora.Allocator) {
	c := model.Config{Name: "test-base", VocabSize: 11, NCtx: 8, NEmbd: 16, NHead: 2, NLayer: 2}
	m, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	m.InitGPT2(r)
	cfg := adalora.DefaultConfig(100)
	cfg.InitRank, cfg.TargetRank, cfg.Alpha = 6, 3, 8
	if err := m.AddLoRA(cfg.LoRA(), r); err != nil {
		t.Fatal(err)
	}
	var las []*lora.Adapter
	m.EachAdapter(func(_, _ int, a *lora.Adapter) { las = append(las, a) })
	al, err := adalora.NewAllocator(cfg, 100, las, r)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range al.Adapters {
		for i := range a.Lambda {
			a.Lambda[i] = float32(r.NormFloat64())
		}
		a.Pack()
	}
	return m, al
}

// The exported plain LoRA adapter has the same ΔW as the adaptive one, per
// matrix, after a round trip through PEFT's files; a matrix with every
// triplet pruned exports r = 1 with zeros.
func TestExportKeepsDeltaW(t *testing.T) {
	m, al := smallModel(t)
	prune := map[int][]int{0: {1, 4}, 1: {0, 1, 2, 3, 4, 5}, 2: {5}} // adapter → triplets
	for k, is := range prune {
		for _, i := range is {
			al.Adapters[k].Prune(i)
		}
	}
	wantRank := []int{4, 0, 5, 6}
	for k, a := range al.Adapters {
		if a.Rank() != wantRank[k] {
			t.Fatalf("%s: rank %d, want %d", a.Path, a.Rank(), wantRank[k])
		}
	}
	exp := al.Export(m.Config.Name)
	cj, w, err := peft.Encode(exp)
	if err != nil {
		t.Fatal(err)
	}
	back, err := peft.Decode(cj, w)
	if err != nil {
		t.Fatal(err)
	}
	fresh := m.Clone()
	lc, err := fresh.ImportAdapter(back)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*lora.Adapter{}
	fresh.EachAdapter(func(_, _ int, a *lora.Adapter) { got[a.Path] = a })
	for k, a := range al.Adapters {
		la := got[a.Path]
		if la == nil {
			t.Fatalf("%s missing after import", a.Path)
		}
		if want := max(wantRank[k], 1); la.R != want || lc.RankPattern[a.Path] != want {
			t.Errorf("%s: imported r=%d, rank_pattern %d; want %d", a.Path, la.R, lc.RankPattern[a.Path], want)
		}
		if s := back.Config.Scaling(a.Path); math.Abs(s-8.0/6) > 1e-12 {
			t.Errorf("%s: PEFT scaling %v, want α/r⁽⁰⁾ = 8/6", a.Path, s)
		}
		want := make([]float32, a.Out*a.In)
		a.DeltaW(want)
		have := make([]float32, a.Out*a.In)
		la.DeltaW(have)
		var maxAbs float64
		for i := range want {
			maxAbs = max(maxAbs, math.Abs(float64(want[i]-have[i])))
		}
		if maxAbs > 1e-6 {
			t.Errorf("%s: exported ΔW differs by up to %g", a.Path, maxAbs)
		}
		if wantRank[k] == 0 {
			for _, v := range have {
				if v != 0 {
					t.Fatalf("%s: every triplet pruned but ΔW has %v", a.Path, v)
				}
			}
		}
	}
}

// An adaptive adapter that started at rank 6 on two layers' q_proj and
// v_proj, pruned by importance, exports as plain LoRA with a rank per
// matrix and α scaled so that every matrix keeps s = α/r⁽⁰⁾.
func Example() {
	_, al := smallModel(&testing.T{})
	al.PruneTo(14) // importance is still zero everywhere: ties drop the later triplets first
	exp := al.Export("test-base")
	for k, mw := range exp.Modules {
		fmt.Printf("%s kept %d: r=%d alpha=%.4g\n", mw.Module, al.Adapters[k].Rank(), mw.R, exp.Config.AlphaFor(mw.Module))
	}
	// Output:
	// h.0.attn.q_proj kept 6: r=6 alpha=8
	// h.0.attn.v_proj kept 6: r=6 alpha=8
	// h.1.attn.q_proj kept 2: r=2 alpha=2.667
	// h.1.attn.v_proj kept 0: r=1 alpha=1.333
}
