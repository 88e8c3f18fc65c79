// Package viz holds the pure maths behind the playground's pictures — the
// diverging colour scale of the ΔW heatmaps, loss-curve smoothing, axis
// ticks, and the loss chart as SVG and CSV — so it can be tested natively
// and the components only move bytes to the DOM.
package viz

import "math"

// RGB is an 8-bit colour.
type RGB struct{ R, G, B uint8 }

// Hex returns the colour as #rrggbb for CSS and SVG.
func (c RGB) Hex() string {
	const digits = "0123456789abcdef"
	b := []byte{'#', 0, 0, 0, 0, 0, 0}
	for i, v := range []uint8{c.R, c.G, c.B} {
		b[1+2*i], b[2+2*i] = digits[v>>4], digits[v&15]
	}
	return string(b)
}

// divergingStops is ColorBrewer's RdBu (reversed so negative is blue),
// sampled at t = -1, -0.5, 0, 0.5, 1. A diverging scale is the honest one
// for ΔW: its entries are signed, zero is meaningful (B starts at zero, so
// the first heatmap is all white), and the eye reads colour intensity as
// magnitude on either side.
var divergingStops = [5]RGB{
	{33, 102, 172},  // -1: strong blue
	{146, 197, 222}, // -0.5
	{247, 247, 247}, //  0: near white
	{244, 165, 130}, // +0.5
	{178, 24, 43},   // +1: strong red
}

// NaNColour marks entries that are not numbers, so a diverged run is
// visible rather than silently white.
var NaNColour = RGB{255, 0, 255}

// Diverging maps t ∈ [-1, 1] to a colour; values outside are clamped.
func Diverging(t float64) RGB {
	if math.IsNaN(t) {
		return NaNColour
	}
	t = max(-1, min(1, t))
	x := (t + 1) * 2 // 0..4 across the stops
	i := int(x)
	if i >= 4 {
		return divergingStops[4]
	}
	f := x - float64(i)
	a, b := divergingStops[i], divergingStops[i+1]
	lerp := func(p, q uint8) uint8 { return uint8(math.Round(float64(p) + f*(float64(q)-float64(p)))) }
	return RGB{lerp(a.R, b.R), lerp(a.G, b.G), lerp(a.B, b.B)}
}

// AbsMax returns the largest |v| among the finite values, or 0. The
// heatmap's scale is symmetric around zero so white always means "no
// change" and the two sides of the legend are comparable.
func AbsMax(vals []float32) float32 {
	var m float32
	for _, v := range vals {
		a := float32(math.Abs(float64(v)))
		if a > m && !math.IsInf(float64(a), 0) {
			m = a
		}
	}
	return m
}

// FillRGBA writes one RGBA pixel per value into dst (len ≥ 4·len(vals)),
// scaling by absMax so ±absMax are the ends of the scale. With absMax 0
// (an untrained adapter) every pixel is the zero colour. It allocates
// nothing, so it can run every frame into one reused buffer.
func FillRGBA(dst []byte, vals []float32, absMax float32) {
	inv := 0.0
	if absMax > 0 {
		inv = 1 / float64(absMax)
	}
	for i, v := range vals {
		c := Diverging(float64(v) * inv)
		p := dst[4*i : 4*i+4 : 4*i+4]
		p[0], p[1], p[2], p[3] = c.R, c.G, c.B, 255
	}
}

// LegendGradient returns a CSS linear-gradient from -1 to +1 built from the
// same stops, so the legend and the pixels can never disagree.
func LegendGradient() string {
	s := "linear-gradient(to right"
	for _, c := range divergingStops {
		s += ", " + c.Hex()
	}
	return s + ")"
}
