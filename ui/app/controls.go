package app

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/lora-playground/lora-playground/ui/state"
	"github.com/lora-playground/lora-playground/wasm/protocol"
	"github.com/vugu/vugu"
)

// Controls is the settings column: every control edits App.State and then
// calls App.Changed, which rewrites the link and says what needs a restart.
type Controls struct {
	App *App
}

func (c *Controls) hidden(name string) bool { return c.App.State.Hidden(name) }

// workerChoices are the worker counts the control offers besides automatic.
func (c *Controls) workerChoices() []int {
	n := make([]int, state.MaxWorkers)
	for i := range n {
		n[i] = i + 1
	}
	return n
}

func (c *Controls) set(f func(*state.State)) {
	f(&c.App.State)
	c.App.Changed()
}

func (c *Controls) models() []string {
	if !slices.Contains(c.App.Models, c.App.State.Model) {
		return append(slices.Clone(c.App.Models), c.App.State.Model)
	}
	return c.App.Models
}

func (c *Controls) modelLabel(name string) string {
	a, ok := c.App.Archs[name]
	if !ok {
		return name
	}
	n, _ := Count(a, state.State{Method: state.Full})
	return fmt.Sprintf("%s — %s params, %d layers, width %d", name, Human(n.Total), a.NLayer, a.NEmbd)
}

func (c *Controls) taskDescription() string {
	if c.App.State.Task == state.CustomTask {
		return "Your own text, split by line into training and validation."
	}
	for _, t := range c.App.Tasks {
		if t.Name == c.App.State.Task {
			return t.Description
		}
	}
	return ""
}

func (c *Controls) scaleText() string {
	if c.App.State.RSLoRA {
		return fmt.Sprintf("α/√r = %.3g", c.App.State.Scale())
	}
	return fmt.Sprintf("α/r = %.3g", c.App.State.Scale())
}

func (c *Controls) toggleTarget(m string, e vugu.DOMEvent) {
	on := e.PropBool("target", "checked")
	c.set(func(s *state.State) { s.SetTarget(m, on) })
}

func (c *Controls) toggleHide(name string, e vugu.DOMEvent) {
	on := e.PropBool("target", "checked")
	c.set(func(s *state.State) {
		var h []string
		for _, n := range state.Controls {
			if (n == name && on) || (n != name && s.Hidden(n)) {
				h = append(h, n)
			}
		}
		s.Hide = h
	})
}

func (c *Controls) unknownText() string {
	return "Outside the model's vocabulary, trained as <unk>: " + c.App.Unknown
}

func (c *Controls) setCustom(text string) {
	// The worker refuses more than MaxCustomBytes, but only after the run
	// was restarted; refusing here keeps the current run and text.
	if len(text) > protocol.MaxCustomBytes {
		c.App.Error = fmt.Sprintf("that text is %.1f MB; your own text may be at most %.1f MB (paste or upload a shorter extract). The previous text and run are kept.",
			float64(len(text))/(1<<20), float64(protocol.MaxCustomBytes)/(1<<20))
		return
	}
	c.App.Error = ""
	c.App.Custom = text
	c.App.CustomChanged()
}

// upload reads the chosen file through the host; the text arrives later.
func (c *Controls) upload(e vugu.DOMEvent) {
	if c.App.H != nil {
		c.App.H.ReadFile(e.JSEventTarget(), func(name string, data []byte) {
			c.setCustom(string(data))
		})
	}
}

func atoi(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}

func atof(s string, def float64) float64 {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	return def
}
