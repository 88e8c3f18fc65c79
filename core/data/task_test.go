package data

import (
	"strings"
	"testing"
)

func TestParseTask(t *testing.T) {
	valid := `{"name":"reverse","title":"Reverse a word","description":"Spell it backwards.","kind":"prompt_completion","metric":"exact_match","train_examples":3,"val_examples":1}`
	task, err := ParseTask([]byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if task.Name != "reverse" || task.Kind != KindPromptCompletion || task.Metric != MetricExactMatch || task.TrainExamples != 3 || task.ValExamples != 1 {
		t.Errorf("ParseTask = %+v", task)
	}
	tests := []struct{ name, from, to, wantErr string }{
		{"unknown field", `"metric":"exact_match"`, `"metric":"exact_match","extra":1`, `unknown field "extra"`},
		{"bad kind", `"kind":"prompt_completion"`, `"kind":"chat"`, `kind "chat"`},
		{"bad metric", `"metric":"exact_match"`, `"metric":"bleu"`, `metric "bleu"`},
		{"no title", `"title":"Reverse a word"`, `"title":""`, "must all be set"},
		{"zero examples", `"val_examples":1`, `"val_examples":0`, "must be positive"},
		{"not JSON", valid, `{"name":`, "task.json:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := strings.Replace(valid, tt.from, tt.to, 1)
			if _, err := ParseTask([]byte(raw)); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseTask(%s) error = %v, want one containing %q", raw, err, tt.wantErr)
			}
		})
	}
}
