package app

import (
	"fmt"

	"github.com/lora-playground/lora-playground/ui/viz"
)

// DeltaDetail is the enlarged ΔW beside its factors B and A and its
// singular-value spectrum (computed in the worker).
type DeltaDetail struct {
	App *App
}

func (c *DeltaDetail) d() *Delta {
	if d := c.App.SelectedDelta(); d != nil {
		return d
	}
	return &Delta{}
}

func (c *DeltaDetail) hasFactors() bool {
	d := c.d()
	return d.Rank > 0 && len(d.A) == d.Rank*d.Cols && len(d.B) == d.Rows*d.Rank
}

func (c *DeltaDetail) rankText() string {
	d := c.d()
	if len(d.SV) == 0 {
		return "computing singular values…"
	}
	k := viz.NumericalRank(d.SV, 1e-4)
	if d.Rank == 0 {
		return fmt.Sprintf("rank(ΔW) = %d of at most %d: full fine-tuning is not limited to low rank.", k, min(d.Rows, d.Cols))
	}
	return fmt.Sprintf("rank(ΔW) = %d ≤ r = %d (singular values above 10⁻⁴·σ₁), out of a possible %d.", k, d.Rank, min(d.Rows, d.Cols))
}
