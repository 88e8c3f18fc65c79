package app

import "fmt"

// Samples generates from the base and the adapted model with one prompt and
// seed, and merges the adapter to show that merging changes nothing.
type Samples struct {
	App *App
}

func (c *Samples) shapesText() string {
	m := c.App.Merged
	same := 0
	for _, s := range m.Shapes {
		if s.Before == s.After {
			same++
		}
	}
	if same == len(m.Shapes) {
		return fmt.Sprintf("all %d adapted weights kept their shape (e.g. %s)", len(m.Shapes), c.example())
	}
	return fmt.Sprintf("%d of %d weights changed shape!", len(m.Shapes)-same, len(m.Shapes))
}

func (c *Samples) example() string {
	if len(c.App.Merged.Shapes) == 0 {
		return "none"
	}
	s := c.App.Merged.Shapes[0]
	return fmt.Sprintf("%s %d×%d → %d×%d", s.Path, s.Before[0], s.Before[1], s.After[0], s.After[1])
}
