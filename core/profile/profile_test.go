package profile

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestOffRecordsNothing: with profiling off, brackets read no clock and
// add nothing.
func TestOffRecordsNothing(t *testing.T) {
	Reset()
	Enable(false)
	t0 := Begin()
	if t0 != 0 {
		t.Errorf("Begin returned %v with profiling off, want 0", t0)
	}
	time.Sleep(time.Millisecond)
	End(GELU, t0)
	if p := Snapshot(1, 0); p.Covered() != 0 || p.Calls[GELU] != 0 {
		t.Errorf("profiling off recorded %+v", p)
	}
}

// TestOnAccumulatesPerStep: two steps of a ≥2 ms phase give ≥2 ms per step
// and one call per step; the table and JSON show it and the remainder.
func TestOnAccumulatesPerStep(t *testing.T) {
	Reset()
	Enable(true)
	defer Enable(false)
	for i := 0; i < 2; i++ {
		t0 := Begin()
		time.Sleep(2 * time.Millisecond)
		End(Optimizer, t0)
	}
	p := Snapshot(2, 10*time.Millisecond)
	if p.Phase[Optimizer] < 2*time.Millisecond || p.Calls[Optimizer] != 1 {
		t.Errorf("optimiser: %v per step in %d calls, want ≥ 2ms in 1", p.Phase[Optimizer], p.Calls[Optimizer])
	}
	var b strings.Builder
	p.WriteTable(&b)
	if !strings.Contains(b.String(), "optimiser") || !strings.Contains(b.String(), "other") || strings.Contains(b.String(), "GELU") {
		t.Errorf("table:\n%s", b.String())
	}
	j := p.JSON()
	if j["optimizer"] <= 0 || j["step"] != 10 || math.Abs(j["other"]-(10-j["optimizer"])) > 1e-9 {
		t.Errorf("JSON %v", j)
	}
}

func TestPhaseNamesAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for p := Phase(0); p < NumPhases; p++ {
		if p.String() == "" || p.Key() == "" || seen[p.Key()] {
			t.Errorf("phase %d: name %q key %q", p, p.String(), p.Key())
		}
		seen[p.Key()] = true
	}
}

// TestNextSplitsWithoutOverlap checks that back-to-back phases chained with
// Next add up to exactly the time between the first Begin and the last
// reading: one clock reading per boundary, nothing counted twice.
func TestNextSplitsWithoutOverlap(t *testing.T) {
	Reset()
	Enable(true)
	defer Enable(false)
	t0 := Begin()
	t1 := Next(Attention, t0)
	for i := 0; i < 1000; i++ {
		_ = i * i
	}
	t2 := Next(Softmax, t1)
	t3 := Next(Attention, t2)
	if t1 < t0 || t2 < t1 || t3 < t2 {
		t.Fatalf("readings go backwards: %v %v %v %v", t0, t1, t2, t3)
	}
	if got, want := totals[Attention]+totals[Softmax], t3-t0; got != want {
		t.Errorf("phases sum to %v, the span is %v", got, want)
	}
	if calls[Attention] != 2 || calls[Softmax] != 1 {
		t.Errorf("calls %v", calls)
	}
	Enable(false)
	if Next(GELU, t3) != 0 || calls[GELU] != 0 {
		t.Error("Next read the clock or counted while profiling is off")
	}
}
