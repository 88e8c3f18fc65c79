package app

// State and actions of the three "lessons from the paper" panels:
// amplification (Table 7), subspace similarity (§7.2) and combining
// adapters (PEFT's add_weighted_adapter). The worker does every
// computation (wasm/protocol/analysis.go); the page only asks and draws.

import (
	"fmt"
	"math"
	"slices"

	"github.com/lora-playground/lora-playground/ui/state"
	"github.com/lora-playground/lora-playground/wasm/protocol"
)

// Analyzer sends the analysis requests to the worker; Client implements it.
type Analyzer interface {
	Analyze(typ string, spec protocol.AnalysisSpec, data []byte)
}

// AnalysisView is what the analysis panels show.
type AnalysisView struct {
	Busy string // the analysis request in flight ("amplify", …), "" for none
	Err  string // the last analysis error, shown in its panel

	Amplify *protocol.AmplifyResult

	// Adapter B and its training.
	Other      *protocol.OtherAdapter
	OtherRank  int   // rank to train B with
	OtherSeed  int64 // seed to train B with (0: the run's seed + 1)
	Training   *protocol.AnalysisProgress
	Subspace   *protocol.SubspaceResult
	Module     string // module to compare; "" for the first both adapt
	Baseline   bool   // show the random baseline instead of the adapters
	PhiVersion int    // bumps when the grid changes, so the canvas redraws
	phiVals    []float32

	Combine   *protocol.CombineResult
	Method    string  // "cat" or "linear"
	WeightB   float64 // w_B in [0, 1]; w_A = 1 − w_B (see Weight)
	weightSet bool    // WeightB was chosen; until then the blend is half and half
	ShowBlend string  // which sample is shown: "a", "b" or "blend"

	run int // the run (App.nextRun) the results above describe
}

// forgetStale drops results that describe an earlier run's adapter A (B is
// kept: it is not the run's).
func (a *App) forgetStale() {
	if a.An.run != a.nextRun {
		a.An.Amplify, a.An.Subspace, a.An.Combine = nil, nil, nil
		a.An.run = a.nextRun
	}
}

func (v *AnalysisView) defaults() {
	if v.Method == "" {
		v.Method = "cat"
	}
	if v.OtherRank == 0 {
		v.OtherRank = 64
	}
	if v.ShowBlend == "" {
		v.ShowBlend = "blend"
	}
}

// Weight is w_B: the slider's value, 0.5 until it is moved.
func (v *AnalysisView) Weight() float64 {
	if !v.weightSet {
		return 0.5
	}
	return math.Max(0, math.Min(1, v.WeightB))
}

// SetWeight sets w_B.
func (v *AnalysisView) SetWeight(w float64) { v.WeightB, v.weightSet = w, true }

// analysisReady reports why the analyses cannot run yet, or "".
func (a *App) analysisReady() string {
	switch {
	case a.Analyzer == nil:
		return "the analyses need the training worker"
	case !a.Started || a.Applied.Method != state.LoRA:
		return "these analyses look at a LoRA adapter: start a LoRA run first"
	case a.An.Busy != "":
		return "wait for the " + a.An.Busy + " in progress"
	}
	return ""
}

func (a *App) analyze(typ string, spec protocol.AnalysisSpec, data []byte) {
	a.An.defaults()
	if msg := a.analysisReady(); msg != "" {
		a.An.Err = msg
		return
	}
	a.An.Err = ""
	a.An.Busy = typ
	a.Analyzer.Analyze(typ, spec, data)
}

// RunAmplify asks for Table 7 on the learner's adapter.
func (a *App) RunAmplify() { a.analyze(protocol.TypeAmplify, protocol.AnalysisSpec{}, nil) }

// TrainOther trains adapter B in the worker with the chosen rank and seed.
func (a *App) TrainOther() {
	a.An.defaults()
	seed := a.An.OtherSeed
	if seed == 0 {
		seed = a.Applied.Seed + 1
	}
	a.analyze(protocol.TypeAnalysisTrain, protocol.AnalysisSpec{Rank: a.An.OtherRank, Seed: seed, Steps: a.Applied.Steps}, nil)
	if a.An.Busy == protocol.TypeAnalysisTrain {
		a.An.Training = &protocol.AnalysisProgress{Rank: a.An.OtherRank, Seed: seed, Steps: a.Applied.Steps, Running: true}
	}
}

// CancelOther stops training B.
func (a *App) CancelOther() {
	if a.Analyzer != nil && a.An.Busy == protocol.TypeAnalysisTrain {
		a.Analyzer.Analyze(protocol.TypeAnalysisCancel, protocol.AnalysisSpec{}, nil)
	}
}

// ImportOther makes a PEFT archive adapter B.
func (a *App) ImportOther(name string, data []byte) {
	a.analyze(protocol.TypeAnalysisLoad, protocol.AnalysisSpec{}, data)
}

// RunSubspace compares A and B on the chosen module.
func (a *App) RunSubspace() {
	a.analyze(protocol.TypeSubspace, protocol.AnalysisSpec{Module: a.An.Module}, nil)
}

// RunCombine blends A and B with the slider's weights and samples all four.
func (a *App) RunCombine() {
	a.An.defaults()
	w := a.An.Weight()
	a.analyze(protocol.TypeCombine, protocol.AnalysisSpec{Method: a.An.Method, Weights: []float64{1 - w, w},
		Prompt: a.Sample.Prompt, Tokens: 48, SampleSeed: uint64(a.Sample.Seed), Temperature: 0.8}, nil)
}

// OnAnalysis applies an analysis reply or event.
func (a *App) OnAnalysis(typ string, r *protocol.AnalysisResult) {
	v := &a.An
	if typ != protocol.TypeAnalysisProgress && typ != protocol.TypeAnalysisTrain && v.Busy == typ {
		v.Busy = ""
	}
	if r == nil {
		return
	}
	a.An.run = a.nextRun
	if r.Other != nil {
		v.Other = r.Other
		v.Subspace, v.Combine = nil, nil // they were about the previous B
	}
	if p := r.Progress; p != nil {
		v.Training = p
		if !p.Running {
			v.Busy = ""
			if p.Error != "" {
				v.Err = "training B stopped: " + p.Error
			}
		}
	}
	if r.Amplify != nil {
		v.Amplify = r.Amplify
	}
	if r.Subspace != nil {
		v.Subspace = r.Subspace
		v.PhiVersion++
	}
	if r.Combine != nil {
		v.Combine = r.Combine
	}
}

// OnAnalysisError shows a failed analysis request in its panel.
func (a *App) OnAnalysisError(typ, msg string) {
	if a.An.Busy == typ || typ == protocol.TypeAnalysisTrain {
		a.An.Busy = ""
	}
	if typ == protocol.TypeAnalysisTrain && a.An.Training != nil {
		a.An.Training.Running = false
	}
	a.An.Err = msg
}

// IsAnalysis reports whether typ is one of the analysis requests.
func IsAnalysis(typ string) bool {
	return slices.Contains([]string{protocol.TypeAnalysisLoad, protocol.TypeAnalysisTrain, protocol.TypeAnalysisCancel,
		protocol.TypeSubspace, protocol.TypeAmplify, protocol.TypeCombine, protocol.TypeAnalysisProgress}, typ)
}

// PhiGrid is the grid to draw (φ or its baseline) as float32 for the
// heatmap, rows i = 1..R1, columns j = 1..R2.
func (v *AnalysisView) PhiGrid() []float32 {
	s := v.Subspace
	if s == nil {
		return nil
	}
	g := s.Phi
	if v.Baseline {
		g = s.Baseline
	}
	v.phiVals = v.phiVals[:0]
	for _, row := range g {
		for _, x := range row {
			v.phiVals = append(v.phiVals, float32(x))
		}
	}
	return v.phiVals
}

// Analyze sends an analysis request (Analyzer).
func (c *Client) Analyze(typ string, spec protocol.AnalysisSpec, data []byte) {
	c.send(protocol.Request{Type: typ, Analysis: &spec, Data: data})
}

// analysisMessage routes analysis replies, events and errors to the App;
// it reports whether m was one.
func (c *Client) analysisMessage(m protocol.Message, reqType string) bool {
	switch {
	case m.Type == protocol.TypeError && IsAnalysis(reqType):
		c.App.OnAnalysisError(reqType, m.Message)
		return true
	case IsAnalysis(m.Type):
		c.App.OnAnalysis(m.Type, m.Analysis)
		return true
	}
	return false
}

// fmtNum prints a table number: 3 significant digits, "—" for 0 meaning
// undefined.
func fmtNum(x float64) string {
	if x == 0 {
		return "—"
	}
	return fmt.Sprintf("%.3g", x)
}
