package main

// The paper's §7 analyses and adapter blending (core/analysis) on the
// learner's adapter A (the current LoRA run) and a second adapter B,
// imported or trained here in the background. See wasm/protocol/analysis.go
// for the requests.

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lora-playground/lora-playground/core/analysis"
	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/peft"
	"github.com/lora-playground/lora-playground/core/sample"
	"github.com/lora-playground/lora-playground/core/train"
	"github.com/lora-playground/lora-playground/wasm/protocol"
)

// analysisState is adapter B and the job training it.
type analysisState struct {
	other     *peft.Adapter
	otherInfo protocol.OtherAdapter
	job       *otherJob
}

// otherJob trains adapter B, a slice per Tick.
type otherJob struct {
	r        *run
	progress protocol.AnalysisProgress
	lastPost time.Time
}

func (s *Session) analysisBusy() bool { return s.an != nil && s.an.job != nil }

// analysisRequest answers the requests of protocol/analysis.go.
func (s *Session) analysisRequest(id int, req protocol.Request) ([]protocol.Message, error) {
	if s.an == nil {
		s.an = &analysisState{}
	}
	spec := protocol.AnalysisSpec{}
	if req.Analysis != nil {
		spec = *req.Analysis
	}
	if err := spec.Validate(req.Type); err != nil {
		return nil, err
	}
	reply := func(typ string, res protocol.AnalysisResult) []protocol.Message {
		m := protocol.Message{Re: id, Type: typ, Analysis: &res}
		return []protocol.Message{m}
	}
	switch req.Type {
	case protocol.TypeAnalysisLoad:
		return s.loadOther(id, req.Data, reply)
	case protocol.TypeAnalysisTrain:
		return s.trainOther(spec, reply)
	case protocol.TypeAnalysisCancel:
		if !s.analysisBusy() {
			return nil, errors.New("analysis_cancel: no second adapter is training")
		}
		p := s.an.job.progress
		p.Running, p.Cancelled = false, true
		s.an.job = nil
		return reply(protocol.TypeAnalysisCancel, protocol.AnalysisResult{Progress: &p}), nil
	}
	a, err := s.adapterA(req.Type)
	if err != nil {
		return nil, err
	}
	switch req.Type {
	case protocol.TypeAmplify:
		res, err := s.amplify(a)
		if err != nil {
			return nil, err
		}
		return reply(protocol.TypeAmplify, protocol.AnalysisResult{Amplify: res}), nil
	case protocol.TypeSubspace:
		if s.an.other == nil {
			return nil, errors.New("subspace: there is no second adapter yet; import one or train one")
		}
		res, err := subspace(a, s.an.other, spec.Module)
		if err != nil {
			return nil, err
		}
		return reply(protocol.TypeSubspace, protocol.AnalysisResult{Subspace: res}), nil
	case protocol.TypeCombine:
		if s.an.other == nil {
			return nil, errors.New("combine: there is no second adapter yet; import one or train one")
		}
		res, err := s.combine(a, spec)
		if err != nil {
			return nil, err
		}
		return reply(protocol.TypeCombine, protocol.AnalysisResult{Combine: res}), nil
	}
	return nil, fmt.Errorf("unknown analysis request %q", req.Type)
}

// adapterA is the current run's adapter in PEFT form.
func (s *Session) adapterA(what string) (*peft.Adapter, error) {
	if s.run == nil {
		return nil, s.notReady()
	}
	if s.run.cfg.Method != string(train.MethodLoRA) {
		return nil, fmt.Errorf("%s: the current run is %s, not LoRA; there is no adapter to analyse", what, s.run.cfg.Method)
	}
	return s.run.work.ExportAdapter(s.run.loraCfg)
}

// withAdapter returns a copy of the pristine base model with a attached.
func (s *Session) withAdapter(a *peft.Adapter) (*model.Model, error) {
	m := s.base.m.Clone()
	m.Config.Name = s.base.m.Config.Name
	if _, err := m.ImportAdapter(a); err != nil {
		return nil, err
	}
	return m, nil
}

func describe(a *peft.Adapter, source string) protocol.OtherAdapter {
	o := protocol.OtherAdapter{Source: source, Rank: a.Config.R, Alpha: a.Config.LoraAlpha, Targets: slices.Clone(a.Config.TargetModules)}
	for _, m := range a.Modules {
		o.Modules = append(o.Modules, m.Module)
	}
	return o
}

func (s *Session) loadOther(id int, archive []byte, reply func(string, protocol.AnalysisResult) []protocol.Message) ([]protocol.Message, error) {
	if s.base == nil {
		return nil, errors.New("analysis_load: configure a model first")
	}
	if len(archive) == 0 {
		return nil, errors.New("analysis_load: no archive (send the .zip as the payload)")
	}
	a, err := peft.DecodeArchive(archive, maxArchiveBytes)
	if err != nil {
		return nil, fmt.Errorf("analysis_load: %v", err)
	}
	if _, err := s.withAdapter(a); err != nil {
		return nil, fmt.Errorf("analysis_load refused: %v", err)
	}
	s.an.other, s.an.otherInfo = a, describe(a, "imported")
	info := s.an.otherInfo
	return reply(protocol.TypeAnalysisLoad, protocol.AnalysisResult{Other: &info}), nil
}

// trainOther starts training B with the run's settings and spec's rank,
// seed and steps.
func (s *Session) trainOther(spec protocol.AnalysisSpec, reply func(string, protocol.AnalysisResult) []protocol.Message) ([]protocol.Message, error) {
	if s.analysisBusy() {
		return nil, errors.New("analysis_train: a second adapter is already training; cancel it first")
	}
	if s.run == nil {
		return nil, s.notReady()
	}
	c := s.run.cfg
	c.Method = string(train.MethodLoRA)
	if spec.Rank > 0 {
		c.Rank = spec.Rank
	}
	if spec.Seed != 0 {
		c.Seed = spec.Seed
	}
	if spec.Steps > 0 && spec.Steps != c.Steps {
		c.Steps, c.Warmup = spec.Steps, 0 // warmup follows the new length
	}
	c.EvalEvery = -1
	c = withDefaults(c, s.base.m.Config)
	patterns := s.run.loraCfg
	patterns.RankPattern, patterns.AlphaPattern = nil, nil
	r, err := s.newRun(s.base, c, s.data, patterns)
	if err != nil {
		return nil, fmt.Errorf("analysis_train: %v", err)
	}
	if r == nil {
		return nil, s.notReady()
	}
	j := &otherJob{r: r, progress: protocol.AnalysisProgress{Rank: c.Rank, Seed: c.Seed, Steps: c.Steps, Running: true}}
	s.an.job = j
	p := j.progress
	return reply(protocol.TypeAnalysisTrain, protocol.AnalysisResult{Progress: &p}), nil
}

// analysisSlice trains B for one chunk and reports progress.
func (s *Session) analysisSlice() []protocol.Message {
	j := s.an.job
	res, err := j.r.tr.Run(j.progress.Steps-j.r.tr.StepsTaken(), s.Budget)
	if len(res) > 0 {
		j.progress.Step, j.progress.Loss = res[len(res)-1].Step, res[len(res)-1].Loss
	}
	event := func(res protocol.AnalysisResult) []protocol.Message {
		j.lastPost = time.Now()
		return []protocol.Message{{Type: protocol.TypeAnalysisProgress, Analysis: &res}}
	}
	if err != nil {
		s.an.job = nil
		p := j.progress
		p.Running, p.Error = false, err.Error()
		return event(protocol.AnalysisResult{Progress: &p})
	}
	if j.r.tr.StepsTaken() >= j.progress.Steps {
		s.an.job = nil
		p := j.progress
		p.Running = false
		a, err := j.r.work.ExportAdapter(j.r.loraCfg)
		if err != nil {
			p.Error = err.Error()
			return event(protocol.AnalysisResult{Progress: &p})
		}
		s.an.other = a
		s.an.otherInfo = describe(a, fmt.Sprintf("trained here: r=%d, seed %d, %d steps", p.Rank, p.Seed, p.Steps))
		info := s.an.otherInfo
		return event(protocol.AnalysisResult{Progress: &p, Other: &info})
	}
	if time.Since(j.lastPost) >= protocol.AnalysisEvery {
		p := j.progress
		return event(protocol.AnalysisResult{Progress: &p})
	}
	return nil
}

func (s *Session) amplify(a *peft.Adapter) (*protocol.AmplifyResult, error) {
	m, err := s.withAdapter(a)
	if err != nil {
		return nil, err
	}
	layers, err := analysis.AmplifyModel(m, 1)
	if err != nil {
		return nil, err
	}
	res := &protocol.AmplifyResult{Step: s.run.tr.StepsTaken()}
	zero := true
	for _, l := range layers {
		res.Layers = append(res.Layers, amplifyRow(l.Module, l.Amplification))
		zero = zero && l.NormDelta == 0
	}
	for _, p := range analysis.PaperTable7 {
		res.Paper = append(res.Paper, amplifyRow("GPT-3 175B layer 48 W_q", p))
	}
	if zero {
		res.Note = "ΔW is still zero (B starts at zero): train some steps first"
	}
	return res, nil
}

func amplifyRow(module string, a analysis.Amplification) protocol.AmplifyRow {
	return protocol.AmplifyRow{Module: module, R: a.R, NormW: a.NormW, NormDelta: a.NormDelta,
		ProjDelta: a.ProjDelta, ProjW: a.ProjW, ProjRandom: a.ProjRandom, Factor: a.Factor}
}

func subspace(a, b *peft.Adapter, module string) (*protocol.SubspaceResult, error) {
	rep, err := analysis.CompareAdapters(a, b, module, 1)
	if err != nil {
		return nil, fmt.Errorf("subspace: %v", err)
	}
	res := &protocol.SubspaceResult{Module: rep.Module, K: rep.Phi.K, R1: rep.Phi.R1, R2: rep.Phi.R2,
		Phi: rep.Phi.Phi, Baseline: rep.Baseline.Phi, Top: rep.Top, TopRandom: rep.TopRandom, ExpectedRandom: rep.ExpectedRandom}
	for _, m := range a.Modules {
		if _, err := analysis.ModuleA(b, m.Module); err == nil {
			res.Modules = append(res.Modules, m.Module)
		}
	}
	return res, nil
}

func (s *Session) combine(a *peft.Adapter, spec protocol.AnalysisSpec) (*protocol.CombineResult, error) {
	in := []*peft.Adapter{a, s.an.other}
	blend, err := analysis.Combine(in, spec.Weights, analysis.Method(spec.Method))
	if err != nil {
		return nil, fmt.Errorf("combine: %v", err)
	}
	exact, err := analysis.ExactDelta(in, spec.Weights)
	if err != nil {
		return nil, fmt.Errorf("combine: %v", err)
	}
	errs, err := analysis.Compare(blend, exact)
	if err != nil {
		return nil, fmt.Errorf("combine: %v", err)
	}
	res := &protocol.CombineResult{Method: spec.Method, Weights: spec.Weights}
	for _, e := range errs {
		res.Modules = append(res.Modules, protocol.CombineModule{Module: e.Module, R: e.R, Exact: e.Exact, Norm: e.Got, RelErr: e.RelErr})
	}
	if spec.Prompt == "" {
		return res, nil
	}
	n := spec.Tokens
	if n == 0 {
		n = defaultSampleTokens
	}
	o := sample.Options{MaxTokens: n, Temperature: spec.Temperature, Seed: spec.SampleSeed}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	prompt, _ := s.base.tok.Encode(spec.Prompt)
	gen := func(m *model.Model) (string, error) {
		out, err := sample.Generate(m, prompt, o)
		return s.base.tok.Decode(out), err
	}
	res.Prompt = spec.Prompt
	if res.Base, err = gen(s.base.m); err != nil {
		return nil, err
	}
	for _, x := range []struct {
		a   *peft.Adapter
		dst *string
	}{{a, &res.A}, {s.an.other, &res.B}, {blend, &res.Blend}} {
		m, err := s.withAdapter(x.a)
		if err != nil {
			return nil, fmt.Errorf("combine: %v", err)
		}
		if *x.dst, err = gen(m); err != nil {
			return nil, err
		}
	}
	return res, nil
}
