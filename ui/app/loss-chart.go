package app

import (
	"fmt"
	"hash/fnv"
	"math"
	"time"

	"github.com/lora-playground/lora-playground/ui/viz"
	"github.com/vugu/vugu"
	"github.com/vugu/vugu/js"
)

// LossChart draws every kept run's curves (viz.PaintLossChart) to one
// <canvas>, and exports them (CSV, and SVG or PNG built on demand).
//
// The canvas is redrawn only when what it shows changed, and while
// training at most every chartEvery: progress arrives with every ~50 ms
// training chunk, and a chart that moves by a pixel need not follow each.
// Changing the chart's own settings (smoothing, raw) redraws at once.
type LossChart struct {
	App *App

	canvas js.Value
	paint  *canvasPainter
	ee     vugu.EventEnv

	drawnData, drawnLook uint64 // fingerprints of what the canvas shows
	drawnAt              time.Time
	timer                bool // a deferred draw is scheduled
}

// chartEvery is the least time between two redraws caused by new data.
const chartEvery = 250 * time.Millisecond

// Chart size in chart units; the canvas has devicePixelRatio pixels per
// unit and CSS scales it to its column.
const ChartW, ChartH = 640, 320

func (c *LossChart) Init(ctx vugu.InitCtx) { c.ee = ctx.EventEnv() }

// pixelRatio is the canvas's pixels per chart unit: the screen's, so the
// chart is sharp on high-density displays, at most 3.
func (c *LossChart) pixelRatio() float64 {
	d := js.Global().Get("devicePixelRatio")
	if d.Type() != js.TypeNumber {
		return 1
	}
	return math.Min(3, math.Max(1, math.Round(d.Float()*2)/2))
}

func (c *LossChart) pxW() int { return int(ChartW * c.pixelRatio()) }
func (c *LossChart) pxH() int { return int(ChartH * c.pixelRatio()) }

// setCanvas receives the canvas on every render (vg-js-create).
func (c *LossChart) setCanvas(v js.Value) {
	if needsRedraw(c.canvas, v) {
		c.drawnData, c.drawnLook = 0, 0
		c.paint = nil
	}
	c.canvas = v
}

// Rendered draws, now or soon, if the chart changed.
func (c *LossChart) Rendered(ctx vugu.RenderedCtx) { c.update(time.Now()) }

// update draws if needed: a change of look at once, new data at most
// every chartEvery (scheduling a draw for later when it comes sooner).
// It runs with the page locked.
func (c *LossChart) update(now time.Time) {
	if !c.canvas.Truthy() {
		return
	}
	data, look := c.fingerprint()
	if data == c.drawnData && look == c.drawnLook {
		return
	}
	if look == c.drawnLook {
		if wait := chartEvery - now.Sub(c.drawnAt); wait > 0 {
			if !c.timer && c.ee != nil {
				c.timer = true
				time.AfterFunc(wait, func() {
					c.ee.Lock()
					c.timer = false
					c.update(time.Now())
					c.ee.UnlockOnly()
				})
			}
			return
		}
	}
	c.draw()
	c.drawnData, c.drawnLook, c.drawnAt = data, look, now
}

// fingerprint hashes everything the chart shows: the curves (data) and
// the settings and canvas size (look).
func (c *LossChart) fingerprint() (data, look uint64) {
	h := fnv.New64a()
	var b [8]byte
	put := func(v uint64) {
		for i := range b {
			b[i] = byte(v >> (8 * i))
		}
		h.Write(b[:])
	}
	for _, r := range c.App.Runs {
		put(uint64(r.ID))
		for _, pts := range [][]viz.Point{r.Train, r.Val} {
			put(uint64(len(pts)))
			for _, p := range pts {
				put(uint64(p.Step))
				put(math.Float64bits(p.Loss))
			}
		}
	}
	data = h.Sum64()
	h.Reset()
	put(math.Float64bits(c.App.Smoothing))
	if c.App.ShowRaw {
		put(1)
	}
	put(uint64(len(c.App.Runs)))
	for _, r := range c.App.Runs {
		h.Write([]byte(r.Label()))
	}
	put(uint64(c.canvas.Get("width").Int()))
	return data, h.Sum64()
}

// draw paints the chart at the canvas's resolution.
func (c *LossChart) draw() {
	if c.paint == nil {
		g := c.canvas.Call("getContext", "2d")
		if !g.Truthy() {
			return
		}
		c.paint = newCanvasPainter(g)
	}
	g := c.paint.g
	s := float64(c.canvas.Get("width").Int()) / ChartW
	g.Call("setTransform", s, 0, 0, s, 0, 0)
	g.Set("font", "11px system-ui, sans-serif")
	c.paint.align, c.paint.basel = "", ""
	viz.PaintLossChart(c.paint, c.App.Series(), c.App.chartOptions())
}

// summary describes the chart for screen readers.
func (c *LossChart) summary() string {
	cur := c.App.Current()
	if cur == nil || len(cur.Train) == 0 {
		return fmt.Sprintf("loss against step, %d runs", len(c.App.Runs))
	}
	last := cur.Train[len(cur.Train)-1]
	return fmt.Sprintf("loss against step, %d runs; run %s at step %d: training loss %s", len(c.App.Runs), cur.Label(), last.Step, Loss(last.Loss))
}
