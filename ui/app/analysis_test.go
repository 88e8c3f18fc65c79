package app

import (
	"strings"
	"testing"

	"github.com/lora-playground/lora-playground/ui/state"
	"github.com/lora-playground/lora-playground/wasm/protocol"
)

func TestAnalysisPanelsThroughTheClient(t *testing.T) {
	a, c, sent, _ := newTestApp(state.Default())
	a.Analyzer = c
	// Before a run: the panel says why nothing happens, nothing is sent.
	a.RunAmplify()
	if len(*sent) != 0 || !strings.Contains(a.An.Err, "start a LoRA run") {
		t.Fatalf("amplify before a run: sent %d, err %q", len(*sent), a.An.Err)
	}
	a.StepOnce()
	*sent = nil
	a.RunAmplify()
	if len(*sent) != 1 || (*sent)[0].Type != protocol.TypeAmplify || a.An.Busy != protocol.TypeAmplify {
		t.Fatalf("sent %+v, busy %q", *sent, a.An.Busy)
	}
	a.RunSubspace() // refused while amplify is in flight
	if len(*sent) != 1 || !strings.Contains(a.An.Err, "wait for") {
		t.Fatalf("a second analysis was sent while one runs: %+v", *sent)
	}
	c.Handle(protocol.Message{V: 1, Re: (*sent)[0].ID, Type: protocol.TypeAmplify, Analysis: &protocol.AnalysisResult{Amplify: &protocol.AmplifyResult{
		Step: 1, Layers: []protocol.AmplifyRow{{Module: "h.0.attn.q_proj", R: 8, NormW: 7.4, NormDelta: 10.7, ProjDelta: 2.1, ProjW: 6.3, ProjRandom: 0.86, Factor: 4.98}},
		Paper: []protocol.AmplifyRow{{Module: "GPT-3", R: 4, Factor: 21.6}}}}})
	if a.An.Busy != "" || a.An.Amplify == nil {
		t.Fatalf("after the reply: busy %q", a.An.Busy)
	}
	html := render(t, a)
	for _, want := range []string{`data-testid="amplify-factor">4.98<`, "Your largest factor is 5.0", "6.91 / 0.32 ≈ 21.5"} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}

	// Train B: progress events, then the final one names B.
	*sent = nil
	a.TrainOther()
	if len(*sent) != 1 || (*sent)[0].Analysis.Rank != 64 || (*sent)[0].Analysis.Seed != a.Applied.Seed+1 {
		t.Fatalf("analysis_train %+v", (*sent)[0].Analysis)
	}
	c.Handle(protocol.Message{V: 1, Type: protocol.TypeAnalysisProgress, Analysis: &protocol.AnalysisResult{
		Progress: &protocol.AnalysisProgress{Rank: 64, Step: 3, Steps: 10, Running: true}}})
	if html := render(t, a); !strings.Contains(html, "step 3 of 10") || !strings.Contains(html, `data-testid="cancel-other"`) {
		t.Fatal("no progress or cancel button while B trains")
	}
	c.Handle(protocol.Message{V: 1, Type: protocol.TypeAnalysisProgress, Analysis: &protocol.AnalysisResult{
		Progress: &protocol.AnalysisProgress{Rank: 64, Step: 10, Steps: 10},
		Other:    &protocol.OtherAdapter{Source: "trained here: r=64", Rank: 64, Targets: []string{"q_proj"}, Modules: []string{"h.0.attn.q_proj"}}}})
	if a.An.Busy != "" || a.An.Other == nil {
		t.Fatalf("after training B: busy %q, other %v", a.An.Busy, a.An.Other)
	}

	// Subspace: the φ grid is drawn as a heatmap of R1×R2.
	*sent = nil
	a.RunSubspace()
	c.Handle(protocol.Message{V: 1, Re: (*sent)[0].ID, Type: protocol.TypeSubspace, Analysis: &protocol.AnalysisResult{Subspace: &protocol.SubspaceResult{
		Module: "h.0.attn.q_proj", K: 64, R1: 2, R2: 3, Phi: [][]float64{{0.6, 0.5, 0.4}, {0.3, 0.35, 0.3}},
		Baseline: [][]float64{{0.01, 0.03, 0.05}, {0.03, 0.03, 0.05}}, Top: 0.6, TopRandom: 0.01, ExpectedRandom: 1.0 / 64}}})
	html = render(t, a)
	if !strings.Contains(html, `data-testid="phi-grid"`) || !strings.Contains(html, `width="3"`) || !strings.Contains(html, "φ(1,1) = 0.60") {
		t.Fatal("the φ grid is not on the page")
	}
	if g := a.An.PhiGrid(); len(g) != 6 || g[0] != 0.6 {
		t.Fatalf("grid %v", g)
	}
	a.An.Baseline = true
	if g := a.An.PhiGrid(); g[0] != 0.01 {
		t.Fatalf("baseline grid %v", g)
	}

	// Combine: an error from the worker stays in the analysis panel and
	// does not stop the learner's run.
	*sent = nil
	a.Playing = true
	if w := a.An.Weight(); w != 0.5 {
		t.Fatalf("the blend starts at w_B = %v, want half and half", w)
	}
	a.An.Method = "linear"
	a.An.SetWeight(0.25)
	a.RunCombine()
	if w := (*sent)[0].Analysis.Weights; len(w) != 2 || w[0] != 0.75 || w[1] != 0.25 {
		t.Fatalf("weights %v", w)
	}
	c.Handle(protocol.Message{V: 1, Re: (*sent)[0].ID, Type: protocol.TypeError, Message: "combine: linear needs equal ranks"})
	if !a.Playing || a.Error != "" || !strings.Contains(a.An.Err, "equal ranks") || a.An.Busy != "" {
		t.Fatalf("playing %v, page error %q, analysis error %q", a.Playing, a.Error, a.An.Err)
	}
	*sent = nil
	a.RunCombine()
	c.Handle(protocol.Message{V: 1, Re: (*sent)[0].ID, Type: protocol.TypeCombine, Analysis: &protocol.AnalysisResult{Combine: &protocol.CombineResult{
		Method: "cat", Weights: []float64{0.75, 0.25}, Modules: []protocol.CombineModule{{Module: "h.0.attn.q_proj", R: 72, RelErr: 1e-8}},
		Base: "base text", A: "a text", B: "b text", Blend: "blend text"}}})
	for _, k := range []string{"a", "b", "blend"} {
		a.An.ShowBlend = k
		if html := render(t, a); !strings.Contains(html, k+" text") {
			t.Errorf("showing %s: its sample is not on the page", k)
		}
	}

	// A new run: the results about the old adapter go, B stays.
	a.Reset()
	html = render(t, a)
	if a.An.Combine != nil || a.An.Amplify != nil || a.An.Subspace != nil || a.An.Other == nil {
		t.Fatalf("after reset: amplify %v, subspace %v, combine %v, B %v", a.An.Amplify, a.An.Subspace, a.An.Combine, a.An.Other)
	}
}
