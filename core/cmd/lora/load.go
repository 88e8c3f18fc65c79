package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/lora-playground/lora-playground/core/data"
	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/peft"
)

// maxDataBytes bounds a dataset file: far above any text a learner pastes,
// far below what would exhaust a browser tab.
const maxDataBytes = 16 << 20

// maxAdapterBytes bounds an adapter archive.
const maxAdapterBytes = 64 << 20

// dataset is a training or evaluation set with its splits.
type dataset struct {
	Kind       data.Kind
	Train, Val []data.Example
	Task       *data.Task // set for a task directory
}

// loadDataset reads a task directory (task.json, train.jsonl, val.jsonl) or
// a single .txt/.jsonl file, which is split into train and validation by
// valFrac (text by characters at a line boundary, examples by count).
func loadDataset(path string, valFrac float64) (*dataset, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		task, tr, va, err := data.LoadTask(path, maxDataBytes)
		if err != nil {
			return nil, err
		}
		return &dataset{Kind: task.Kind, Train: tr, Val: va, Task: &task}, nil
	}
	ex, kind, err := data.LoadFile(path, maxDataBytes)
	if err != nil {
		return nil, err
	}
	d := &dataset{Kind: kind}
	d.Train, d.Val = data.SplitExamples(kind, ex, valFrac)
	return d, nil
}

// loadAdapter reads a PEFT adapter from a directory or a .zip archive.
func loadAdapter(path string) (*peft.Adapter, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return peft.LoadDir(path)
	}
	if st.Size() > maxAdapterBytes {
		return nil, fmt.Errorf("%s is %d bytes; an adapter archive may be at most %d", path, st.Size(), maxAdapterBytes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return peft.DecodeArchive(b, maxAdapterBytes)
}

// loadModel reads a model directory and, if adapterPath is set, attaches
// that adapter.
func loadModel(dir, adapterPath string) (*model.Model, error) {
	m, err := model.Load(dir)
	if err != nil {
		return nil, err
	}
	if adapterPath != "" {
		a, err := loadAdapter(adapterPath)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", filepath.Clean(adapterPath), err)
		}
		if _, err := m.ImportAdapter(a); err != nil {
			return nil, fmt.Errorf("%s: %v", filepath.Clean(adapterPath), err)
		}
	}
	return m, nil
}
