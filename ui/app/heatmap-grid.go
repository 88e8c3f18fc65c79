package app

import (
	"fmt"

	"github.com/vugu/vugu"
	"strings"

	"github.com/lora-playground/lora-playground/ui/state"
	"github.com/lora-playground/lora-playground/ui/viz"
)

// HeatmapGrid shows every adapted matrix's ΔW, grouped by block, on one
// shared colour scale so layers can be compared by eye.
type HeatmapGrid struct {
	App *App

	absMax float32
}

// Rendered draws this build's heatmaps (see DrawQueue).
func (c *HeatmapGrid) Rendered(ctx vugu.RenderedCtx) { c.App.Draws.Flush() }

type layerDeltas struct {
	Name   string
	Deltas []Delta
}

// layers groups the deltas by block ("h.0.attn.q_proj" → "0"), keeping the
// worker's order.
func (c *HeatmapGrid) layers() []layerDeltas {
	var out []layerDeltas
	for _, d := range c.App.Deltas {
		name := blockOf(d.Path)
		if len(out) == 0 || out[len(out)-1].Name != name {
			out = append(out, layerDeltas{Name: name})
		}
		out[len(out)-1].Deltas = append(out[len(out)-1].Deltas, d)
	}
	return out
}

func blockOf(path string) string {
	parts := strings.Split(path, ".")
	if len(parts) >= 2 && parts[0] == "h" {
		return parts[1]
	}
	return path
}

func shortModule(path string) string {
	return strings.TrimSuffix(path[strings.LastIndex(path, ".")+1:], "_proj")
}

// scale is the shared ± end of the colour scale: the largest |ΔW| anywhere.
// It is computed once per build (Compute), not once per map.
func (c *HeatmapGrid) scale() float32 { return c.absMax }

// Compute runs before each build.
func (c *HeatmapGrid) Compute(ctx vugu.ComputeCtx) {
	var m float32
	for _, d := range c.App.Deltas {
		m = max(m, viz.AbsMax(d.DW))
	}
	c.absMax = m
}

func (c *HeatmapGrid) legendMin() string { return fmt.Sprintf("−%.2g", c.scale()) }
func (c *HeatmapGrid) legendMax() string { return fmt.Sprintf("+%.2g", c.scale()) }

func (c *HeatmapGrid) selectedClass(path string) string {
	if c.App.Selected == path {
		return "map selected"
	}
	return "map"
}

func (c *HeatmapGrid) pressed(path string) string {
	if c.App.Selected == path {
		return "true"
	}
	return "false"
}

func (c *HeatmapGrid) emptyText() string {
	switch {
	case c.App.Applied.Method == state.Bias:
		return "BitFit trains only bias vectors: there is no weight matrix update to draw."
	case !c.App.Started:
		return "Press play: the heatmaps of every adapted matrix appear here, white at first because B starts at zero."
	}
	return "Waiting for the first snapshot from the trainer…"
}
