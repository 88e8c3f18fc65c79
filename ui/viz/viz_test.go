package viz

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestDivergingEndsAndCentre(t *testing.T) {
	cases := []struct {
		t    float64
		want RGB
	}{
		{-1, divergingStops[0]},
		{-5, divergingStops[0]}, // clamped
		{0, divergingStops[2]},
		{1, divergingStops[4]},
		{9, divergingStops[4]},
		{0.5, divergingStops[3]},
		{math.NaN(), NaNColour},
	}
	for _, c := range cases {
		if got := Diverging(c.t); got != c.want {
			t.Errorf("Diverging(%v) = %v, want %v", c.t, got, c.want)
		}
	}
}

func TestDivergingIsMonotoneOnEachSide(t *testing.T) {
	// Moving away from zero must make the colour darker (less R+G+B) on both
	// sides, otherwise a bigger |ΔW| could look smaller.
	lum := func(c RGB) int { return int(c.R) + int(c.G) + int(c.B) }
	prevPos, prevNeg := lum(Diverging(0)), lum(Diverging(0))
	for i := 1; i <= 100; i++ {
		f := float64(i) / 100
		p, n := lum(Diverging(f)), lum(Diverging(-f))
		if p > prevPos || n > prevNeg {
			t.Fatalf("brightness rose at |t|=%v: pos %d→%d neg %d→%d", f, prevPos, p, prevNeg, n)
		}
		prevPos, prevNeg = p, n
	}
	// and the two sides differ in hue: red on positive, blue on negative
	if c := Diverging(0.8); c.R <= c.B {
		t.Errorf("positive side not red: %v", c)
	}
	if c := Diverging(-0.8); c.B <= c.R {
		t.Errorf("negative side not blue: %v", c)
	}
}

func TestFillRGBA(t *testing.T) {
	vals := []float32{-2, 0, 2, 1, float32(math.NaN())}
	m := AbsMax(vals)
	if m != 2 {
		t.Fatalf("AbsMax = %v, want 2 (NaN ignored)", m)
	}
	dst := make([]byte, 4*len(vals))
	FillRGBA(dst, vals, m)
	px := func(i int) RGB { return RGB{dst[4*i], dst[4*i+1], dst[4*i+2]} }
	if px(0) != divergingStops[0] || px(1) != divergingStops[2] || px(2) != divergingStops[4] || px(3) != divergingStops[3] || px(4) != NaNColour {
		t.Errorf("pixels %v", dst)
	}
	for i := range vals {
		if dst[4*i+3] != 255 {
			t.Errorf("pixel %d not opaque", i)
		}
	}
	// An all-zero ΔW (B starts at zero) must draw white, not divide by zero.
	zero := make([]float32, 3)
	FillRGBA(dst, zero, AbsMax(zero))
	if px(0) != divergingStops[2] {
		t.Errorf("zero ΔW drew %v", px(0))
	}
	if allocs := testing.AllocsPerRun(10, func() { FillRGBA(dst, vals, 2) }); allocs != 0 {
		t.Errorf("FillRGBA allocates %v times per call", allocs)
	}
}

func TestHexAndLegend(t *testing.T) {
	if got := (RGB{255, 0, 16}).Hex(); got != "#ff0010" {
		t.Errorf("Hex = %q", got)
	}
	g := LegendGradient()
	if !strings.HasPrefix(g, "linear-gradient(to right, #2166ac") || !strings.HasSuffix(g, "#b2182b)") {
		t.Errorf("legend %q", g)
	}
}

func TestSmooth(t *testing.T) {
	ys := []float64{4, 2, 2, 2}
	if got := Smooth(ys, 0); got[0] != 4 || got[3] != 2 {
		t.Errorf("weight 0 must be the identity, got %v", got)
	}
	got := Smooth(ys, 0.5)
	// Debiased: the first value is the value itself, not half of it.
	if got[0] != 4 {
		t.Errorf("first smoothed = %v, want 4", got[0])
	}
	// second: (0.5·0.5·4 + 0.5·2)/(1-0.25) = (1+1)/0.75
	if want := 2 / 0.75; math.Abs(got[1]-want) > 1e-12 {
		t.Errorf("second smoothed = %v, want %v", got[1], want)
	}
	for i := 1; i < len(got); i++ {
		if got[i] > got[i-1] {
			t.Errorf("smoothed curve of a falling series rose: %v", got)
		}
	}
	withNaN := Smooth([]float64{1, math.NaN(), 1}, 0.9)
	if !math.IsNaN(withNaN[1]) || withNaN[2] != 1 {
		t.Errorf("NaN handling: %v", withNaN)
	}
}

func TestNiceTicks(t *testing.T) {
	cases := []struct {
		lo, hi   float64
		n        int
		wantStep float64
		wantLo   float64
		wantHi   float64
	}{
		{0, 100, 6, 20, 0, 100},
		{1.23, 3.9, 5, 1, 1, 4},
		{0, 7, 6, 2, 0, 8},
		{2.5, 2.5, 5, 0.5, 2, 3}, // flat curve still gets a range
	}
	for _, c := range cases {
		ticks, lo, hi := NiceTicks(c.lo, c.hi, c.n)
		if lo != c.wantLo || hi != c.wantHi {
			t.Errorf("NiceTicks(%v,%v,%d) range [%v,%v], want [%v,%v]", c.lo, c.hi, c.n, lo, hi, c.wantLo, c.wantHi)
		}
		if len(ticks) < 2 || math.Abs(ticks[1]-ticks[0]-c.wantStep) > 1e-9 {
			t.Errorf("NiceTicks(%v,%v,%d) = %v, want step %v", c.lo, c.hi, c.n, ticks, c.wantStep)
		}
		if ticks[0] > c.lo || ticks[len(ticks)-1] < c.hi {
			t.Errorf("ticks %v do not cover [%v,%v]", ticks, c.lo, c.hi)
		}
	}
	ticks, _, _ := NiceTicks(0.1, 0.3, 3)
	for _, v := range ticks {
		if s := fmtTick(v); len(s) > 4 {
			t.Errorf("tick label %q carries binary fuzz", s)
		}
	}
}

func TestLossChartSVG(t *testing.T) {
	runs := []Series{
		{Label: "r=1 <q,v>", Train: []Point{{1, 3}, {2, 2.5}, {3, math.NaN()}, {4, 2}}, Val: []Point{{2, 2.8}, {4, 2.4}}},
		{Label: "full", Train: []Point{{1, 3.1}, {2, 2.2}}},
	}
	svg := LossChartSVG(runs, ChartOptions{Width: 400, Height: 240, Smoothing: 0.6, ShowRaw: true})
	for _, want := range []string{
		`<svg xmlns="http://www.w3.org/2000/svg"`,
		"r=1 &lt;q,v&gt;", // labels escaped
		Palette[0], Palette[1],
		`stroke-dasharray="5 3"`, // validation dashed
		`stroke-opacity="0.25"`,  // raw under smoothed
		"</svg>",
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if strings.Contains(svg, "NaN") {
		t.Error("SVG contains NaN coordinates; a NaN loss must break the line")
	}
	// the NaN splits run 0's curves into two segments: raw and smoothed each have 2 M commands
	if n := strings.Count(svg, `d="M`); n < 3 {
		t.Errorf("expected several paths, got %d", n)
	}
	empty := LossChartSVG(nil, ChartOptions{Width: 300, Height: 200})
	if !strings.HasSuffix(empty, "</svg>") || strings.Contains(empty, "NaN") {
		t.Errorf("empty chart broken: %s", empty)
	}
}

func TestLossCSV(t *testing.T) {
	runs := []Series{{Label: `a,"b"`, Train: []Point{{1, 2}, {2, 1}}, Val: []Point{{2, 1.5}}}}
	got := LossCSV(runs, 0)
	want := "run,step,split,loss,smoothed\n" +
		`"a,""b""",1,train,2,2` + "\n" +
		`"a,""b""",2,train,1,1` + "\n" +
		`"a,""b""",2,val,1.5,1.5` + "\n"
	if got != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", got, want)
	}
}

func TestNumericalRankAndSpectrum(t *testing.T) {
	sv := []float32{3, 1, 1e-8, 0}
	if got := NumericalRank(sv, 1e-4); got != 2 {
		t.Errorf("NumericalRank = %d, want 2", got)
	}
	if NumericalRank([]float32{0, 0}, 1e-4) != 0 {
		t.Error("zero spectrum has rank 0")
	}
	svg := SpectrumSVG(sv, 2, 300, 120)
	if strings.Count(svg, "<rect") != 4 || !strings.Contains(svg, "r = 2") || strings.Contains(svg, "NaN") {
		t.Errorf("spectrum SVG: %s", svg)
	}
	if s := SpectrumSVG([]float32{0, 0}, 1, 100, 60); strings.Contains(s, "NaN") || strings.Contains(s, "Inf") {
		t.Errorf("all-zero spectrum: %s", s)
	}
}

// recorder keeps the texts and paths a chart paints.
type recorder struct {
	texts []recText
	paths []string
	dots  int
}

type recText struct {
	x, y float64
	s    string
	t    TextStyle
}

func (r *recorder) Rect(x, y, w, h float64, fill string)  {}
func (r *recorder) Line(x1, y1, x2, y2 float64, s Stroke) {}
func (r *recorder) Path(d string, s Stroke)               { r.paths = append(r.paths, d) }
func (r *recorder) Dot(cx, cy, rad float64, fill string)  { r.dots++ }
func (r *recorder) Text(x, y float64, s string, t TextStyle) {
	r.texts = append(r.texts, recText{x, y, s, t})
}

// axisLabels are the x tick labels (centred under the plot) and the y tick
// labels (right-aligned left of it).
func (r *recorder) axisLabels() (xs, ys []recText) {
	for _, t := range r.texts {
		switch {
		case t.t.Anchor == "middle" && !t.t.Vertical && t.s != "step":
			xs = append(xs, t)
		case t.t.Anchor == "end" && t.t.Middle && t.x < 60:
			ys = append(ys, t)
		}
	}
	return xs, ys
}

func TestEmptyChartLabelsDoNotOverlap(t *testing.T) {
	for _, runs := range [][]Series{nil, {{Label: "#1", Train: []Point{{1, 2.5}}}}} {
		var r recorder
		PaintLossChart(&r, runs, ChartOptions{Width: 640, Height: 320})
		xs, ys := r.axisLabels()
		if len(xs) < 2 || len(ys) < 2 {
			t.Fatalf("axis labels x %v y %v", xs, ys)
		}
		// Steps are whole numbers: every x label is an integer, at its own place,
		// at least a label's width (~3 characters of 11px) from the next.
		for i, l := range xs {
			if _, err := strconv.Atoi(l.s); err != nil {
				t.Errorf("x tick %q is not a whole step", l.s)
			}
			if i > 0 && l.x-xs[i-1].x < 20 {
				t.Errorf("x labels %q and %q are %.1f apart", xs[i-1].s, l.s, l.x-xs[i-1].x)
			}
		}
		for i := 1; i < len(ys); i++ {
			if math.Abs(ys[i].y-ys[i-1].y) < 12 {
				t.Errorf("y labels %q and %q are %.1f apart", ys[i-1].s, ys[i].s, math.Abs(ys[i].y-ys[i-1].y))
			}
		}
		// The corner: the y axis's lowest label and the x axis's first must not share a box.
		lowY, firstX := ys[0], xs[0]
		if math.Abs(lowY.y-firstX.y) < 11 && math.Abs(lowY.x-firstX.x) < 12 {
			t.Errorf("corner labels overlap: %+v %+v", lowY, firstX)
		}
	}
}

func TestPathIsBoundedAndKeepsSpikes(t *testing.T) {
	const n = 100000
	pts := make([]Point, n)
	for i := range pts {
		pts[i] = Point{Step: i + 1, Loss: 2}
	}
	pts[n/2].Loss = 5 // one spike
	var r recorder
	PaintLossChart(&r, []Series{{Label: "long", Train: pts}}, ChartOptions{Width: 640, Height: 320})
	if len(r.paths) != 1 {
		t.Fatalf("%d paths, want the smoothed curve only", len(r.paths))
	}
	d := r.paths[0]
	if len(d) > 640*4*16 {
		t.Errorf("path of %d points is %d bytes: not reduced to the chart's width", n, len(d))
	}
	// the spike is the top of the y range: some vertex must sit at the plot's top (y=12)
	var raw recorder
	PaintLossChart(&raw, []Series{{Label: "long", Train: pts}}, ChartOptions{Width: 640, Height: 320, Smoothing: 0})
	if !strings.Contains(raw.paths[0], " 12.0") {
		t.Errorf("the spike was lost: no vertex at the top of the plot")
	}
	if allocs := testing.AllocsPerRun(3, func() {
		PaintLossChart(&recorder{}, []Series{{Label: "long", Train: pts}}, ChartOptions{Width: 640, Height: 320, Smoothing: 0.6, ShowRaw: true})
	}); allocs > 200 {
		t.Errorf("painting allocates %v times", allocs)
	}
}

func TestSVGAndPainterAgree(t *testing.T) {
	runs := []Series{{Label: "a", Train: []Point{{1, 3}, {2, 2}}, Val: []Point{{2, 2.5}}}}
	var r recorder
	o := ChartOptions{Width: 400, Height: 200, Smoothing: 0.5, ShowRaw: true}
	PaintLossChart(&r, runs, o)
	svg := LossChartSVG(runs, o)
	if got := strings.Count(svg, "<path"); got != len(r.paths) {
		t.Errorf("SVG has %d paths, painter got %d", got, len(r.paths))
	}
	if got := strings.Count(svg, "<text"); got != len(r.texts) {
		t.Errorf("SVG has %d texts, painter got %d", got, len(r.texts))
	}
	if got := strings.Count(svg, "<circle"); got != r.dots {
		t.Errorf("SVG has %d dots, painter got %d", got, r.dots)
	}
}
