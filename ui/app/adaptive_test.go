package app

import (
	"strings"
	"testing"

	"github.com/lora-playground/lora-playground/ui/state"
	"github.com/lora-playground/lora-playground/wasm/protocol"
)

// The panel's run button starts an adaptive run with the page's settings;
// progress from the worker fills the rank chart and the rank_pattern;
// cancel pauses.
func TestAdaptivePanelRunChartCancel(t *testing.T) {
	s := state.Default()
	s.InitRank, s.TargetRank, s.PruneEvery = 8, 2, 3
	a, c, sent, _ := newTestApp(s)
	ids := testids(render(t, a))
	for _, id := range []string{"adaptive-panel", "adaptive-r0", "adaptive-rt", "adaptive-every", "adaptive-run", "adaptive-cancel"} {
		if ids[id] != 1 {
			t.Errorf("data-testid %q appears %d times", id, ids[id])
		}
	}
	if ids["adaptive-chart"] != 0 {
		t.Error("a rank chart before any adaptive run")
	}

	p := &AdaptivePanel{App: a}
	p.run()
	if a.State.Method != state.Adaptive || !a.Playing || !strings.Contains(a.State.Hash(), "method=adaptive") {
		t.Fatalf("after run: method %s playing %v hash %q", a.State.Method, a.Playing, a.State.Hash())
	}
	cfg := (*sent)[0].Config
	if (*sent)[0].Type != protocol.TypeConfigure || cfg.Method != "adaptive" || cfg.Adaptive == nil ||
		*cfg.Adaptive != (protocol.AdaptiveConfig{InitRank: 8, TargetRank: 2, Every: 3}) {
		t.Fatalf("configure sent %+v", (*sent)[0])
	}

	mods := []string{"h.0.attn.q_proj", "h.0.attn.v_proj"}
	c.Handle(protocol.Message{V: 1, Type: protocol.TypeProgress, Progress: &protocol.Progress{Step: 30, Loss: 2, Running: true,
		Points: []protocol.LossPoint{{Step: 30, Loss: 2}},
		Adaptive: &protocol.AdaptiveStatus{InitRank: 8, TargetBudget: 4, Budget: 5, Modules: mods, Ranks: []int{3, 0},
			History: []protocol.RankStep{{Step: 0, Budget: 16, Ranks: []int{8, 8}}, {Step: 30, Budget: 5, Ranks: []int{3, 0}}}}}})
	html := render(t, a)
	for _, want := range []string{`data-testid="adaptive-chart"`, "<svg", "h.0.attn.v_proj  r=0",
		`rank_pattern = {&#34;h.0.attn.q_proj&#34;: 3, &#34;h.0.attn.v_proj&#34;: 1}`, "Total rank 3 of 16"} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if !p.running() {
		t.Error("panel does not see the run")
	}
	p.cancel()
	if a.Playing || (*sent)[len(*sent)-1].Type != protocol.TypePause {
		t.Errorf("cancel: playing %v, last request %s", a.Playing, (*sent)[len(*sent)-1].Type)
	}
	if got := a.Runs[len(a.Runs)-1].Label(); got != "#1 adaptive r=8→2" {
		t.Errorf("run label %q", got)
	}
}
