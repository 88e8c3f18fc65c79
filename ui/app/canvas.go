package app

import (
	"math"
	"sync"

	"github.com/lora-playground/lora-playground/ui/viz"
	"github.com/vugu/vugu/js"
)

// canvasesKept reports whether a canvas keeps its pixels across renders.
//
// vugu (v0.4) re-sends every attribute of every element on every render,
// and setting a canvas's width or height — even to the value it already
// has — clears it. assets/js/ui-glue.js patches vugu's DOM writer to skip
// writes that change nothing (and sets window.lpVuguPatched); without that
// patch every canvas must be redrawn after every render.
var canvasesKept = sync.OnceValue(func() bool {
	return js.Global().Get("lpVuguPatched").Truthy()
})

// needsRedraw is called with the element a vg-js-create handler receives
// (vugu calls it on every render, not only when the element is created):
// the canvas needs drawing if it is a different element from last time or
// renders clear canvases.
func needsRedraw(old, v js.Value) bool {
	return !canvasesKept() || !sameElement(old, v)
}

// canvasPainter paints a viz chart onto a canvas 2D context.
type canvasPainter struct {
	g            js.Value
	dash, solid  js.Value // setLineDash arguments, made once
	path2D       js.Value
	align, basel string // last set, to skip repeats
}

func newCanvasPainter(g js.Value) *canvasPainter {
	arr := js.Global().Get("Array")
	return &canvasPainter{g: g, dash: arr.New(5, 3), solid: arr.New(), path2D: js.Global().Get("Path2D")}
}

func (p *canvasPainter) Rect(x, y, w, h float64, fill string) {
	p.g.Set("fillStyle", fill)
	p.g.Call("fillRect", x, y, w, h)
}

func (p *canvasPainter) stroke(s viz.Stroke) {
	p.g.Set("strokeStyle", s.Colour)
	p.g.Set("lineWidth", s.Width)
	a := 1.0
	if s.Opacity > 0 && s.Opacity < 1 {
		a = s.Opacity
	}
	p.g.Set("globalAlpha", a)
	if s.Dashed {
		p.g.Call("setLineDash", p.dash)
	} else {
		p.g.Call("setLineDash", p.solid)
	}
}

func (p *canvasPainter) Line(x1, y1, x2, y2 float64, s viz.Stroke) {
	p.stroke(s)
	p.g.Call("beginPath")
	p.g.Call("moveTo", x1, y1)
	p.g.Call("lineTo", x2, y2)
	p.g.Call("stroke")
	p.g.Set("globalAlpha", 1)
}

// Path hands the SVG path data to Path2D: one call per curve, however
// long, instead of one per point.
func (p *canvasPainter) Path(d string, s viz.Stroke) {
	if d == "" {
		return
	}
	p.stroke(s)
	p.g.Call("stroke", p.path2D.New(d))
	p.g.Set("globalAlpha", 1)
}

func (p *canvasPainter) Dot(cx, cy, r float64, fill string) {
	p.g.Set("fillStyle", fill)
	p.g.Call("beginPath")
	p.g.Call("arc", cx, cy, r, 0, 2*math.Pi)
	p.g.Call("fill")
}

func (p *canvasPainter) Text(x, y float64, text string, t viz.TextStyle) {
	align := "left"
	switch t.Anchor {
	case "middle":
		align = "center"
	case "end":
		align = "right"
	}
	basel := "alphabetic"
	if t.Middle {
		basel = "middle"
	}
	if align != p.align {
		p.g.Set("textAlign", align)
		p.align = align
	}
	if basel != p.basel {
		p.g.Set("textBaseline", basel)
		p.basel = basel
	}
	p.g.Set("fillStyle", t.Colour)
	if t.Vertical {
		p.g.Call("save")
		p.g.Call("translate", x, y)
		p.g.Call("rotate", -math.Pi/2)
		p.g.Call("fillText", text, 0, 0)
		p.g.Call("restore")
		return
	}
	p.g.Call("fillText", text, x, y)
}
