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

// ChartOptions sizes the SVG and sets the smoothing weight.
type ChartOptions struct {
	Width, Height int
	Smoothing     float64 // EMA weight of the past, 0 = raw
	ShowRaw       bool    // draw the raw training curve faintly under the smoothed one
}

// LossChartSVG draws every run's training loss (smoothed, with the raw
// curve faint beneath) and validation loss (dashed, with dots) against
// step, on shared axes, as a standalone SVG document that can be both
// inlined in the page and downloaded as a file.
func LossChartSVG(runs []Series, o ChartOptions) string {
	const left, right, top, bottom = 48, 12, 12, 34
	w, h := float64(o.Width), float64(o.Height)
	pw, ph := w-left-right, h-top-bottom

	maxStep, ylo, yhi := 1, math.Inf(1), math.Inf(-1)
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
	x := func(step int) float64 { return left + pw*float64(step)/xhi }
	y := func(l float64) float64 { return top + ph*(1-(l-ylo)/(yhi-ylo)) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" font-family="system-ui,sans-serif" font-size="11" role="img" aria-label="loss against step">`, o.Width, o.Height, o.Width, o.Height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`, o.Width, o.Height)
	for _, t := range yt {
		fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%.1f" y2="%.1f" stroke="#e5e5e5"/><text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle" fill="#555">%s</text>`,
			float64(left), w-right, y(t), y(t), left-4, y(t), fmtTick(t))
	}
	for _, t := range xt {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%g" y2="%g" stroke="#e5e5e5"/><text x="%.1f" y="%g" text-anchor="middle" fill="#555">%s</text>`,
			x(int(t)), x(int(t)), float64(top), top+ph, x(int(t)), top+ph+14, fmtTick(t))
	}
	fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle" fill="#333">step</text>`, left+pw/2, h-4)
	fmt.Fprintf(&b, `<text transform="translate(11 %g) rotate(-90)" text-anchor="middle" fill="#333">loss (nats/token)</text>`, top+ph/2)

	for i, r := range runs {
		col := Palette[i%len(Palette)]
		if len(r.Train) > 0 {
			ys := make([]float64, len(r.Train))
			for j, p := range r.Train {
				ys[j] = p.Loss
			}
			if o.ShowRaw && o.Smoothing > 0 {
				fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-opacity="0.25" stroke-width="1"/>`, pathD(r.Train, ys, x, y), col)
			}
			fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2"/>`, pathD(r.Train, Smooth(ys, o.Smoothing), x, y), col)
		}
		if len(r.Val) > 0 {
			ys := make([]float64, len(r.Val))
			for j, p := range r.Val {
				ys[j] = p.Loss
			}
			fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="1.5" stroke-dasharray="5 3"/>`, pathD(r.Val, ys, x, y), col)
			for _, p := range r.Val {
				if !math.IsNaN(p.Loss) && !math.IsInf(p.Loss, 0) {
					fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>`, x(p.Step), y(p.Loss), col)
				}
			}
		}
		// Legend, top right, one line per run.
		ly := float64(top + 10 + 14*i)
		fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%g" y2="%g" stroke="%s" stroke-width="2"/><text x="%g" y="%g" dominant-baseline="middle" text-anchor="end" fill="#222">%s</text>`,
			w-right-20, w-right-4, ly, ly, col, w-right-24, ly, html.EscapeString(r.Label))
	}
	if len(runs) > 0 {
		ly := float64(top + 10 + 14*len(runs))
		fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="end" fill="#777">solid: train · dashed: validation</text>`, w-right-4, ly+2)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// pathD builds an SVG path through the finite points, starting a new
// segment after a gap so a NaN shows as a break rather than a spike.
func pathD(pts []Point, ys []float64, x func(int) float64, y func(float64) float64) string {
	var b strings.Builder
	pen := false
	for i, p := range pts {
		v := ys[i]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			pen = false
			continue
		}
		cmd := 'L'
		if !pen {
			cmd = 'M'
		}
		fmt.Fprintf(&b, "%c%.1f %.1f", cmd, x(p.Step), y(v))
		pen = true
	}
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
