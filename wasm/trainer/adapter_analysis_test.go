package main

import (
	"strings"
	"testing"

	"github.com/lora-playground/lora-playground/core/peft"
	"github.com/lora-playground/lora-playground/wasm/protocol"
)

// runOther ticks s until analysis_train's last progress event.
func runOther(t *testing.T, s *Session) *protocol.AnalysisResult {
	t.Helper()
	for i := 0; s.Busy(); i++ {
		for _, m := range s.Tick() {
			if m.Type == protocol.TypeError {
				t.Fatal(m.Message)
			}
			if m.Type == protocol.TypeAnalysisProgress && !m.Analysis.Progress.Running {
				return m.Analysis
			}
		}
		if i > 100000 {
			t.Fatal("analysis_train does not end")
		}
	}
	t.Fatal("the session went idle without a final analysis_progress event")
	return nil
}

func analysisReq(typ string, spec protocol.AnalysisSpec) protocol.Request {
	r := rq(typ)
	r.Analysis = &spec
	return r
}

func TestAnalysisInWorker(t *testing.T) {
	s, _ := configured(t, testConfig())
	// Before a second adapter: subspace and combine say what is missing.
	for _, typ := range []string{protocol.TypeSubspace, protocol.TypeCombine} {
		m, _ := call(t, s, analysisReq(typ, protocol.AnalysisSpec{Method: "cat", Weights: []float64{1, 1}}))
		if m.Type != protocol.TypeError || !strings.Contains(m.Message, "no second adapter") {
			t.Fatalf("%s without B: %+v", typ, m)
		}
	}
	// At step 0 ΔW = 0 and the note says so.
	m, _ := ok(t, s, analysisReq(protocol.TypeAmplify, protocol.AnalysisSpec{}))
	if !strings.Contains(m.Analysis.Amplify.Note, "train some steps") {
		t.Fatalf("amplify at step 0: note %q", m.Analysis.Amplify.Note)
	}
	stepN(t, s, 5)
	m, _ = ok(t, s, analysisReq(protocol.TypeAmplify, protocol.AnalysisSpec{}))
	amp := m.Analysis.Amplify
	if len(amp.Layers) != 4 || len(amp.Paper) != 2 || amp.Note != "" || amp.Step != 5 {
		t.Fatalf("amplify %+v", amp)
	}
	for _, l := range amp.Layers {
		if l.R != 4 || !(l.Factor > 0) || l.ProjDelta > l.ProjW {
			t.Errorf("%s: %+v", l.Module, l)
		}
	}

	// Train B with r = 8 and another seed; the run's step does not move.
	m, _ = ok(t, s, analysisReq(protocol.TypeAnalysisTrain, protocol.AnalysisSpec{Rank: 8, Seed: 9, Steps: 6}))
	if p := m.Analysis.Progress; !p.Running || p.Rank != 8 || p.Steps != 6 {
		t.Fatalf("analysis_train reply %+v", p)
	}
	if m, _ := call(t, s, analysisReq(protocol.TypeAnalysisTrain, protocol.AnalysisSpec{Rank: 8})); m.Type != protocol.TypeError {
		t.Fatal("a second analysis_train was accepted while one runs")
	}
	end := runOther(t, s)
	if end.Other == nil || end.Other.Rank != 8 || !strings.Contains(end.Other.Source, "r=8") || end.Progress.Step != 6 {
		t.Fatalf("final event %+v / %+v", end.Progress, end.Other)
	}
	if st := s.Status(); st.Step != 5 {
		t.Fatalf("the learner's run moved to step %d while B trained", st.Step)
	}

	m, _ = ok(t, s, analysisReq(protocol.TypeSubspace, protocol.AnalysisSpec{Module: "h.1.attn.q_proj"}))
	sub := m.Analysis.Subspace
	if sub.Module != "h.1.attn.q_proj" || sub.R1 != 4 || sub.R2 != 8 || sub.K != 32 || len(sub.Phi) != 4 || len(sub.Phi[0]) != 8 ||
		len(sub.Baseline) != 4 || len(sub.Modules) != 4 || sub.ExpectedRandom != 1.0/32 {
		t.Fatalf("subspace %+v", sub)
	}

	// cat is exact; the samples come from four different models.
	m, _ = ok(t, s, analysisReq(protocol.TypeCombine, protocol.AnalysisSpec{Method: "cat", Weights: []float64{0.5, 0.5},
		Prompt: "reverse: cat =", Tokens: 8, SampleSeed: 1}))
	c := m.Analysis.Combine
	if len(c.Modules) != 4 || c.Base == "" || c.A == "" || c.B == "" || c.Blend == "" {
		t.Fatalf("combine %+v", c)
	}
	for _, e := range c.Modules {
		if e.R != 12 || e.RelErr > 1e-6 {
			t.Errorf("cat %s: r %d, error %g", e.Module, e.R, e.RelErr)
		}
	}
	// linear needs equal ranks (4 and 8 here): a clear error.
	m, _ = call(t, s, analysisReq(protocol.TypeCombine, protocol.AnalysisSpec{Method: "linear", Weights: []float64{0.5, 0.5}}))
	if m.Type != protocol.TypeError || !strings.Contains(m.Message, "equal ranks") {
		t.Fatalf("linear with ranks 4 and 8: %+v", m)
	}

	// Import as B: the current run's own export gives φ = 1 everywhere.
	ex, _ := ok(t, s, rq(protocol.TypeExport))
	load := rq(protocol.TypeAnalysisLoad)
	load.Data = ex.Data
	m, _ = ok(t, s, load)
	if m.Analysis.Other.Source != "imported" || m.Analysis.Other.Rank != 4 {
		t.Fatalf("analysis_load %+v", m.Analysis.Other)
	}
	m, _ = ok(t, s, analysisReq(protocol.TypeSubspace, protocol.AnalysisSpec{}))
	for _, row := range m.Analysis.Subspace.Phi {
		for _, x := range row {
			if x < 1-1e-9 {
				t.Fatalf("φ of an adapter with itself: %v", m.Analysis.Subspace.Phi)
			}
		}
	}
	m, _ = ok(t, s, analysisReq(protocol.TypeCombine, protocol.AnalysisSpec{Method: "linear", Weights: []float64{0.5, 0.5}}))
	// linear of A with itself at 0.5, 0.5 is (√0.5·B + √0.5·B)(√0.5·A + √0.5·A)·s
	// = 2·ΔW, not ΔW: the weights act through square roots on each factor.
	for _, e := range m.Analysis.Combine.Modules {
		if e.R != 4 || e.RelErr < 1-1e-5 || e.RelErr > 1+1e-5 || e.Norm < 2*e.Exact*(1-1e-5) {
			t.Errorf("linear of A with A, %s: r %d, error %g, norm %g vs exact %g; want 2·ΔW", e.Module, e.R, e.RelErr, e.Norm, e.Exact)
		}
	}
}

func TestAnalysisCancelAndRefusals(t *testing.T) {
	s, _ := configured(t, testConfig())
	m, _ := call(t, s, rq(protocol.TypeAnalysisCancel))
	if m.Type != protocol.TypeError {
		t.Fatal("cancel with nothing running was accepted")
	}
	ok(t, s, analysisReq(protocol.TypeAnalysisTrain, protocol.AnalysisSpec{Rank: 2, Steps: 5000}))
	s.Tick()
	m, _ = ok(t, s, rq(protocol.TypeAnalysisCancel))
	if p := m.Analysis.Progress; p.Running || !p.Cancelled {
		t.Fatalf("cancel reply %+v", p)
	}
	if s.Busy() {
		t.Fatal("still busy after cancel")
	}
	// An adapter for another model is refused with the mismatch named.
	other, _ := configured(t, &protocol.RunConfig{Model: "testwide", Task: "reverse", Method: "lora", Rank: 2, Alpha: 4,
		Targets: []string{"q_proj"}, LR: 1e-2, Batch: 2, Seed: 1, Steps: 10, EvalEvery: -1})
	ex, _ := ok(t, other, rq(protocol.TypeExport))
	load := rq(protocol.TypeAnalysisLoad)
	load.Data = ex.Data
	m, _ = call(t, s, load)
	if m.Type != protocol.TypeError || !strings.Contains(m.Message, "testwide") {
		t.Fatalf("a testwide adapter loaded into testnano: %+v", m)
	}
	a, err := peft.DecodeArchive(ex.Data, 1<<20)
	if err != nil || a.Config.BaseModelNameOrPath != "testwide" {
		t.Fatal(err)
	}
	// Bad specs are refused before anything runs.
	m, _ = call(t, s, analysisReq(protocol.TypeCombine, protocol.AnalysisSpec{Method: "svd", Weights: []float64{1, 1}}))
	if m.Type != protocol.TypeError || !strings.Contains(m.Message, "method") {
		t.Fatalf("method svd: %+v", m)
	}
}
