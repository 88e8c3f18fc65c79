package app

import "github.com/vugu/vugu"

// Lessons holds the three analysis panels (analysis.go). It is a direct
// child of the root, so its Rendered runs and can draw the φ heatmap (see
// DrawQueue).
type Lessons struct {
	App *App
}

// Compute drops results about an earlier run before each build.
func (c *Lessons) Compute(ctx vugu.ComputeCtx) { c.App.forgetStale() }

// Rendered draws this build's heatmaps.
func (c *Lessons) Rendered(ctx vugu.RenderedCtx) { c.App.Draws.Flush() }
