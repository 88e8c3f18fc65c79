package model

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lora-playground/lora-playground/core/lora"
	"github.com/lora-playground/lora-playground/core/peft"
)

func trainedLookingModel(t *testing.T, cfg lora.Config) *Model {
	m := testModel(t, 41)
	m.Config.Name = "test/base"
	if err := m.AddLoRA(cfg, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(2, 2))
	m.EachAdapter(func(l, mod int, ad *lora.Adapter) {
		for i := range ad.B {
			ad.B[i] = float32(r.NormFloat64())
		}
	})
	return m
}

func TestAdapterRoundTripsThroughPEFTBitExactly(t *testing.T) {
	cfg := lora.Config{Rank: 3, Alpha: 6, Targets: []string{"q_proj", "v_proj", "up_proj"}, UseRSLoRA: true,
		RankPattern: map[string]int{"h.1.mlp.up_proj": 2}, Init: lora.InitGaussian}
	m := trainedLookingModel(t, cfg)
	exp, err := m.ExportAdapter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := peft.SaveDir(dir, exp); err != nil {
		t.Fatal(err)
	}
	loaded, err := peft.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m2 := testModel(t, 41)
	m2.Config.Name = "test/base"
	got, err := m2.ImportAdapter(loaded)
	if err != nil {
		t.Fatal(err)
	}
	if got.Rank != 3 || !got.UseRSLoRA || got.Init != lora.InitGaussian || got.RankPattern["h.1.mlp.up_proj"] != 2 || len(got.Targets) != 3 {
		t.Fatalf("config came back as %+v", got)
	}
	n := 0
	m.EachAdapter(func(l, mod int, a *lora.Adapter) {
		b := m2.Adapters[l][mod]
		if b == nil || b.R != a.R || b.Scale != a.Scale {
			t.Fatalf("%s: imported %+v", a.Path, b)
		}
		for i := range a.A {
			if math.Float32bits(a.A[i]) != math.Float32bits(b.A[i]) {
				t.Fatalf("%s A[%d] changed", a.Path, i)
			}
		}
		for i := range a.B {
			if math.Float32bits(a.B[i]) != math.Float32bits(b.B[i]) {
				t.Fatalf("%s B[%d] changed", a.Path, i)
			}
		}
		n++
	})
	if n != 6 {
		t.Fatalf("%d adapters", n)
	}
	// And the bytes of a second export equal the first.
	exp2, _ := m2.ExportAdapter(got)
	c1, w1, _ := peft.Encode(exp)
	c2, w2, _ := peft.Encode(exp2)
	if string(c1) != string(c2) || string(w1) != string(w2) {
		t.Fatal("re-exporting an imported adapter changed its files")
	}
}

func TestImportRefusesAdapterForAnotherModel(t *testing.T) {
	cfg := lora.Config{Rank: 2, Alpha: 4, Targets: []string{"q_proj"}}
	m := trainedLookingModel(t, cfg)
	exp, _ := m.ExportAdapter(cfg)

	other, _ := New(Config{Name: "test/base", VocabSize: 11, NCtx: 6, NEmbd: 16, NHead: 2, NLayer: 2})
	if _, err := other.ImportAdapter(exp); err == nil || !strings.Contains(err.Error(), "h.0.attn.q_proj.lora_A: shape [2 8], base model expects [2 16]") {
		t.Fatalf("wider model: %v", err)
	}
	renamed := testModel(t, 1)
	renamed.Config.Name = "test/other"
	if _, err := renamed.ImportAdapter(exp); err == nil || !strings.Contains(err.Error(), `"test/base"`) {
		t.Fatalf("other base name: %v", err)
	}
	if renamed.Adapters != nil {
		t.Fatal("a refused import attached adapters")
	}
}
