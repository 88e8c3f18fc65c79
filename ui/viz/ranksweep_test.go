package viz

import (
	"math"
	"strings"
	"testing"
)

// rankRecorder keeps the dots and texts a chart paints.
type rankRecorder struct {
	dots  [][2]float64
	texts []string
	lines int
}

func (r *rankRecorder) Rect(x, y, w, h float64, fill string)  {}
func (r *rankRecorder) Line(x1, y1, x2, y2 float64, s Stroke) { r.lines++ }
func (r *rankRecorder) Path(d string, s Stroke)               {}
func (r *rankRecorder) Dot(cx, cy, rad float64, fill string) {
	r.dots = append(r.dots, [2]float64{cx, cy})
}
func (r *rankRecorder) Text(x, y float64, s string, t TextStyle) { r.texts = append(r.texts, s) }

func TestRankSweepPlacesRanksOnALogScale(t *testing.T) {
	c := RankSweep{Points: []RankSweepPoint{{8, 4096, 1.3}, {1, 512, 2.0}, {2, 1024, 1.8}, {64, 32768, 1.1}, {4, 2048, math.NaN()}},
		Full: 1.0, Frozen: 2.9, FullTrainable: 114496}
	var r rankRecorder
	PaintRankSweep(&r, c, 640, 280)
	if len(r.dots) != 4 {
		t.Fatalf("%d dots, want 4 (the NaN point is skipped)", len(r.dots))
	}
	// Sorted by rank: r=1, 2, 8, 64 → log₂ 0, 1, 3, 6: equal steps per doubling.
	x := func(i int) float64 { return r.dots[i][0] }
	step := x(1) - x(0)
	if math.Abs((x(2)-x(1))-2*step) > 0.2 || math.Abs((x(3)-x(2))-3*step) > 0.2 {
		t.Errorf("x positions %v are not log₂ r", r.dots)
	}
	// Lower loss is lower on the chart (y grows downwards).
	if r.dots[3][1] <= r.dots[0][1] {
		t.Errorf("r=64 (loss 1.1) drawn at y %.1f, above r=1 (loss 2.0) at %.1f", r.dots[3][1], r.dots[0][1])
	}
	all := strings.Join(r.texts, "|")
	for _, want := range []string{"r=1", "r=64", "33K", "512", "full fine-tuning 1.00", "frozen base 2.90"} {
		if !strings.Contains(all, want) {
			t.Errorf("texts %q lack %q", all, want)
		}
	}
	svg := RankSweepSVG(RankSweep{Full: math.NaN(), Frozen: math.NaN()}, 640, 280)
	if !strings.HasPrefix(svg, "<svg") || strings.Contains(svg, "NaN") {
		t.Errorf("empty chart: %s", svg)
	}
}
