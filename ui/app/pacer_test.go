package app

import (
	"testing"
	"time"

	"github.com/lora-playground/lora-playground/wasm/protocol"
)

// TestFramePacer: the gap between paced renders is Min on a machine that
// renders fast, grows with the render cost so that renders keep to Share of
// the main thread, is bounded by Max, and follows the cost as it changes.
func TestFramePacer(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		renders []time.Duration
		want    time.Duration
	}{
		{nil, 200 * ms},                        // nothing measured yet
		{[]time.Duration{5 * ms}, 200 * ms},    // 5 ms / 5% = 100 ms < Min
		{[]time.Duration{25 * ms}, 500 * ms},   // 25 ms / 5%
		{[]time.Duration{80 * ms}, 1000 * ms},  // 1.6 s, bounded by Max
		{[]time.Duration{0, -ms}, 200 * ms},    // no durations to learn from
		{[]time.Duration{40 * ms, 10 * ms}, 0}, // moves toward the newest: between 200 and 800 ms
	} {
		p := &FramePacer{Min: 200 * ms, Max: time.Second, Share: 0.05}
		for _, d := range tc.renders {
			p.Rendered(d)
		}
		got := p.Gap()
		if tc.want == 0 {
			if want := time.Duration(float64(40*ms+time.Duration(renderCostEMA*float64(10*ms-40*ms))) / 0.05); got != want {
				t.Errorf("renders %v: gap %v, want %v", tc.renders, got, want)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("renders %v: gap %v, want %v", tc.renders, got, tc.want)
		}
	}
}

// TestPaced: a stream of the worker's messages, in order: only a running
// run's progress and the snapshots while it runs (and the analysis
// adapter's progress while it trains) wait for the pacer's gap; a reply
// (to pause, say), the last progress of a run that stopped and the
// snapshot after it, an evaluation or an error show at once.
func TestPaced(t *testing.T) {
	running := func(r bool) protocol.Message {
		return protocol.Message{Type: protocol.TypeProgress, Progress: &protocol.Progress{Step: 5, Running: r}}
	}
	analysis := func(r bool) protocol.Message {
		return protocol.Message{Type: protocol.TypeAnalysisProgress, Analysis: &protocol.AnalysisResult{Progress: &protocol.AnalysisProgress{Running: r}}}
	}
	var p Pacing
	for i, tc := range []struct {
		m    protocol.Message
		want bool
	}{
		{protocol.Message{Type: protocol.TypeSnapshot}, false}, // no run yet
		{running(true), true},
		{protocol.Message{Type: protocol.TypeSnapshot}, true},
		{protocol.Message{Re: 7, Type: protocol.TypeSnapshot}, false}, // asked for
		{protocol.Message{Re: 3, Type: protocol.TypeStatus, Status: &protocol.Status{}}, false},
		{protocol.Message{Type: protocol.TypeEval}, false},
		{protocol.Message{Type: protocol.TypeError, Message: "boom"}, false},
		{running(true), true},
		{running(false), false},
		{protocol.Message{Type: protocol.TypeSnapshot}, false}, // the finished run's last
		{analysis(true), true},
		{analysis(false), false},
	} {
		if got := p.Paced(tc.m); got != tc.want {
			t.Errorf("message %d, %s (re %d): paced %v, want %v", i, tc.m.Type, tc.m.Re, got, tc.want)
		}
	}
}
