package app

import (
	"strings"
	"testing"

	"github.com/lora-playground/lora-playground/ui/state"
)

const referenceFixture = `{"generated_by": "go run ./models-tiny/results --steps 300", "machine": "linux/amd64, 2 CPUs, native",
 "rows": [
  {"task": "e2e", "model": "nano", "method": "none", "steps": 0, "lr": 0, "trainable_params": 0, "total_params": 114496, "val_loss": 2.9, "val_loss_base": 2.9, "wall_seconds": 0, "tokens_per_sec": 0},
  {"task": "e2e", "model": "nano", "method": "lora", "rank": 8, "alpha": 16, "targets": ["q_proj", "v_proj"], "steps": 300, "lr": 0.01, "trainable_params": 4096, "total_params": 118592, "val_loss": 1.25, "val_loss_base": 2.9, "wall_seconds": 13.25, "tokens_per_sec": 39000},
  {"task": "e2e", "model": "tiny", "method": "full", "steps": 300, "lr": 0.001, "trainable_params": 426000, "total_params": 426000, "val_loss": 1.0, "val_loss_base": 2.5, "wall_seconds": 40, "tokens_per_sec": 12000},
  {"task": "reverse", "model": "nano", "method": "lora", "rank": 2, "alpha": 4, "targets": ["q_proj", "v_proj"], "steps": 100, "lr": 0.01, "trainable_params": 1024, "total_params": 115520, "val_loss": 0.75, "val_loss_base": 3.1, "accuracy": 0.625, "wall_seconds": 3, "tokens_per_sec": 35000}
 ]}`

func TestReferenceResultsFollowTheSelectedModelAndTask(t *testing.T) {
	a, _, _, _ := newTestApp(state.Default())
	if html := render(t, a); strings.Contains(html, "reference-results") {
		t.Fatal("without results.json the panel shows no reference section")
	}
	ref, err := ParseReferences([]byte(referenceFixture))
	if err != nil {
		t.Fatal(err)
	}
	a.References = ref
	a.State.Model, a.State.Task = "nano", "e2e"
	html := render(t, a)
	ids := testids(html)
	if ids["reference-results"] != 1 || ids["reference-table"] != 1 {
		t.Fatalf("reference section missing: %v", ids)
	}
	for _, want := range []string{"Reference results (measured natively with the CLI)", "base (no training)",
		"2.900 → 1.250", "39,000", "13s", "go run ./models-tiny/results --steps 300", "linux/amd64, 2 CPUs"} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(html, "426,000") || strings.Contains(html, "62.5%") {
		t.Error("rows of another model or task are shown")
	}
	if n := len(a.ReferenceRows()); n != 2 {
		t.Errorf("nano/e2e has %d rows, want 2", n)
	}

	a.State.Task = "reverse"
	html = render(t, a)
	if !strings.Contains(html, "62.5%") || strings.Contains(html, "39,000") {
		t.Error("switching the task shows that task's rows (with accuracy)")
	}

	a.State.Task = "verse"
	html = render(t, a)
	if testids(html)["reference-table"] != 0 || !strings.Contains(html, "No reference runs for nano on verse") {
		t.Error("a task without reference runs says so instead of an empty table")
	}
}

func TestParseReferencesRefusesBrokenJSON(t *testing.T) {
	if _, err := ParseReferences([]byte(`{"rows": [`)); err == nil {
		t.Error("a truncated results.json must be an error")
	}
}
