package main

import (
	"fmt"
	"slices"

	"github.com/lora-playground/lora-playground/core/adalora"
	"github.com/lora-playground/lora-playground/core/lora"
	"github.com/lora-playground/lora-playground/core/peft"
	"github.com/lora-playground/lora-playground/core/train"
	"github.com/lora-playground/lora-playground/wasm/protocol"
)

// adaptiveConfig translates the run's adaptive settings (method
// "adaptive"): r⁽⁰⁾, the target and the pruning schedule from c.Adaptive,
// with zero fields left at core/adalora's defaults for c.Steps, and α,
// dropout and targets from the run.
func adaptiveConfig(c protocol.RunConfig) adalora.Config {
	a := adalora.DefaultConfig(c.Steps)
	a.Alpha, a.Dropout, a.Targets = c.Alpha, c.Dropout, slices.Clone(c.Targets)
	if p := c.Adaptive; p != nil {
		if p.InitRank != 0 {
			a.InitRank = p.InitRank
		}
		if p.TargetRank != 0 {
			a.TargetRank = p.TargetRank
		}
		if p.Warmup != 0 {
			a.WarmupSteps = p.Warmup
		}
		if p.Final != 0 {
			a.FinalSteps = p.Final
		}
		if p.Every != 0 {
			a.Interval = p.Every
		}
	}
	return a
}

// adaptiveStatus reports tr's rank allocation, or nil when tr is not an
// adaptive run.
func adaptiveStatus(tr *train.Trainer) *protocol.AdaptiveStatus {
	al := tr.Adaptive()
	if al == nil {
		return nil
	}
	budget, _ := al.Budget(tr.StepsTaken())
	st := &protocol.AdaptiveStatus{InitRank: al.Cfg.InitRank, TargetBudget: al.TargetBudget(), Budget: budget, Ranks: al.Ranks()}
	for _, a := range al.Adapters {
		st.Modules = append(st.Modules, a.Path)
	}
	for _, h := range al.History {
		st.History = append(st.History, protocol.RankStep{Step: h.Step, Budget: h.Budget, Ranks: slices.Clone(h.Ranks)})
	}
	return st
}

// exportAdaptive packages an adaptive run as plain PEFT LoRA: every matrix
// keeps its surviving triplets, with its rank in rank_pattern.
func (s *Session) exportAdaptive(id int) ([]protocol.Message, error) {
	al := s.run.tr.Adaptive()
	b, err := peft.EncodeArchive(al.Export(s.base.m.Config.Name))
	if err != nil {
		return nil, err
	}
	m := reply(id, protocol.TypeExport)
	m.Export = &protocol.Export{FileName: fmt.Sprintf("lora-%s-%s-adaptive-r%d.zip", s.base.m.Config.Name, s.run.cfg.Task, al.Cfg.TargetRank), Bytes: len(b)}
	m.Data = b
	return []protocol.Message{m}, nil
}

// adaptiveFactors returns the adaptive matrix at module path as the plain
// LoRA factors it exports to (its kept triplets, rank_pattern's r), so that
// inspecting it shows r = its current rank and ΔW = s·B·A unchanged; nil
// when path is not adapted.
func adaptiveFactors(tr *train.Trainer, path string) *lora.Adapter {
	al := tr.Adaptive()
	if al == nil {
		return nil
	}
	for _, a := range al.Adapters {
		if a.Path == path {
			r, A, B := a.Truncate()
			return &lora.Adapter{Path: path, R: r, In: a.In, Out: a.Out, Scale: a.LoRA.Scale, A: A, B: B}
		}
	}
	return nil
}
