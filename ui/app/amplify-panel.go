package app

import (
	"fmt"
	"html"
	"strings"

	"github.com/lora-playground/lora-playground/wasm/protocol"
	"github.com/vugu/vugu"
)

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

// table is Table 7 for the learner's matrices and the paper's rows, as
// HTML built here: generated per-cell DOM nodes cost the page's wasm more.
func (c *AmplifyPanel) table() vugu.HTML {
	var b strings.Builder
	b.WriteString(`<table data-testid="amplify-table"><thead><tr><th>matrix</th><th>r</th><th>‖W‖</th><th>‖ΔW‖</th><th>‖UᵀWV‖, ΔW's U,V</th><th>W's</th><th>random</th><th>factor</th></tr></thead><tbody>`)
	row := func(l protocol.AmplifyRow, name, class, factorID string) {
		fmt.Fprintf(&b, `<tr%s><td>%s</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td%s>%s</td></tr>`,
			class, html.EscapeString(name), l.R, fmtNum(l.NormW), fmtNum(l.NormDelta), fmtNum(l.ProjDelta), fmtNum(l.ProjW), fmtNum(l.ProjRandom), factorID, fmtNum(l.Factor))
	}
	for _, l := range c.App.An.Amplify.Layers {
		row(l, l.Module, "", ` data-testid="amplify-factor"`)
	}
	for _, l := range c.App.An.Amplify.Paper {
		row(l, "paper: "+l.Module, ` class="paper-row"`, "")
	}
	b.WriteString(`</tbody></table>`)
	return vugu.HTML(b.String())
}
