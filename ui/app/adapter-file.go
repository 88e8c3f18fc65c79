package app

import "github.com/vugu/vugu"

// AdapterFile exports the trained adapter as a PEFT archive and imports one.
type AdapterFile struct {
	App *App
}

func (c *AdapterFile) importFile(e vugu.DOMEvent) {
	if c.App.H == nil {
		return
	}
	c.App.H.ReadFile(e.JSEventTarget(), func(name string, data []byte) {
		c.App.Import(name, data)
	})
}
