package viz

import (
	"strings"
	"testing"
)

// Two matrices: one keeps rank 4, the other drops 4 → 2 at step 10 and
// 2 → 1 at step 20. The staircase of the second has a vertical drop at each
// pruning step and runs to step now; the legend shows the final ranks.
func TestRankChartSVGStaircase(t *testing.T) {
	h := []RankStep{{0, []int{4, 4}}, {10, []int{4, 2}}, {20, []int{4, 1}}}
	svg := RankChartSVG([]string{"h.0.attn.q_proj", "h.0.attn.v_proj"}, h, 4, 2, 40, 400, 200)
	if strings.Count(svg, "<path") != 2 {
		t.Fatalf("want one path per matrix:\n%s", svg)
	}
	for _, want := range []string{"h.0.attn.q_proj  r=4", "h.0.attn.v_proj  r=1", `stroke-dasharray="5 3"`, ">step<", ">rank<"} {
		if !strings.Contains(svg, want) {
			t.Errorf("missing %q", want)
		}
	}
	// The second path: 3 stairs, each a move or a drop plus a run, so 6 points.
	paths := strings.Split(svg, `<path d="`)
	d := paths[2][:strings.Index(paths[2], `"`)]
	if n := strings.Count(d, "M") + strings.Count(d, "L"); n != 6 {
		t.Errorf("second path has %d points, want 6: %s", n, d)
	}
	// x of step 40 (the end of the last stair) is the plot's right edge or before it.
	if !strings.HasPrefix(d, "M32.0 ") {
		t.Errorf("path starts at %q, want step 0 at x=32", d[:10])
	}
}

func TestRankChartSVGEmpty(t *testing.T) {
	svg := RankChartSVG(nil, nil, 0, 0, 0, 300, 150)
	if !strings.HasPrefix(svg, "<svg") || strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
		t.Errorf("empty chart: %s", svg)
	}
}
