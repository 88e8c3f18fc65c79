package viz

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// RankSweepPoint is one LoRA run of a rank sweep.
type RankSweepPoint struct {
	Rank      int
	Trainable int     // trainable parameters
	Loss      float64 // validation loss; NaN when not measured
}

// RankSweep is a rank sweep as the paper's Table 6 asks it: validation loss
// against LoRA's rank r, with full fine-tuning and the frozen base drawn as
// horizontal reference lines (NaN when absent).
type RankSweep struct {
	Points        []RankSweepPoint
	Full, Frozen  float64
	FullTrainable int
}

// PaintRankSweep draws c on a w×h chart. The x axis is log₂ r, so doubling
// r is one step to the right wherever it happens; under each rank it
// prints the trainable parameters, the cost of that r.
func PaintRankSweep(p Painter, c RankSweep, w, h float64) {
	const left, right, top, bottom = 48, 120, 12, 46
	pw, ph := w-left-right, h-top-bottom
	pts := slices.Clone(c.Points)
	slices.SortFunc(pts, func(a, b RankSweepPoint) int { return a.Rank - b.Rank })

	ylo, yhi := math.Inf(1), math.Inf(-1)
	see := func(v float64) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			ylo, yhi = min(ylo, v), max(yhi, v)
		}
	}
	for _, q := range pts {
		see(q.Loss)
	}
	see(c.Full)
	see(c.Frozen)
	if math.IsInf(ylo, 1) {
		ylo, yhi = 0, 1
	}
	yt, ylo, yhi := NiceTicks(ylo, yhi, 5)
	xlo, xhi := 0.0, 1.0
	if len(pts) > 0 {
		xlo, xhi = math.Log2(float64(pts[0].Rank)), math.Log2(float64(pts[len(pts)-1].Rank))
		if xhi == xlo {
			xlo, xhi = xlo-1, xhi+1
		}
	}
	pad := 0.04 * pw
	x := func(r int) float64 { return left + pad + (pw-2*pad)*(math.Log2(float64(r))-xlo)/(xhi-xlo) }
	y := func(l float64) float64 { return top + ph*(1-(l-ylo)/(yhi-ylo)) }

	grid := Stroke{Colour: "#e5e5e5", Width: 1}
	grey := TextStyle{Anchor: "middle", Colour: "#555"}
	p.Rect(0, 0, w, h, "#fff")
	for _, t := range yt {
		p.Line(left, y(t), left+pw, y(t), grid)
		p.Text(left-4, y(t), fmtTick(t), TextStyle{Anchor: "end", Middle: true, Colour: "#555"})
	}
	for _, q := range pts {
		p.Line(x(q.Rank), top, x(q.Rank), top+ph, grid)
		p.Text(x(q.Rank), top+ph+14, fmt.Sprintf("r=%d", q.Rank), grey)
		p.Text(x(q.Rank), top+ph+27, Compact(q.Trainable), TextStyle{Anchor: "middle", Colour: "#888"})
	}
	p.Text(left+pw/2, h-4, "LoRA rank r (log scale) · trainable parameters under each", TextStyle{Anchor: "middle", Colour: "#333"})
	p.Text(11, top+ph/2, "val loss (nats/token)", TextStyle{Anchor: "middle", Vertical: true, Colour: "#333"})

	ref := func(v float64, label, col string) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		p.Line(left, y(v), left+pw, y(v), Stroke{Colour: col, Width: 1.5, Dashed: true})
		p.Text(left+pw+6, y(v), label, TextStyle{Anchor: "start", Middle: true, Colour: col})
	}
	ref(c.Frozen, "frozen base "+fmtLoss3(c.Frozen), "#777")
	full := "full fine-tuning " + fmtLoss3(c.Full)
	ref(c.Full, full, Palette[1])

	col := Palette[0]
	var d strings.Builder
	for _, q := range pts {
		if math.IsNaN(q.Loss) || math.IsInf(q.Loss, 0) {
			continue
		}
		if d.Len() == 0 {
			fmt.Fprintf(&d, "M%.1f %.1f", x(q.Rank), y(q.Loss))
		} else {
			fmt.Fprintf(&d, "L%.1f %.1f", x(q.Rank), y(q.Loss))
		}
	}
	p.Path(d.String(), Stroke{Colour: col, Width: 2})
	for _, q := range pts {
		if !math.IsNaN(q.Loss) && !math.IsInf(q.Loss, 0) {
			p.Dot(x(q.Rank), y(q.Loss), 3.5, col)
		}
	}
	if len(pts) > 0 {
		p.Text(left+pw+6, top+8, "LoRA", TextStyle{Anchor: "start", Middle: true, Colour: col})
	}
}

func fmtLoss3(v float64) string { return strings.TrimSuffix(fmt.Sprintf("%.3f", v), "0") }

// Compact writes a count briefly: 512, 4.1K, 1.2M.
func Compact(n int) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.0fK", float64(n)/1e3)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// RankSweepSVG is the rank chart as an SVG element of the given size.
func RankSweepSVG(c RankSweep, w, h int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="100%%" font-family="system-ui,sans-serif" font-size="11" role="img" aria-label="validation loss against LoRA rank">`, w, h)
	PaintRankSweep((*svgPainter)(&b), c, float64(w), float64(h))
	b.WriteString(`</svg>`)
	return b.String()
}
