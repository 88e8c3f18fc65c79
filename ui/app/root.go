package app

import (
	"fmt"
	"math"
	"strings"
)

// Root is the whole page.
type Root struct {
	App *App
}

func (c *Root) pressed() string {
	if c.App.Playing {
		return "true"
	}
	return "false"
}

func (c *Root) playLabel() string {
	if c.App.Playing {
		return "pause (keyboard: space)"
	}
	return "play (keyboard: space)"
}

func (c *Root) playIcon() string {
	if c.App.Playing {
		return "❚❚"
	}
	return "▶"
}

func (c *Root) restartText() string {
	return "Changed " + strings.Join(c.App.RestartNeeded(), ", ") +
		": these decide what is trained, so they apply when you press reset (⟲). Learning rate and batch apply at once."
}

// valNote says when the validation loss shown was measured: it is not
// measured every step (see EvalEvery), and a bare dash read as broken.
func (c *Root) valNote() string {
	cur := c.App.Current()
	if cur == nil || len(cur.Val) == 0 || math.IsNaN(c.App.ValLoss) {
		return fmt.Sprintf("every %d steps", EvalEvery)
	}
	return fmt.Sprintf("at step %d", cur.Val[len(cur.Val)-1].Step)
}
