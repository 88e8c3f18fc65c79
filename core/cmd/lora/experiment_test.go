package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// reverseTask writes a tiny prompt/completion task directory.
func reverseTask(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "rev")
	os.MkdirAll(dir, 0o755)
	words := strings.Fields("light prism colour water glass bright red blue green white black violet orange yellow ray beam")
	var tr, va strings.Builder
	for i, w := range words {
		r := []rune(w)
		for a, b := 0, len(r)-1; a < b; a, b = a+1, b-1 {
			r[a], r[b] = r[b], r[a]
		}
		line := fmt.Sprintf("{\"prompt\":\"reverse: %s =\",\"completion\":\" %s\"}\n", w, string(r))
		if i < 12 {
			tr.WriteString(line)
		} else {
			va.WriteString(line)
		}
	}
	os.WriteFile(filepath.Join(dir, "train.jsonl"), []byte(tr.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "val.jsonl"), []byte(va.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "task.json"), []byte(`{"name":"rev","title":"t","description":"d","kind":"prompt_completion","metric":"exact_match","train_examples":12,"val_examples":4}`), 0o644)
	return dir
}

func TestExperimentTargetsAndRanks(t *testing.T) {
	modelDir, _ := fixture(t) // C = 32, 2 layers
	task := reverseTask(t)
	code, stdout, stderr := runCLI(t, "experiment", "targets", "--base", modelDir, "--task", task, "--steps", "2", "--batch", "2", "--json")
	if code != 0 {
		t.Fatalf("targets exited %d: %s", code, stderr)
	}
	var rep experimentReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	// r1 = 8 on one 32×32 projection in 2 layers: 2·8·64 = 1024 for every run.
	if rep.Budget != 1024 || len(rep.Runs) != 7 {
		t.Fatalf("budget %d, %d runs; want 1024 and 7", rep.Budget, len(rep.Runs))
	}
	for _, r := range rep.Runs {
		if r.TrainableParams != 1024 || r.Steps != 2 || r.PaperWikiSQL == nil || r.Accuracy == nil {
			t.Errorf("%s: %d trainable, %d steps, paper %v, accuracy %v", r.Label, r.TrainableParams, r.Steps, r.PaperWikiSQL, r.Accuracy)
		}
	}
	code, stdout, stderr = runCLI(t, "experiment", "ranks", "--base", modelDir, "--task", task, "--steps", "2", "--batch", "2", "--ranks", "1,32", "--markdown")
	if code != 0 {
		t.Fatalf("ranks exited %d: %s", code, stderr)
	}
	if code, js, stderr := runCLI(t, "experiment", "ranks", "--base", modelDir, "--task", task, "--steps", "1", "--batch", "2", "--ranks", "1", "--json"); code != 0 || !strings.Contains(js, `"train_loss": null`) {
		t.Errorf("ranks --json with the frozen base: exit %d, %s%s", code, stderr, js)
	}
	for _, want := range []string{"| W_q,W_v r=1 | 1 | 256 |", "32 (full rank)", "| full fine-tuning |", "| frozen base |", "73.4"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("markdown lacks %q:\n%s", want, stdout)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"experiment", "ranks", "--base", modelDir, "--task", task, "--ranks", "64"}, "use r ≤ 32"},
		{[]string{"experiment", "targets", "--base", modelDir, "--task", task, "--r1", "6"}, "multiple of 4"},
		{[]string{"experiment", "ranks", "--base", "nosuchmodel", "--task", task}, "no such directory"},
		{[]string{"experiment", "sideways"}, "lora experiment targets"},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}
