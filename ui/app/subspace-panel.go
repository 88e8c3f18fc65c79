package app

import (
	"fmt"
	"strings"

	"github.com/vugu/vugu"
)

// SubspacePanel draws φ(A, B, i, j) for the learner's adapter A and a
// second adapter B, trained here or imported.
type SubspacePanel struct {
	App *App
}

func (c *SubspacePanel) ranks() []int { return []int{1, 2, 4, 8, 16, 64} }

func (c *SubspacePanel) otherRank() int {
	if c.App.An.OtherRank == 0 {
		return 64
	}
	return c.App.An.OtherRank
}

func (c *SubspacePanel) otherSeed() int64 {
	if c.App.An.OtherSeed == 0 {
		return c.App.Applied.Seed + 1
	}
	return c.App.An.OtherSeed
}

func (c *SubspacePanel) training() bool {
	return c.App.An.Training != nil && c.App.An.Training.Running
}

func (c *SubspacePanel) otherText() string {
	o := c.App.An.Other
	return fmt.Sprintf("B: %s (r=%d, %s)", o.Source, o.Rank, strings.Join(o.Targets, ", "))
}

func (c *SubspacePanel) progressText() string {
	p := c.App.An.Training
	switch {
	case p.Running:
		return fmt.Sprintf("training B (r=%d, seed %d): step %d of %d, loss %.3f — your own run waits meanwhile", p.Rank, p.Seed, p.Step, p.Steps, p.Loss)
	case p.Cancelled:
		return fmt.Sprintf("cancelled at step %d; B is as it was", p.Step)
	case p.Error != "":
		return "training B failed: " + p.Error
	}
	return fmt.Sprintf("B trained: %d steps, last loss %.3f", p.Step, p.Loss)
}

func (c *SubspacePanel) modules() []string {
	if s := c.App.An.Subspace; s != nil && len(s.Modules) > 0 {
		return s.Modules
	}
	if o := c.App.An.Other; o != nil {
		return o.Modules
	}
	return nil
}

func (c *SubspacePanel) version() int {
	v := 2 * c.App.An.PhiVersion
	if c.App.An.Baseline {
		v++
	}
	return v
}

func (c *SubspacePanel) gridLabel() string {
	s := c.App.An.Subspace
	what := "φ(A, B, i, j)"
	if c.App.An.Baseline {
		what = "random baseline"
	}
	return fmt.Sprintf("%s on %s: i = 1..%d down, j = 1..%d across, k = %d", what, s.Module, s.R1, s.R2, s.K)
}

func (c *SubspacePanel) topText() string {
	s := c.App.An.Subspace
	return fmt.Sprintf("Top directions: φ(1,1) = %.2f for your adapters, %.2f for the random pair (expected 1/k = %.3f). The paper saw φ(1,1) > 0.5 between r = 8 and r = 64.",
		s.Top, s.TopRandom, s.ExpectedRandom)
}

func (c *SubspacePanel) importFile(e vugu.DOMEvent) {
	if c.App.H == nil {
		return
	}
	c.App.H.ReadFile(e.JSEventTarget(), func(name string, data []byte) {
		c.App.ImportOther(name, data)
	})
}
