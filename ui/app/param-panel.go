package app

import (
	"fmt"
	"sync"

	"github.com/vugu/vugu"

	"github.com/lora-playground/lora-playground/core/params"
	"github.com/lora-playground/lora-playground/ui/state"
)

// ParamPanel counts what the controls' configuration trains, on the chosen
// tiny model and on GPT-3 175B, with core/params (the same calculator the
// CLI and tests check against the paper).
type ParamPanel struct {
	App *App

	// The counts of the last configuration seen (Compute), so a build asks
	// the calculator once, not once per figure, and a render caused by
	// training progress not at all.
	key      string
	n, g3    params.Count
	countErr error
}

// Compute runs before each build.
func (c *ParamPanel) Compute(ctx vugu.ComputeCtx) {
	s := c.App.State
	_, known := c.App.Archs[s.Model]
	key := fmt.Sprint(s.Model, known, s.Method, s.Rank, s.Targets)
	if key == c.key {
		return
	}
	c.key = key
	if !known {
		c.n, c.countErr = params.Count{}, fmt.Errorf("loading %s's shape…", s.Model)
	} else {
		c.n, c.countErr = Count(c.App.Archs[s.Model], s)
	}
	c.g3, _ = GPT3(s)
}

func (c *ParamPanel) local() params.Count { return c.n }

func (c *ParamPanel) err() string {
	if c.countErr != nil {
		return c.countErr.Error()
	}
	return ""
}

func (c *ParamPanel) gpt3() params.Count { return c.g3 }

// gpt3FullCount is fine-tuning every weight of GPT-3, for comparison.
var gpt3FullCount = sync.OnceValue(func() params.Count {
	n, _ := GPT3(state.State{Method: state.Full})
	return n
})

func (c *ParamPanel) gpt3full() params.Count { return gpt3FullCount() }

func (c *ParamPanel) share() string {
	n := c.local()
	return Percent(n.Trainable, n.Total) + " of all"
}

// barWidth never draws less than a hairline, so r=1 stays visible.
func (c *ParamPanel) barWidth() string {
	n := c.local()
	if n.Total == 0 {
		return "0%"
	}
	return fmt.Sprintf("max(2px, %.3f%%)", 100*float64(n.Trainable)/float64(n.Total))
}

func (c *ParamPanel) fileLabel() string {
	if c.App.State.Method == state.LoRA {
		return "adapter file (float32)"
	}
	return "trained weights (float32)"
}
