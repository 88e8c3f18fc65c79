package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lora-playground/lora-playground/core/data"
	"github.com/lora-playground/lora-playground/core/experiment"
	"github.com/lora-playground/lora-playground/core/params"
	"github.com/lora-playground/lora-playground/core/train"
	"github.com/lora-playground/lora-playground/wasm/protocol"
)

// experimentJob is an experiment in progress (core/experiment.Runner),
// advanced by Tick one slice at a time like training. The UI runs it in a
// worker of its own, so the learner's run in the main worker is untouched;
// in one worker the two would take turns.
type experimentJob struct {
	x        *experiment.Runner
	status   protocol.ExperimentStatus
	start    time.Time
	lastPost time.Time
	finished int
}

// experimentRequest answers experiment_start and experiment_cancel.
func (s *Session) experimentRequest(id int, req protocol.Request) ([]protocol.Message, error) {
	if req.Type == protocol.TypeExperimentCancel {
		if s.exp == nil {
			return nil, errors.New("experiment_cancel: no experiment is running")
		}
		j := s.exp
		s.exp = nil
		j.update(true)
		j.status.Running, j.status.Cancelled = false, true
		return []protocol.Message{j.message(id, protocol.TypeExperimentCancel)}, nil
	}
	if s.exp != nil {
		return nil, errors.New("experiment_start: an experiment is already running; cancel it first")
	}
	spec := req.Experiment
	if spec == nil {
		return nil, errors.New("experiment_start: no experiment")
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if spec.Task == protocol.CustomTask {
		return nil, errors.New("experiment_start: experiments run on the built-in tasks, not on your own text")
	}
	b, err := s.loadBase(spec.Model)
	if err != nil {
		return nil, err
	}
	d, err := s.loadTask(spec.Task)
	if err != nil {
		return nil, err
	}
	arch := experiment.ArchOf(b.m.Config)
	st := protocol.ExperimentStatus{Kind: spec.Kind, Model: spec.Model, Task: spec.Task, Steps: spec.Steps, Running: true}
	var runs []experiment.Run
	switch spec.Kind {
	case protocol.ExperimentTargets:
		r1 := spec.R1
		if r1 == 0 {
			r1 = 8
		}
		runs, st.Budget, err = experiment.WhichWeights(arch, r1)
	default:
		targets := spec.Targets
		if len(targets) == 0 {
			targets = []string{"q_proj", "v_proj"}
		}
		ranks := spec.Ranks
		if len(ranks) == 0 {
			ranks = experiment.DefaultRanks
		}
		ranks, st.Dropped = experiment.CapRanks(arch, targets, ranks)
		if len(st.Dropped) > 0 {
			st.Note = fmt.Sprintf("left out r = %s: %s's attention projections are %d×%d, and ΔW = B·A cannot have rank above %d, so a larger r would only add parameters",
				joinInts(st.Dropped), spec.Model, arch.NEmbd, arch.NEmbd, arch.NEmbd)
		}
		runs, err = experiment.RankSweep(arch, targets, ranks, spec.Full, spec.Frozen)
	}
	if err != nil {
		return nil, err
	}
	cfg := experiment.DefaultConfig()
	cfg.Steps, cfg.EvalRows, cfg.AccuracyExamples = spec.Steps, protocol.MaxEvalRows, protocol.MaxEvalRows
	if spec.LR != 0 {
		cfg.LR = spec.LR
	}
	if spec.FullLR != 0 {
		cfg.FullLR = spec.FullLR
	}
	if spec.Alpha != 0 {
		cfg.Alpha = spec.Alpha
	}
	if spec.Batch != 0 {
		cfg.Batch = spec.Batch
	}
	if spec.Seed != 0 {
		cfg.Seed = uint64(spec.Seed)
	}
	x, err := experiment.NewRunner(b.m, experiment.Data{Kind: d.kind, Train: d.train, Val: d.val, ExactMatch: d.metric == data.MetricExactMatch}, cfg, runs)
	if err != nil {
		return nil, err
	}
	st.Alpha = x.Config().Alpha
	for _, r := range runs {
		st.Plan = append(st.Plan, planned(r, b.m.W.NumParams(b.m.Config), arch))
	}
	st.Results = []protocol.ExperimentResult{}
	j := &experimentJob{x: x, status: st, start: time.Now()}
	j.update(false)
	s.exp = j
	return []protocol.Message{j.message(id, protocol.TypeExperimentStart)}, nil
}

func joinInts(v []int) string {
	var s []string
	for _, x := range v {
		s = append(s, fmt.Sprint(x))
	}
	return strings.Join(s, ", ")
}

// planned describes run r before it trains.
func planned(r experiment.Run, total int, arch params.Arch) protocol.ExperimentRun {
	p := protocol.ExperimentRun{Label: r.Label(), Method: string(r.Method), Targets: slices.Clone(r.Targets), Rank: r.Rank, FullRank: r.FullRank}
	switch r.Method {
	case train.MethodLoRA:
		p.Trainable, _ = experiment.LoRAParams(arch, r.Targets, r.Rank)
	case train.MethodFull:
		p.Trainable = total
	}
	return p
}

// update copies the runner's progress and new results into the status.
func (j *experimentJob) update(cancelled bool) {
	p := j.x.Progress()
	st := &j.status
	st.Run, st.Phase, st.Step, st.Loss = p.Run, p.Phase, p.Step, 0
	if !p.Loss.NaN() {
		st.Loss = float64(p.Loss)
	}
	st.Running = !j.x.Done() && !cancelled
	st.Seconds = time.Since(j.start).Seconds()
	res := j.x.Results()
	for _, r := range res[len(st.Results):] {
		st.Results = append(st.Results, resultOf(r, st.Plan[len(st.Results)]))
	}
}

func resultOf(r experiment.Result, plan protocol.ExperimentRun) protocol.ExperimentResult {
	ptr := func(l experiment.Loss) *float64 {
		if l.NaN() {
			return nil
		}
		v := float64(l)
		return &v
	}
	plan.Trainable = r.TrainableParams // measured by the trainer
	return protocol.ExperimentResult{ExperimentRun: plan, Steps: r.Steps, TrainLoss: ptr(r.TrainLoss), ValLoss: ptr(r.ValLoss),
		BestValLoss: ptr(r.BestValLoss), Accuracy: r.Accuracy, WallSeconds: r.WallSeconds, TokensPerSec: r.TokensPerSec, Error: r.Error}
}

func (j *experimentJob) message(re int, typ string) protocol.Message {
	st := j.status
	st.Plan = slices.Clone(st.Plan)
	st.Results = slices.Clone(st.Results)
	return protocol.Message{Re: re, Type: typ, Experiment: &st}
}

// experimentSlice runs the experiment for one chunk's budget and reports
// progress at most every ExperimentEvery, at once when a run finishes, and
// at the end.
func (s *Session) experimentSlice() (out []protocol.Message) {
	j := s.exp
	defer func() {
		if p := recover(); p != nil {
			s.exp = nil
			out = []protocol.Message{errorMsg(0, fmt.Errorf("internal error in the experiment (please report it): %v", p))}
		}
	}()
	p, done := j.x.Step(s.Budget)
	now := time.Now()
	if !done && p.Finished == j.finished && now.Sub(j.lastPost) < protocol.ExperimentEvery {
		return nil
	}
	j.finished, j.lastPost = p.Finished, now
	j.update(false)
	if done {
		s.exp = nil
	}
	return []protocol.Message{j.message(0, protocol.TypeExperimentProgress)}
}
