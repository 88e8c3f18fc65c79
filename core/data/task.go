package data

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// MetricExactMatch names the metric of tasks with a single right answer: the
// share of validation prompts for which the model's greedy completion equals
// the reference completion exactly.
const MetricExactMatch = "exact_match"

// Task describes a ready-made fine-tuning task, stored as task.json beside
// its train.jsonl and val.jsonl (see assets/datasets).
type Task struct {
	Name          string `json:"name"`           // folder name, e.g. "reverse"
	Title         string `json:"title"`          // for the UI, e.g. "Reverse a word"
	Description   string `json:"description"`    // one line for the UI
	Kind          Kind   `json:"kind"`           // the kind of both splits
	Metric        string `json:"metric"`         // MetricExactMatch, or "" for loss only
	TrainExamples int    `json:"train_examples"` // lines in train.jsonl
	ValExamples   int    `json:"val_examples"`   // lines in val.jsonl
}

// ParseTask decodes and checks a task.json. Unknown fields are an error, so
// a misspelt field is caught rather than ignored.
func ParseTask(raw []byte) (Task, error) {
	var task Task
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&task); err != nil {
		return Task{}, fmt.Errorf("task.json: %v", err)
	}
	switch {
	case task.Name == "" || task.Title == "" || task.Description == "":
		return Task{}, fmt.Errorf("task.json: name, title and description must all be set")
	case !task.Kind.Valid():
		return Task{}, fmt.Errorf("task.json: kind %q; want %q or %q", task.Kind, KindText, KindPromptCompletion)
	case task.Metric != "" && task.Metric != MetricExactMatch:
		return Task{}, fmt.Errorf("task.json: metric %q; want %q or \"\"", task.Metric, MetricExactMatch)
	case task.TrainExamples < 1 || task.ValExamples < 1:
		return Task{}, fmt.Errorf("task.json: train_examples and val_examples must be positive, not %d and %d", task.TrainExamples, task.ValExamples)
	}
	return task, nil
}

// LoadTask reads the task in dir (task.json, train.jsonl, val.jsonl) and
// checks that both splits are of the task's kind and hold as many examples
// as task.json says. maxBytes limits each file as in [LoadFile].
func LoadTask(dir string, maxBytes int64) (task Task, train, val []Example, err error) {
	raw, err := os.ReadFile(filepath.Join(dir, "task.json"))
	if err != nil {
		return Task{}, nil, nil, err
	}
	if task, err = ParseTask(raw); err != nil {
		return Task{}, nil, nil, fmt.Errorf("%s: %w", dir, err)
	}
	load := func(split string, want int) ([]Example, error) {
		path := filepath.Join(dir, split+".jsonl")
		examples, kind, err := LoadFile(path, maxBytes)
		if err != nil {
			return nil, err
		}
		if kind != task.Kind {
			return nil, fmt.Errorf("%s: %s examples, but task.json says %s", path, kind, task.Kind)
		}
		if len(examples) != want {
			return nil, fmt.Errorf("%s: %d examples, but task.json says %d", path, len(examples), want)
		}
		return examples, nil
	}
	if train, err = load("train", task.TrainExamples); err != nil {
		return Task{}, nil, nil, err
	}
	if val, err = load("val", task.ValExamples); err != nil {
		return Task{}, nil, nil, err
	}
	return task, train, val, nil
}
