package app

import (
	"fmt"
	"strings"

	"github.com/lora-playground/lora-playground/ui/state"
	"github.com/lora-playground/lora-playground/ui/viz"
	"github.com/lora-playground/lora-playground/wasm/protocol"
)

// AdaptiveView is what the worker reports about an adaptive-rank run: the
// adapted matrices, their current ranks and the rank history.
type AdaptiveView struct {
	Modules      []string
	Ranks        []int
	History      []viz.RankStep
	InitRank     int
	TargetBudget int // total rank at the end
	Budget       int // total rank the schedule allows now
	Step         int // the worker's step when this was reported
}

// adaptiveView converts the worker's report; nil stays nil (not an adaptive run).
func adaptiveView(p *protocol.AdaptiveStatus) *AdaptiveView {
	if p == nil {
		return nil
	}
	v := &AdaptiveView{Modules: p.Modules, Ranks: p.Ranks, InitRank: p.InitRank, TargetBudget: p.TargetBudget, Budget: p.Budget}
	for _, h := range p.History {
		v.History = append(v.History, viz.RankStep{Step: h.Step, Ranks: h.Ranks})
	}
	return v
}

// adaptiveConfig is the worker's adaptive settings for s, nil unless its
// method is adaptive. The pruning warm-up and final phase keep the worker's
// defaults (10% and 30% of the steps).
func adaptiveConfig(s state.State) *protocol.AdaptiveConfig {
	if s.Method != state.Adaptive {
		return nil
	}
	return &protocol.AdaptiveConfig{InitRank: s.InitRank, TargetRank: s.TargetRank, Every: s.PruneEvery}
}

// AdaptivePanel explains adaptive rank (AdaLoRA), edits its settings, runs
// and cancels it, and charts every matrix's rank against step.
type AdaptivePanel struct {
	App *App
}

func (c *AdaptivePanel) set(f func(*state.State)) {
	f(&c.App.State)
	c.App.Changed()
}

// running reports whether an adaptive run is training now.
func (c *AdaptivePanel) running() bool {
	return c.App.Playing && c.App.Applied.Method == state.Adaptive
}

// run switches the method to adaptive and trains a fresh run with the
// current settings (the worker trains; this only sends the request).
func (c *AdaptivePanel) run() {
	a := c.App
	a.State.Method = state.Adaptive
	a.Changed()
	if a.Playing {
		a.TogglePlay()
	}
	a.Reset()
	if a.Error == "" {
		a.TogglePlay()
	}
}

// cancel pauses the run; the ranks reached so far stay on the chart and
// the adapter can be exported as it is.
func (c *AdaptivePanel) cancel() {
	if c.App.Playing {
		c.App.TogglePlay()
	}
}

func (c *AdaptivePanel) steps() int {
	v := c.App.Adaptive
	n := c.App.Steps
	if len(v.History) > 0 {
		n = max(n, v.History[len(v.History)-1].Step)
	}
	return n
}

func (c *AdaptivePanel) chart() string {
	v := c.App.Adaptive
	target := 0
	if len(v.Modules) > 0 {
		target = v.TargetBudget / len(v.Modules)
	}
	return viz.RankChartSVG(v.Modules, v.History, v.InitRank, target, max(c.steps(), c.App.Applied.Steps), ChartW, 240)
}

// summary says where the budget is, in words.
func (c *AdaptivePanel) summary() string {
	v := c.App.Adaptive
	total := 0
	for _, r := range v.Ranks {
		total += r
	}
	return fmt.Sprintf("Total rank %d of %d at the start; the schedule allows %d now and ends at %d (%d matrices). The dashed line is the target average.",
		total, v.InitRank*len(v.Modules), v.Budget, v.TargetBudget, len(v.Modules))
}

// rankPattern is the exported adapter's rank_pattern as JSON. A matrix
// whose rank fell to 0 is exported with r = 1 and zero matrices (PEFT
// needs r ≥ 1); ΔW is still exactly zero there.
func (c *AdaptivePanel) rankPattern() string {
	v := c.App.Adaptive
	var parts []string
	for i, m := range v.Modules {
		parts = append(parts, fmt.Sprintf("%q: %d", m, max(v.Ranks[i], 1)))
	}
	return "rank_pattern = {" + strings.Join(parts, ", ") + "}"
}
