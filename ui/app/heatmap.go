package app

import (
	"github.com/lora-playground/lora-playground/ui/viz"
	"github.com/vugu/vugu"
	"github.com/vugu/vugu/js"
)

// Heatmap draws one matrix to a canvas, one pixel per entry, through
// ImageData with the diverging scale (CSS scales it up, pixelated). It
// redraws only when Version or Scale changes, and reuses its Go and JS
// buffers: allocating a fresh typed array per frame has run browsers out
// of memory.
type Heatmap struct {
	Vals       []float32
	Rows, Cols int
	Scale      float32 // ±Scale are the ends of the colour scale
	Version    int
	TestID     string
	Label      string
	Queue      *DrawQueue // where to ask for drawing once the canvas exists

	canvas js.Value
	drawn  struct {
		version    int
		scale      float32
		rows, cols int
	}
	buf   []byte
	jsBuf js.Value
}

// setCanvas receives the canvas on every render (vugu calls vg-js-create
// handlers each time, not only when the element is created). A different
// element starts blank, and so does every canvas after a render when
// renders rewrite canvas sizes (see canvasesKept): then it must be drawn
// whatever was drawn before. Otherwise it keeps its pixels, and draw
// skips it until the matrix changes.
func (c *Heatmap) setCanvas(v js.Value) {
	if needsRedraw(c.canvas, v) {
		c.drawn.version = -1
	}
	c.canvas = v
}

// DrawQueue collects the heatmaps of one build so they can be drawn after
// the DOM is updated. It exists because vugu (v0.4) calls Rendered only on
// the root's direct children, and heatmaps sit deeper: HeatmapGrid, a
// direct child, flushes the queue from its Rendered.
type DrawQueue struct{ pending []*Heatmap }

// Flush draws every queued heatmap that changed.
func (q *DrawQueue) Flush() {
	for _, h := range q.pending {
		h.draw()
	}
	q.pending = q.pending[:0]
}

// Compute runs during every build, for every component.
func (c *Heatmap) Compute(ctx vugu.ComputeCtx) {
	if c.Queue != nil {
		c.Queue.pending = append(c.Queue.pending, c)
	}
}

// draw runs under domrender only, after the canvas exists.
func (c *Heatmap) draw() {
	if !c.canvas.Truthy() || len(c.Vals) < c.Rows*c.Cols || c.Rows*c.Cols == 0 {
		return
	}
	d := &c.drawn
	if d.version == c.Version && d.scale == c.Scale && d.rows == c.Rows && d.cols == c.Cols {
		return
	}
	n := 4 * c.Rows * c.Cols
	if len(c.buf) != n {
		c.buf = make([]byte, n)
		c.jsBuf = js.Global().Get("Uint8ClampedArray").New(n)
	}
	viz.FillRGBA(c.buf, c.Vals[:c.Rows*c.Cols], c.Scale)
	js.CopyBytesToJS(c.jsBuf, c.buf)
	img := js.Global().Get("ImageData").New(c.jsBuf, c.Cols, c.Rows)
	c.canvas.Call("getContext", "2d").Call("putImageData", img, 0, 0)
	d.version, d.scale, d.rows, d.cols = c.Version, c.Scale, c.Rows, c.Cols
}
