package app

import "strings"

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
