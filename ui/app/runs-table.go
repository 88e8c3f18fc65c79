package app

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/lora-playground/lora-playground/ui/state"
)

// RunsTable compares every kept run: the question LoRA answers is how
// close a few thousand trainable numbers get to training all of them.
type RunsTable struct {
	App *App
}

func (c *RunsTable) rowClass(r Run) string {
	if r.Finished {
		return "done"
	}
	return "current"
}

func (c *RunsTable) rank(r Run) string {
	if r.Config.Method == state.Adaptive {
		return fmt.Sprintf("%d→%d", r.Config.InitRank, r.Config.TargetRank)
	}
	if r.Config.Method != state.LoRA {
		return "—"
	}
	return fmt.Sprint(r.Config.Rank)
}

func (c *RunsTable) targets(r Run) string {
	switch r.Config.Method {
	case state.Full:
		return "all weights"
	case state.Bias:
		return "biases"
	}
	var t []string
	for _, m := range r.Config.Targets {
		t = append(t, strings.TrimSuffix(m, "_proj"))
	}
	return strings.Join(t, ", ")
}

func (c *RunsTable) steps(r Run) string {
	if len(r.Train) == 0 {
		return "0"
	}
	return fmt.Sprint(r.Train[len(r.Train)-1].Step)
}

func (c *RunsTable) accuracy(r Run) string {
	if math.IsNaN(r.Accuracy) {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", 100*r.Accuracy)
}

func (c *RunsTable) elapsed(r Run) string {
	return c.App.Elapsed(r).Round(time.Second).String()
}

func (c *RunsTable) noReference() string {
	return fmt.Sprintf("No reference runs for %s on %s in this build's results.json.", c.App.State.Model, c.App.State.Task)
}

func (c *RunsTable) referenceNote() string {
	r := c.App.References
	s := "The same model and code, trained natively (not in the browser) with the command-line tool"
	if r.GeneratedBy != "" {
		s += ": " + r.GeneratedBy
	}
	if r.Machine != "" {
		s += " on " + r.Machine
	}
	return s + ". Compare its validation loss with your runs' best."
}
