package app

import (
	"sync/atomic"
	"time"

	"github.com/lora-playground/lora-playground/wasm/protocol"
)

// FramePacer spaces the renders that the training worker's messages cause.
//
// vugu (v0.4) re-sends the whole page on every render: the Go side walks
// every element and the page's script decodes every attribute and text,
// even when only the step counter changed. On a loaded 2-core machine that
// is 20–40 ms of the main thread a render, and while the workers train on
// every core, each of those milliseconds is taken from training. So the
// least gap between two such renders is the larger of Min and the recent
// render cost divided by Share (a moving average of Rendered's durations):
// a fast machine renders every Min, a slow one less often, keeping the
// paced renders to about Share of a core for renders from Min·Share to
// Max·Share long (10–50 ms with the page's settings). Max bounds the gap,
// so the readouts never stall. A learner's own clicks and typing render at
// once; they do not go through the pacer.
type FramePacer struct {
	Min, Max time.Duration
	Share    float64      // of the main thread the paced renders may take
	cost     atomic.Int64 // nanoseconds, a moving average
}

// renderCostEMA is the weight of the newest render in the cost.
const renderCostEMA = 0.3

// Pacing tells which of the training worker's messages belong to the
// stream that FramePacer spaces: the progress of a run that is still
// training and the ΔW snapshots that come while it does, and the progress
// of the analysis panel's second adapter while it trains. Anything else
// (replies, evaluations, errors, the last progress of a run that stopped
// and the snapshot after it) shows at once. It follows the messages in
// order, so one Pacing serves one worker's stream.
type Pacing struct {
	running bool // the last progress said the run was training
}

// Paced reports whether m waits for the pacer's gap.
func (p *Pacing) Paced(m protocol.Message) bool {
	if m.Re != 0 {
		return false
	}
	switch m.Type {
	case protocol.TypeProgress:
		p.running = m.Progress != nil && m.Progress.Running
		return p.running
	case protocol.TypeSnapshot:
		return p.running
	case protocol.TypeAnalysisProgress:
		return m.Analysis != nil && m.Analysis.Progress != nil && m.Analysis.Progress.Running
	}
	return false
}

// Rendered records how long a render took.
func (p *FramePacer) Rendered(d time.Duration) {
	if d <= 0 {
		return
	}
	c := p.cost.Load()
	if c == 0 {
		p.cost.Store(int64(d))
		return
	}
	p.cost.Store(c + int64(renderCostEMA*float64(int64(d)-c)))
}

// Gap is the least time between two paced renders now.
func (p *FramePacer) Gap() time.Duration {
	g := p.Min
	if p.Share > 0 {
		g = max(g, time.Duration(float64(p.cost.Load())/p.Share))
	}
	if p.Max > 0 {
		g = min(g, p.Max)
	}
	return g
}
