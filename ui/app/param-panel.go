package app

import (
	"fmt"

	"github.com/lora-playground/lora-playground/core/params"
	"github.com/lora-playground/lora-playground/ui/state"
)

// ParamPanel counts what the controls' configuration trains, on the chosen
// tiny model and on GPT-3 175B, with core/params (the same calculator the
// CLI and tests check against the paper).
type ParamPanel struct {
	App *App
}

func (c *ParamPanel) local() params.Count {
	n, _ := c.count()
	return n
}

func (c *ParamPanel) count() (params.Count, error) {
	a, ok := c.App.Archs[c.App.State.Model]
	if !ok {
		return params.Count{}, fmt.Errorf("loading %s's shape…", c.App.State.Model)
	}
	return Count(a, c.App.State)
}

func (c *ParamPanel) err() string {
	if _, err := c.count(); err != nil {
		return err.Error()
	}
	return ""
}

func (c *ParamPanel) gpt3() params.Count {
	n, _ := GPT3(c.App.State)
	return n
}

func (c *ParamPanel) gpt3full() params.Count {
	n, _ := GPT3(state.State{Method: state.Full})
	return n
}

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
