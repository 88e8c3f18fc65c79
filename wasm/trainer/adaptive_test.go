package main

import (
	"bytes"
	"slices"
	"testing"

	"github.com/lora-playground/lora-playground/core/peft"
	"github.com/lora-playground/lora-playground/wasm/protocol"
)

// An adaptive run in the worker: progress events carry the ranks, which
// fall to the target; save/restore keeps them; export gives a plain PEFT
// LoRA archive with a rank_pattern that imports to the same ΔW.
func TestAdaptiveRunRanksFallAndExport(t *testing.T) {
	cfg := testConfig()
	cfg.Method, cfg.Steps, cfg.Alpha = "adaptive", 40, 12
	cfg.Adaptive = &protocol.AdaptiveConfig{InitRank: 6, TargetRank: 2, Warmup: 4, Final: 10, Every: 2}
	s, _ := configured(t, cfg)
	st, _ := ok(t, s, rq(protocol.TypeStatus))
	a := st.Status.Adaptive
	if a == nil || len(a.Modules) != 4 || !slices.Equal(a.Ranks, []int{6, 6, 6, 6}) || a.TargetBudget != 8 {
		t.Fatalf("status before training: %+v", a)
	}
	r := rq(protocol.TypeStep)
	r.N = 20
	_, ev := ok(t, s, r)
	var last *protocol.AdaptiveStatus
	for _, e := range ev {
		if e.Type == protocol.TypeProgress && e.Progress.Adaptive != nil {
			last = e.Progress.Adaptive
		}
	}
	if last == nil {
		t.Fatal("no adaptive ranks in the progress events")
	}
	mid := sum(last.Ranks)
	if !(mid < 24 && mid >= 8) || len(last.History) < 3 || last.Budget > mid {
		t.Errorf("after 20 of 40 steps: ranks %v (budget %d), history %v", last.Ranks, last.Budget, last.History)
	}

	saved, _ := ok(t, s, rq(protocol.TypeSaveState))
	stepN(t, s, 20)
	st, _ = ok(t, s, rq(protocol.TypeStatus))
	if got := sum(st.Status.Adaptive.Ranks); got != 8 {
		t.Errorf("total rank %d at the end, want the target 8", got)
	}
	ex, _ := ok(t, s, rq(protocol.TypeExport))
	pa, err := peft.DecodeArchive(ex.Data, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range st.Status.Adaptive.Modules {
		if want := max(st.Status.Adaptive.Ranks[i], 1); pa.Config.RankFor(m) != want {
			t.Errorf("%s: rank_pattern %d, want %d", m, pa.Config.RankFor(m), want)
		}
	}
	want, _ := ok(t, s, rq(protocol.TypeSnapshot))

	// Inspecting a matrix shows its kept triplets as LoRA factors: r is its current rank.
	for i, m := range st.Status.Adaptive.Modules {
		in := rq(protocol.TypeInspect)
		in.Module = m
		got, _ := ok(t, s, in)
		k := st.Status.Adaptive.Ranks[i]
		if got.Inspect.Rank != max(k, 1) || got.Inspect.A.Rows != max(k, 1) || got.Inspect.NumericalRank > k {
			t.Errorf("%s (rank %d): inspect r=%d, A has %d rows, numerical rank %d", m, k, got.Inspect.Rank, got.Inspect.A.Rows, got.Inspect.NumericalRank)
		}
	}

	// The archive imports as plain LoRA with the same ΔW.
	s2, _ := configured(t, testConfig())
	imp := rq(protocol.TypeImport)
	imp.Data = ex.Data
	ok(t, s2, imp)
	got, _ := ok(t, s2, rq(protocol.TypeSnapshot))
	if !closeFloats(got.Data, want.Data, 1e-6) {
		t.Error("imported ΔW differs from the adaptive run's")
	}

	// A fresh worker restored from step 20 ends with the same ranks.
	s3, _ := configured(t, cfg)
	res := rq(protocol.TypeRestoreState)
	res.Data = saved.Data
	ok(t, s3, res)
	stepN(t, s3, 20)
	st3, _ := ok(t, s3, rq(protocol.TypeStatus))
	if !slices.Equal(st3.Status.Adaptive.Ranks, st.Status.Adaptive.Ranks) || len(st3.Status.Adaptive.History) != len(st.Status.Adaptive.History) {
		t.Errorf("restored run ends with ranks %v, uninterrupted %v", st3.Status.Adaptive.Ranks, st.Status.Adaptive.Ranks)
	}
}

func sum(v []int) int {
	n := 0
	for _, x := range v {
		n += x
	}
	return n
}

// closeFloats compares two float32 payloads element by element.
func closeFloats(a, b []byte, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	if bytes.Equal(a, b) {
		return true
	}
	whole := protocol.Tensor{Rows: 1, Cols: len(a) / 4}
	x, _ := whole.Float32s(a)
	y, _ := whole.Float32s(b)
	for i := range x {
		if d := float64(x[i] - y[i]); d > tol || d < -tol {
			return false
		}
	}
	return true
}
