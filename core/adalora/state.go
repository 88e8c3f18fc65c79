package adalora

import (
	"encoding/json"
	"fmt"
)

// StateTensor is one named piece of the allocator's state, as float32s.
type StateTensor struct {
	Name string
	Data []float32
}

// StateTensors lists what a paused run needs besides P, λ, Q and their
// AdamW moments to continue exactly: every matrix's kept mask (1 or 0) and
// the smoothed sensitivity and uncertainty of P, λ and Q. The slices are
// copies for the mask and live buffers for the rest.
func (al *Allocator) StateTensors() []StateTensor {
	var s []StateTensor
	for _, a := range al.Adapters {
		kept := make([]float32, a.R)
		for i, k := range a.Kept {
			if k {
				kept[i] = 1
			}
		}
		p := a.Path + ".adalora_"
		s = append(s, StateTensor{p + "kept", kept},
			StateTensor{p + "P.ipt", a.barP}, StateTensor{p + "P.unc", a.uncP},
			StateTensor{p + "lambda.ipt", a.barL}, StateTensor{p + "lambda.unc", a.uncL},
			StateTensor{p + "Q.ipt", a.barQ}, StateTensor{p + "Q.unc", a.uncQ})
	}
	return s
}

// HistoryJSON encodes the rank history.
func (al *Allocator) HistoryJSON() string {
	b, _ := json.Marshal(al.History)
	return string(b)
}

// RestoreState puts back state saved from StateTensors and HistoryJSON;
// values holds one slice per StateTensors entry, in order, already checked
// for length. Nothing changes on error.
func (al *Allocator) RestoreState(values [][]float32, history string) error {
	var h []RankStep
	if err := json.Unmarshal([]byte(history), &h); err != nil {
		return fmt.Errorf("adaptive rank: the saved rank history is unreadable: %v", err)
	}
	for _, st := range h {
		if len(st.Ranks) != len(al.Adapters) {
			return fmt.Errorf("adaptive rank: the saved rank history is for %d matrices, this run has %d", len(st.Ranks), len(al.Adapters))
		}
	}
	dst := al.StateTensors()
	if len(values) != len(dst) {
		return fmt.Errorf("adaptive rank: %d saved tensors, want %d", len(values), len(dst))
	}
	for i, v := range values {
		if len(v) != len(dst[i].Data) {
			return fmt.Errorf("adaptive rank: %s has %d values, want %d", dst[i].Name, len(v), len(dst[i].Data))
		}
	}
	for i, v := range values {
		copy(dst[i].Data, v)
	}
	for k, a := range al.Adapters {
		for i, f := range values[7*k] {
			if f == 0 {
				a.Prune(i)
			} else {
				a.Kept[i] = true
			}
		}
		a.Pack()
	}
	al.History = h
	return nil
}
