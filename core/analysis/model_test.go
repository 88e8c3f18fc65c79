package analysis

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lora-playground/lora-playground/core/lora"
	"github.com/lora-playground/lora-playground/core/model"
)

func TestAmplifyModel(t *testing.T) {
	m, err := model.New(model.Config{Name: testBase, VocabSize: 10, NCtx: 4, NEmbd: 16, NHead: 2, NLayer: 2})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	m.InitGPT2(rng)
	if _, err := AmplifyModel(m, 1); err == nil {
		t.Fatal("a model without adapters was analysed")
	}
	if err := m.AddLoRA(lora.Config{Rank: 3, Alpha: 6, Targets: []string{"q_proj", "up_proj"}}, rng); err != nil {
		t.Fatal(err)
	}
	m.EachAdapter(func(l, mod int, a *lora.Adapter) {
		for i := range a.B {
			a.B[i] = float32(rng.NormFloat64())
		}
	})
	got, err := AmplifyModel(m, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("%d layers, want 4 (2 layers × q, up)", len(got))
	}
	for _, a := range got {
		if a.R != 3 || a.ProjDelta > a.ProjW || a.ProjRandom > a.ProjW || a.NormDelta == 0 {
			t.Errorf("%s: %+v", a.Module, a.Amplification)
		}
	}
	if err := m.Merge(); err != nil {
		t.Fatal(err)
	}
	if _, err := AmplifyModel(m, 1); err == nil || !strings.Contains(err.Error(), "merged") {
		t.Fatalf("merged model: err = %v", err)
	}
}

func TestCompareAdapters(t *testing.T) {
	a := makeAdapter(1, 4, 8, false, "q_proj", "v_proj")
	b := makeAdapter(2, 2, 8, false, "v_proj")
	self, err := CompareAdapters(a, a, "h.1.attn.q_proj", 1)
	if err != nil {
		t.Fatal(err)
	}
	allPhi(t, self.Phi, 1, 1e-9)
	if self.ExpectedRandom != 1.0/8 {
		t.Fatalf("expected random φ(1,1) = %v, want 1/k = 1/8", self.ExpectedRandom)
	}
	r, err := CompareAdapters(a, b, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if r.Module != "h.0.attn.v_proj" || r.Phi.R1 != 4 || r.Phi.R2 != 2 || r.Baseline.R1 != 4 || r.Baseline.R2 != 2 {
		t.Fatalf("module %s, grid %d×%d, baseline %d×%d", r.Module, r.Phi.R1, r.Phi.R2, r.Baseline.R1, r.Baseline.R2)
	}
	if _, err := CompareAdapters(a, b, "h.0.attn.q_proj", 1); err == nil || !strings.Contains(err.Error(), "second adapter") {
		t.Fatalf("err = %v", err)
	}
}
