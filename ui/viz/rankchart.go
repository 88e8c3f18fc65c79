package viz

import (
	"fmt"
	"strings"
)

// RankStep is every matrix's rank from step Step on (until the next
// RankStep), as an adaptive-rank run reports it.
type RankStep struct {
	Step  int
	Ranks []int
}

// RankChartSVG draws each matrix's rank against step as a staircase, one
// colour per matrix: history holds the ranks at step 0 and after every
// pruning step that changed one; the last stair runs to step now. The
// y axis runs from 0 to initRank; the dashed line is the average rank
// the run aims at, when target > 0.
func RankChartSVG(modules []string, history []RankStep, initRank, target, now, width, height int) string {
	const left, right, top, bottom = 32, 132, 10, 30
	w, h := float64(width), float64(height)
	pw, ph := w-left-right, h-top-bottom
	maxStep := max(now, minChartSteps)
	for _, st := range history {
		maxStep = max(maxStep, st.Step)
	}
	xt, _, xhi := NiceTicks(0, float64(maxStep), 5)
	yt, _, yhi := NiceTicks(0, float64(max(initRank, 1)), 4)
	x := func(s int) float64 { return left + pw*float64(s)/xhi }
	y := func(r float64) float64 { return top + ph*(1-r/yhi) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" font-family="system-ui,sans-serif" font-size="10" role="img" aria-label="rank of each adapted matrix against step">`, width, height, width, height)
	p := (*svgPainter)(&b)
	p.Rect(0, 0, w, h, "#fff")
	grid := Stroke{Colour: "#e5e5e5", Width: 1}
	for _, t := range yt {
		if t != float64(int(t)) {
			continue // ranks are whole numbers
		}
		p.Line(left, y(t), left+pw, y(t), grid)
		p.Text(left-4, y(t), fmtTick(t), TextStyle{Anchor: "end", Middle: true, Colour: "#555"})
	}
	for _, t := range xt {
		if t != float64(int(t)) {
			continue
		}
		p.Line(x(int(t)), top, x(int(t)), top+ph, grid)
		p.Text(x(int(t)), top+ph+13, fmtTick(t), TextStyle{Anchor: "middle", Colour: "#555"})
	}
	p.Text(left+pw/2, h-4, "step", TextStyle{Anchor: "middle", Colour: "#333"})
	p.Text(9, top+ph/2, "rank", TextStyle{Anchor: "middle", Vertical: true, Colour: "#333"})
	if target > 0 {
		p.Line(left, y(float64(target)), left+pw, y(float64(target)), Stroke{Colour: "#777", Width: 1, Dashed: true})
	}
	// Matrices sharing a rank would hide each other: offset each line by a
	// fraction of a rank, so all stay visible and none leaves its stair.
	n := len(modules)
	for m, name := range modules {
		col := Palette[m%len(Palette)]
		off := 0.0
		if n > 1 {
			off = (float64(m)/float64(n-1) - 0.5) * 0.3
		}
		var d strings.Builder
		for i, st := range history {
			if m >= len(st.Ranks) {
				break
			}
			yy := y(float64(st.Ranks[m]) + off)
			if i == 0 {
				fmt.Fprintf(&d, "M%.1f %.1f", x(st.Step), yy)
			} else {
				fmt.Fprintf(&d, "L%.1f %.1f", x(st.Step), yy) // vertical drop at the pruning step
			}
			end := now
			if i+1 < len(history) {
				end = history[i+1].Step
			}
			fmt.Fprintf(&d, "L%.1f %.1f", x(max(end, st.Step)), yy)
		}
		p.Path(d.String(), Stroke{Colour: col, Width: 2})
		last := 0
		if len(history) > 0 && m < len(history[len(history)-1].Ranks) {
			last = history[len(history)-1].Ranks[m]
		}
		ly := float64(top + 8 + 14*m)
		p.Line(w-right+6, ly, w-right+20, ly, Stroke{Colour: col, Width: 2})
		p.Text(w-right+24, ly, fmt.Sprintf("%s  r=%d", name, last), TextStyle{Middle: true, Colour: "#222"})
	}
	b.WriteString(`</svg>`)
	return b.String()
}
