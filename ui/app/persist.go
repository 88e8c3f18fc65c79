package app

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/lora-playground/lora-playground/ui/state"
	"github.com/lora-playground/lora-playground/ui/viz"
)

// The page's half of a saved session (the worker saves the other half:
// weights and optimiser moments). JSON cannot carry NaN, so "not measured
// yet" travels as a missing value.
type savedPage struct {
	Version int        `json:"version"`
	Hash    string     `json:"hash"` // the configuration, in its link form
	Applied string     `json:"applied"`
	Custom  string     `json:"custom,omitempty"`
	NextRun int        `json:"next_run"`
	Runs    []savedRun `json:"runs"`
}

type savedRun struct {
	ID        int          `json:"id"`
	Hash      string       `json:"hash"`
	Train     [][2]float64 `json:"train"` // [step, loss]
	Val       [][2]float64 `json:"val"`
	Trainable int64        `json:"trainable"`
	BestVal   *float64     `json:"best_val,omitempty"`
	Accuracy  *float64     `json:"accuracy,omitempty"`
	ElapsedMS int64        `json:"elapsed_ms"`
	Finished  bool         `json:"finished"`
}

const savedVersion = 1

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

func pointsOut(ps []viz.Point) [][2]float64 {
	out := make([][2]float64, 0, len(ps))
	for _, p := range ps {
		if !math.IsNaN(p.Loss) && !math.IsInf(p.Loss, 0) {
			out = append(out, [2]float64{float64(p.Step), p.Loss})
		}
	}
	return out
}

func pointsIn(ps [][2]float64) []viz.Point {
	out := make([]viz.Point, len(ps))
	for i, p := range ps {
		out[i] = viz.Point{Step: int(p[0]), Loss: p[1]}
	}
	return out
}

// SavePage encodes the page's session: configuration, the user's text and
// every kept run's curves.
func (a *App) SavePage() []byte {
	s := savedPage{Version: savedVersion, Hash: a.State.Hash(), Applied: a.Applied.Hash(), Custom: a.Custom, NextRun: a.nextRun}
	for _, r := range a.Runs {
		s.Runs = append(s.Runs, savedRun{
			ID: r.ID, Hash: r.Config.Hash(), Train: pointsOut(r.Train), Val: pointsOut(r.Val),
			Trainable: r.Trainable, BestVal: finite(r.BestVal), Accuracy: finite(r.Accuracy),
			ElapsedMS: r.Elapsed.Milliseconds(), Finished: r.Finished,
		})
	}
	b, _ := json.Marshal(s) // cannot fail: no NaN, no channels
	return b
}

// RestorePage puts a saved session back. The current (unfinished) run's
// curves are replaced again by the worker's history when it restores;
// they are kept here so the chart is right even if the worker's half is
// lost.
func (a *App) RestorePage(b []byte) error {
	var s savedPage
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("saved session unreadable: %v", err)
	}
	if s.Version != savedVersion {
		return fmt.Errorf("saved session has version %d, this page reads %d", s.Version, savedVersion)
	}
	a.State, _ = state.Parse(s.Hash)
	a.Applied, _ = state.Parse(s.Applied)
	a.Custom, a.appliedCustom, a.nextRun = s.Custom, s.Custom, s.NextRun
	a.Runs = a.Runs[:0]
	for _, r := range s.Runs {
		cfg, _ := state.Parse(r.Hash)
		a.Runs = append(a.Runs, Run{
			ID: r.ID, Config: cfg, Train: pointsIn(r.Train), Val: pointsIn(r.Val), Trainable: r.Trainable,
			BestVal: orNaN(r.BestVal), Accuracy: orNaN(r.Accuracy),
			Elapsed: time.Duration(r.ElapsedMS) * time.Millisecond, Finished: r.Finished,
		})
	}
	if cur := a.Current(); cur != nil {
		a.Started = true
		if n := len(cur.Train); n > 0 {
			a.Steps, a.Loss = cur.Train[n-1].Step, cur.Train[n-1].Loss
		}
		if n := len(cur.Val); n > 0 {
			a.ValLoss = cur.Val[n-1].Loss
		}
	}
	return nil
}
