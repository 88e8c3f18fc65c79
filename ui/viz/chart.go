package viz

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// Point is one loss measurement.
type Point struct {
	Step int
	Loss float64
}

// Series is one run's curves as the chart shows them.
type Series struct {
	Label string
	Train []Point
	Val   []Point
}

// Smooth returns the exponential moving average of ys with weight w ∈ [0,1)
// on the past, debiased like TensorBoard's smoothing slider: a plain EMA
// started at 0 would drag the first points towards zero, so each value is
// divided by 1 − wⁿ, the total weight the average has seen. Non-finite
// values are passed through and do not enter the average, so one NaN does
// not erase the rest of the curve.
func Smooth(ys []float64, w float64) []float64 {
	out := make([]float64, len(ys))
	var acc, weight float64
	for i, y := range ys {
		if math.IsNaN(y) || math.IsInf(y, 0) {
			out[i] = y
			continue
		}
		acc = acc*w + (1-w)*y
		weight = weight*w + (1 - w)
		out[i] = acc / weight
	}
	return out
}

// NiceTicks returns about n round tick values (1, 2 or 5 × 10ᵏ apart)
// covering [lo, hi], and the covering range they imply.
func NiceTicks(lo, hi float64, n int) (ticks []float64, tlo, thi float64) {
	if !(hi > lo) {
		if math.IsNaN(lo) || math.IsInf(lo, 0) {
			lo = 0
		}
		lo, hi = lo-0.5, lo+0.5
	}
	if n < 2 {
		n = 2
	}
	raw := (hi - lo) / float64(n-1)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	tlo = math.Floor(lo/step) * step
	thi = math.Ceil(hi/step) * step
	for v := tlo; v <= thi+step/2; v += step {
		// Round away binary fuzz so labels read 0.1, not 0.30000000000000004.
		ticks = append(ticks, math.Round(v/step)*step)
	}
	return ticks, tlo, thi
}

// Palette colours the runs of the chart and the comparison table, chosen to
// stay distinguishable for common colour-vision deficiencies (Okabe–Ito).
var Palette = []string{"#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000"}

// ChartOptions sizes the chart and sets the smoothing weight.
type ChartOptions struct {
	Width, Height int
	Smoothing     float64 // EMA weight of the past, 0 = raw
	ShowRaw       bool    // draw the raw training curve faintly under the smoothed one
}

// Stroke is how a line or path is drawn.
type Stroke struct {
	Colour  string
	Width   float64
	Opacity float64 // 0 means opaque
	Dashed  bool    // 5 on, 3 off
}

// TextStyle places a label: Anchor is "start", "middle" or "end" of the
// text at x; Middle centres it vertically on y (else y is the baseline);
// Vertical turns it a quarter anticlockwise about (x, y).
type TextStyle struct {
	Anchor   string
	Middle   bool
	Vertical bool
	Colour   string
}

// Painter receives the loss chart's drawing, in painting order, in chart
// units (0..Width, 0..Height). The page paints to a <canvas>
// (ui/app), downloads paint to SVG (LossChartSVG): one layout, two
// surfaces. Paths are SVG path data (M/L only), which a canvas takes as
// a Path2D.
type Painter interface {
	Rect(x, y, w, h float64, fill string)
	Line(x1, y1, x2, y2 float64, s Stroke)
	Path(d string, s Stroke)
	Dot(cx, cy, r float64, fill string)
	Text(x, y float64, text string, t TextStyle)
}

// minChartSteps is the least step range of the x axis, so an empty chart
// and the first few steps get integer ticks (steps are whole numbers; ticks
// of 0.2 steps used to pile up on one another at step 0).
const minChartSteps = 10

// PaintLossChart draws every run's training loss (smoothed, with the raw
// curve faint beneath) and validation loss (dashed, with dots) against
// step, on shared axes.
func PaintLossChart(p Painter, runs []Series, o ChartOptions) {
	const left, right, top, bottom = 48, 12, 12, 34
	w, h := float64(o.Width), float64(o.Height)
	pw, ph := w-left-right, h-top-bottom

	maxStep, ylo, yhi := minChartSteps, math.Inf(1), math.Inf(-1)
	for _, r := range runs {
		for _, pts := range [][]Point{r.Train, r.Val} {
			for _, p := range pts {
				maxStep = max(maxStep, p.Step)
				if !math.IsNaN(p.Loss) && !math.IsInf(p.Loss, 0) {
					ylo, yhi = min(ylo, p.Loss), max(yhi, p.Loss)
				}
			}
		}
	}
	if math.IsInf(ylo, 1) {
		ylo, yhi = 0, 1
	}
	yt, ylo, yhi := NiceTicks(ylo, yhi, 5)
	xt, _, xhi := NiceTicks(0, float64(maxStep), 6)
	x := func(step float64) float64 { return left + pw*step/xhi }
	y := func(l float64) float64 { return top + ph*(1-(l-ylo)/(yhi-ylo)) }

	grid := Stroke{Colour: "#e5e5e5", Width: 1}
	label := TextStyle{Anchor: "end", Middle: true, Colour: "#555"}
	p.Rect(0, 0, w, h, "#fff")
	for _, t := range yt {
		p.Line(left, y(t), w-right, y(t), grid)
		p.Text(left-4, y(t), fmtTick(t), label)
	}
	for _, t := range xt {
		if t != math.Trunc(t) {
			continue // never a tick between two steps
		}
		p.Line(x(t), top, x(t), top+ph, grid)
		p.Text(x(t), top+ph+14, fmtTick(t), TextStyle{Anchor: "middle", Colour: "#555"})
	}
	p.Text(left+pw/2, h-4, "step", TextStyle{Anchor: "middle", Colour: "#333"})
	p.Text(11, top+ph/2, "loss (nats/token)", TextStyle{Anchor: "middle", Vertical: true, Colour: "#333"})

	var ys []float64
	for i, r := range runs {
		col := Palette[i%len(Palette)]
		if len(r.Train) > 0 {
			ys = losses(ys, r.Train)
			if o.ShowRaw && o.Smoothing > 0 {
				p.Path(pathD(r.Train, ys, x, y), Stroke{Colour: col, Width: 1, Opacity: 0.25})
			}
			p.Path(pathD(r.Train, Smooth(ys, o.Smoothing), x, y), Stroke{Colour: col, Width: 2})
		}
		if len(r.Val) > 0 {
			ys = losses(ys, r.Val)
			p.Path(pathD(r.Val, ys, x, y), Stroke{Colour: col, Width: 1.5, Dashed: true})
			for _, v := range r.Val {
				if !math.IsNaN(v.Loss) && !math.IsInf(v.Loss, 0) {
					p.Dot(x(float64(v.Step)), y(v.Loss), 2.5, col)
				}
			}
		}
		// Legend, top right, one line per run.
		ly := float64(top + 10 + 14*i)
		p.Line(w-right-20, ly, w-right-4, ly, Stroke{Colour: col, Width: 2})
		p.Text(w-right-24, ly, r.Label, TextStyle{Anchor: "end", Middle: true, Colour: "#222"})
	}
	if len(runs) > 0 {
		ly := float64(top + 10 + 14*len(runs))
		p.Text(w-right-4, ly+2, "solid: train · dashed: validation", TextStyle{Anchor: "end", Colour: "#777"})
	}
}

// losses copies pts' losses into buf (reused between curves).
func losses(buf []float64, pts []Point) []float64 {
	buf = buf[:0]
	for _, p := range pts {
		buf = append(buf, p.Loss)
	}
	return buf
}

// LossChartSVG is the loss chart as a standalone SVG document, for
// downloads (PNG is rasterised from it by the browser).
func LossChartSVG(runs []Series, o ChartOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" font-family="system-ui,sans-serif" font-size="11" role="img" aria-label="loss against step">`, o.Width, o.Height, o.Width, o.Height)
	PaintLossChart((*svgPainter)(&b), runs, o)
	b.WriteString(`</svg>`)
	return b.String()
}

// svgPainter writes SVG elements.
type svgPainter strings.Builder

func (s *svgPainter) b() *strings.Builder { return (*strings.Builder)(s) }

func (s *svgPainter) Rect(x, y, w, h float64, fill string) {
	fmt.Fprintf(s.b(), `<rect x="%g" y="%g" width="%g" height="%g" fill="%s"/>`, x, y, w, h, fill)
}

func (s *svgPainter) Line(x1, y1, x2, y2 float64, st Stroke) {
	fmt.Fprintf(s.b(), `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"%s/>`, x1, x2, y1, y2, st.svg())
}

func (s *svgPainter) Path(d string, st Stroke) {
	if d == "" {
		return
	}
	fmt.Fprintf(s.b(), `<path d="%s" fill="none"%s/>`, d, st.svg())
}

func (s *svgPainter) Dot(cx, cy, r float64, fill string) {
	fmt.Fprintf(s.b(), `<circle cx="%.1f" cy="%.1f" r="%g" fill="%s"/>`, cx, cy, r, fill)
}

func (s *svgPainter) Text(x, y float64, text string, t TextStyle) {
	b := s.b()
	if t.Vertical {
		fmt.Fprintf(b, `<text transform="translate(%g %g) rotate(-90)"`, x, y)
	} else {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f"`, x, y)
	}
	if t.Anchor != "" && t.Anchor != "start" {
		fmt.Fprintf(b, ` text-anchor="%s"`, t.Anchor)
	}
	if t.Middle {
		b.WriteString(` dominant-baseline="middle"`)
	}
	fmt.Fprintf(b, ` fill="%s">%s</text>`, t.Colour, html.EscapeString(text))
}

func (st Stroke) svg() string {
	s := fmt.Sprintf(` stroke="%s" stroke-width="%g"`, st.Colour, st.Width)
	if st.Opacity > 0 && st.Opacity < 1 {
		s += fmt.Sprintf(` stroke-opacity="%g"`, st.Opacity)
	}
	if st.Dashed {
		s += ` stroke-dasharray="5 3"`
	}
	return s
}

// pathD builds an SVG path through the finite points, starting a new
// segment after a gap so a NaN shows as a break rather than a spike.
// Where many points fall in one unit of x (a long run on a narrow chart)
// it keeps each unit's first, lowest, highest and last point, so the
// path stays a few times the chart's width whatever the run's length
// and still shows every spike.
func pathD(pts []Point, ys []float64, x func(float64) float64, y func(float64) float64) string {
	var b strings.Builder
	b.Grow(16 * min(len(pts), 2048))
	pen := false
	lastX, lastY := math.NaN(), math.NaN()
	emit := func(px, py float64) {
		if pen && px == lastX && py == lastY {
			return
		}
		lastX, lastY = px, py
		cmd := byte('L')
		if !pen {
			cmd = 'M'
		}
		b.WriteByte(cmd)
		b.WriteString(strconv.FormatFloat(px, 'f', 1, 64))
		b.WriteByte(' ')
		b.WriteString(strconv.FormatFloat(py, 'f', 1, 64))
		pen = true
	}
	// The column being collected: its points in order of index.
	type pt struct{ x, y float64 }
	var col [4]pt // first, min, max, last
	n, colX := 0, math.NaN()
	flush := func() {
		if n == 0 {
			return
		}
		first, lo, hi, last := col[0], col[1], col[2], col[3]
		emit(first.x, first.y)
		if n > 1 {
			// lowest and highest in the order they came
			a, c := lo, hi
			if lo.x > hi.x {
				a, c = hi, lo
			}
			for _, q := range []pt{a, c, last} {
				emit(q.x, q.y)
			}
		}
		n = 0
	}
	for i, p := range pts {
		v := ys[i]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			flush()
			pen = false
			continue
		}
		px, py := x(float64(p.Step)), y(v)
		if c := math.Floor(px); c != colX || n == 0 {
			flush()
			colX = c
			col = [4]pt{{px, py}, {px, py}, {px, py}, {px, py}}
			n = 1
			continue
		}
		// y grows downwards: "lowest loss" is the smallest y value
		if py < col[1].y {
			col[1] = pt{px, py}
		}
		if py > col[2].y {
			col[2] = pt{px, py}
		}
		col[3] = pt{px, py}
		n++
	}
	flush()
	return b.String()
}

func fmtTick(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e6 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// LossCSV lists every measurement as run,step,split,loss,smoothed; the
// smoothed column uses the chart's weight so a spreadsheet shows what the
// page showed.
func LossCSV(runs []Series, smoothing float64) string {
	var b strings.Builder
	b.WriteString("run,step,split,loss,smoothed\n")
	for _, r := range runs {
		for _, split := range []struct {
			name string
			pts  []Point
		}{{"train", r.Train}, {"val", r.Val}} {
			ys := make([]float64, len(split.pts))
			for i, p := range split.pts {
				ys[i] = p.Loss
			}
			sm := Smooth(ys, smoothing)
			if split.name == "val" {
				sm = ys // validation is already an average over a whole epoch
			}
			for i, p := range split.pts {
				fmt.Fprintf(&b, "%s,%d,%s,%s,%s\n", csvField(r.Label), p.Step, split.name,
					strconv.FormatFloat(p.Loss, 'g', 6, 64), strconv.FormatFloat(sm[i], 'g', 6, 64))
			}
		}
	}
	return b.String()
}

// csvField quotes a field if it holds a comma, quote or newline (RFC 4180).
func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\n\r") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// NumericalRank counts singular values above rel·σ_max: float32 training
// leaves the "zero" singular values of B·A at ~1e-7·σ_max, not exactly 0.
func NumericalRank(sv []float32, rel float64) int {
	var top float64
	for _, s := range sv {
		top = max(top, float64(s))
	}
	if top == 0 {
		return 0
	}
	n := 0
	for _, s := range sv {
		if float64(s) > rel*top {
			n++
		}
	}
	return n
}

// SpectrumSVG draws singular values σ₁ ≥ σ₂ ≥ … as bars, with a marker after
// the r-th: every bar to its right is (numerically) zero, which is the
// picture of rank(ΔW) ≤ r.
func SpectrumSVG(sv []float32, r int, width, height int) string {
	const left, bottom, top = 36, 18, 8
	w, h := float64(width), float64(height)
	pw, ph := w-left-4, h-top-bottom
	var top1 float64
	for _, s := range sv {
		top1 = max(top1, float64(s))
	}
	ticks, _, yhi := NiceTicks(0, max(top1, 1e-12), 3)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" font-family="system-ui,sans-serif" font-size="10" role="img" aria-label="singular values of ΔW">`, width, height, width, height)
	for _, t := range ticks {
		yy := top + ph*(1-t/yhi)
		fmt.Fprintf(&b, `<line x1="%d" x2="%g" y1="%.1f" y2="%.1f" stroke="#eee"/><text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle" fill="#555">%s</text>`, left, w-4, yy, yy, left-3, yy, fmtTick(t))
	}
	n := max(len(sv), 1)
	bw := pw / float64(n)
	for i, s := range sv {
		bh := ph * float64(s) / yhi
		col := "#0072b2"
		if i >= r {
			col = "#d55e00"
		}
		fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"><title>σ%d = %.3g</title></rect>`,
			left+float64(i)*bw+bw*0.1, top+ph-bh, bw*0.8, bh, col, i+1, s)
	}
	if r < len(sv) {
		xx := left + float64(r)*bw
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%g" stroke="#333" stroke-dasharray="3 2"/><text x="%.1f" y="%g" fill="#333">r = %d</text>`, xx, xx, top, top+ph, xx+3, float64(top)+10, r)
	}
	fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle" fill="#555">index i of σᵢ (largest first)</text>`, left+pw/2, h-4)
	b.WriteString(`</svg>`)
	return b.String()
}
