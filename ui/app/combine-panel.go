package app

import (
	"fmt"
	"strconv"
)

// CombinePanel blends the learner's adapter with adapter B and shows
// samples from A, B and the blend.
type CombinePanel struct {
	App *App
}

func (c *CombinePanel) method() string {
	if c.App.An.Method == "" {
		return "cat"
	}
	return c.App.An.Method
}

func (c *CombinePanel) setWeight(s string) {
	if w, err := strconv.ParseFloat(s, 64); err == nil && w >= 0 && w <= 1 {
		c.App.An.SetWeight(w)
		if c.App.An.Other != nil && c.App.An.Busy == "" {
			c.App.RunCombine() // the slider blends at once
		}
	}
}

func (c *CombinePanel) weightsText() string {
	w := c.App.An.Weight()
	return fmt.Sprintf("w_A = %.2f, w_B = %.2f", 1-w, w)
}

func (c *CombinePanel) kinds() []string { return []string{"a", "b", "blend"} }

func (c *CombinePanel) kindLabel(k string) string {
	switch k {
	case "a":
		return "adapter A (yours)"
	case "b":
		return "adapter B"
	}
	r := c.App.An.Combine
	if r == nil {
		return "blend"
	}
	return fmt.Sprintf("blend (%s, %.2f·A + %.2f·B)", r.Method, r.Weights[0], r.Weights[1])
}

func (c *CombinePanel) shown() string {
	r := c.App.An.Combine
	switch c.App.An.ShowBlend {
	case "a":
		return r.A
	case "b":
		return r.B
	}
	return r.Blend
}

// errorText says how far the blend's ΔW is from the exact weighted sum.
func (c *CombinePanel) errorText() string {
	r := c.App.An.Combine
	worst, rank := 0.0, 0
	for _, m := range r.Modules {
		worst = max(worst, m.RelErr)
		rank = max(rank, m.R)
	}
	return fmt.Sprintf("%d matrices blended, rank %d; largest ‖ΔW_blend − (w_A·ΔW_A + w_B·ΔW_B)‖ / ‖w_A·ΔW_A + w_B·ΔW_B‖ = %.2g",
		len(r.Modules), rank, worst)
}
