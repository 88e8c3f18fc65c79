package app

// LossChart draws every kept run's curves (viz.LossChartSVG) and exports
// them.
type LossChart struct {
	App *App
}
