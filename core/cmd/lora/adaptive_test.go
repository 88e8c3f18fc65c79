package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// train --method adaptive ends at the target total rank, reports every
// matrix's rank and the history in --json, and saves a plain PEFT LoRA
// adapter with those ranks, which eval loads and which beats the base.
func TestTrainAdaptive(t *testing.T) {
	modelDir, dataFile := pretrainedFixture(t)
	out := filepath.Join(t.TempDir(), "adapter")
	code, stdout, stderr := runCLI(t, "train", "--model", modelDir, "--data", dataFile, "--method", "adaptive",
		"--init-rank", "6", "--target-rank", "2", "--alpha", "12", "--targets", "q_proj,v_proj", "--steps", "60",
		"--prune-every", "3", "--lr", "1e-2", "--batch", "4", "--out", out, "--json")
	if code != 0 {
		t.Fatalf("train exited %d: %s", code, stderr)
	}
	var rep trainReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("train --json printed %q: %v", stdout, err)
	}
	a := rep.Adaptive
	if a == nil {
		t.Fatalf("no adaptive section in %s", stdout)
	}
	sum := 0
	for _, m := range a.Modules {
		sum += a.Ranks[m]
	}
	if len(a.Modules) != 4 || a.TotalRank != 8 || sum != 8 || a.TargetBudget != 8 {
		t.Errorf("modules %v ranks %v total %d target %d, want 4 matrices summing to 8", a.Modules, a.Ranks, a.TotalRank, a.TargetBudget)
	}
	if len(a.History) < 2 || a.History[0].Step != 0 || a.History[0].Ranks[0] != 6 {
		t.Errorf("history %+v", a.History)
	}
	if !(rep.ValLossAfter < rep.ValLossBefore-0.3) {
		t.Errorf("validation loss %.3f → %.3f", rep.ValLossBefore, rep.ValLossAfter)
	}

	code, stdout, stderr = runCLI(t, "eval", "--model", modelDir, "--adapter", out, "--data", dataFile, "--batch", "4", "--json")
	var ev struct{ Loss float64 }
	if code != 0 || json.Unmarshal([]byte(stdout), &ev) != nil {
		t.Fatalf("eval of the exported adapter exited %d: %s", code, stderr)
	}
	code, stdout, _ = runCLI(t, "eval", "--model", modelDir, "--data", dataFile, "--batch", "4", "--json")
	var base struct{ Loss float64 }
	if code != 0 || json.Unmarshal([]byte(stdout), &base) != nil || !(ev.Loss < base.Loss-0.3) {
		t.Errorf("eval with the exported adapter %.3f, base %.3f", ev.Loss, base.Loss)
	}

	code, stdout, _ = runCLI(t, "train", "--model", modelDir, "--data", dataFile, "--method", "adaptive",
		"--init-rank", "6", "--target-rank", "2", "--steps", "60", "--lr", "1e-2", "--batch", "4", "--out", out, "--quiet")
	if code != 0 || !strings.Contains(stdout, "adaptive rank: r⁽⁰⁾=6 per matrix → total 8") {
		t.Errorf("text report: %s", stdout)
	}
	code, _, stderr = runCLI(t, "train", "--model", modelDir, "--data", dataFile, "--method", "adaptive",
		"--init-rank", "4", "--target-rank", "5", "--steps", "10", "--out", out)
	if code != 2 || !strings.Contains(stderr, "target rank") {
		t.Errorf("target above init: exit %d, %s", code, stderr)
	}
}
