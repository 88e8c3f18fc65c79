package app

import "fmt"

// AmplifyPanel shows the paper's Table 7 for the learner's adapter.
type AmplifyPanel struct {
	App *App
}

// summary puts the learner's strongest amplification beside the paper's.
func (c *AmplifyPanel) summary() string {
	r := c.App.An.Amplify
	best, name := 0.0, ""
	for _, l := range r.Layers {
		if l.Factor > best {
			best, name = l.Factor, l.Module
		}
	}
	if best == 0 {
		return ""
	}
	return fmt.Sprintf("Your largest factor is %.1f (%s, at step %d); the paper's is ≈ 21.5 at r = 4 and ≈ 1.9 at r = 64.", best, name, r.Step)
}
