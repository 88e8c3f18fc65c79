package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"strings"

	"github.com/lora-playground/lora-playground/core/lora"
	"github.com/lora-playground/lora-playground/wasm/protocol"
)

// A saved run (save_state's payload, what the UI keeps in IndexedDB) is a
// .zip holding:
//
//	run.json             savedRun: config, step, history, base-model check
//	trainer.safetensors  core/train's State: trainable tensors and AdamW moments
//	custom/<file name>   the learner's data, for a custom task
//
// A zip because its parts are then readable with any unzip tool, and
// archive/zip is already in the binary for PEFT archives.
const (
	runFormat   = "lora-playground-run"
	runVersion  = 1
	runJSON     = "run.json"
	trainerFile = "trainer.safetensors"
	customDir   = "custom/"
)

type savedRun struct {
	Format  string             `json:"format"`
	Version int                `json:"version"`
	Config  protocol.RunConfig `json:"config"`
	Step    int                `json:"step"`
	// BaseModel and BaseHash identify the base weights the run was trained
	// on (FNV-1a 64 of model.safetensors); restoring over other weights
	// would silently mean something else, so it is refused.
	BaseModel    string               `json:"base_model"`
	BaseHash     string               `json:"base_hash"`
	CustomFile   string               `json:"custom_file,omitempty"`
	RankPattern  map[string]int       `json:"rank_pattern,omitempty"`
	AlphaPattern map[string]float64   `json:"alpha_pattern,omitempty"`
	Losses       []protocol.LossPoint `json:"losses"`
	Evals        []protocol.Eval      `json:"evals"`
}

// weightsHash fingerprints a model's weights file.
func weightsHash(b []byte) string {
	h := fnv.New64a()
	h.Write(b)
	return fmt.Sprintf("%016x", h.Sum64())
}

func (s *Session) saveState(id int) ([]protocol.Message, error) {
	if s.run == nil {
		return nil, s.notReady()
	}
	r := s.run
	st, err := r.tr.State()
	if err != nil {
		return nil, err
	}
	sr := savedRun{Format: runFormat, Version: runVersion, Config: r.cfg, Step: r.tr.StepsTaken(),
		BaseModel: s.base.m.Config.Name, BaseHash: s.base.hash,
		RankPattern: r.loraCfg.RankPattern, AlphaPattern: r.loraCfg.AlphaPattern, Losses: r.losses, Evals: r.evals}
	if sr.Losses == nil {
		sr.Losses = []protocol.LossPoint{}
	}
	if sr.Evals == nil {
		sr.Evals = []protocol.Eval{}
	}
	if s.data.task == protocol.CustomTask {
		sr.CustomFile = s.data.fileName
	}
	js, err := json.Marshal(sr)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	// Text is deflated; float32 tensors are stored: they shrink by only a
	// few percent and deflating the megabytes of a full fine-tuning state
	// would hold the worker for a second every time the page saves.
	put := func(name string, b []byte) error {
		method := zip.Deflate
		if name == trainerFile {
			method = zip.Store
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	if err := put(runJSON, js); err != nil {
		return nil, err
	}
	if err := put(trainerFile, st); err != nil {
		return nil, err
	}
	if sr.CustomFile != "" {
		if err := put(customDir+sr.CustomFile, s.data.raw); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	m := reply(id, protocol.TypeSaveState)
	m.Saved = &protocol.Saved{Step: sr.Step, Bytes: buf.Len()}
	m.Data = buf.Bytes()
	return []protocol.Message{m}, nil
}

// readZip returns the files of a small archive by name.
func readZip(b []byte, limit int64) (map[string][]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("not a saved run: %v", err)
	}
	files := map[string][]byte{}
	var total int64
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		c, err := io.ReadAll(io.LimitReader(rc, limit-total+1))
		rc.Close()
		if err != nil {
			return nil, err
		}
		if total += int64(len(c)); total > limit {
			return nil, fmt.Errorf("saved run is larger than %d bytes unpacked", limit)
		}
		files[f.Name] = c
	}
	return files, nil
}

// restoreState rebuilds the run save_state wrote: same base model (checked
// by hash), same data, trainer state at the saved step, same history.
func (s *Session) restoreState(id int, b []byte) ([]protocol.Message, error) {
	if len(b) == 0 {
		return nil, errors.New("restore_state: no saved run (send save_state's bytes as the payload)")
	}
	files, err := readZip(b, maxStateBytes)
	if err != nil {
		return nil, fmt.Errorf("restore_state: %v", err)
	}
	var sr savedRun
	if err := json.Unmarshal(files[runJSON], &sr); err != nil || sr.Format != runFormat {
		return nil, errors.New("restore_state: not a saved playground run (run.json is missing or unreadable)")
	}
	if sr.Version != runVersion {
		return nil, fmt.Errorf("restore_state: saved run version %d, this worker reads version %d", sr.Version, runVersion)
	}
	base, err := s.loadBase(sr.Config.Model)
	if err != nil {
		return nil, fmt.Errorf("restore_state: %v", err)
	}
	if sr.BaseHash != base.hash {
		return nil, fmt.Errorf("restore_state: the run was trained on another version of base model %q (weights %s, loaded %s); start a new run",
			sr.Config.Model, sr.BaseHash, base.hash)
	}
	var d *dataset
	if sr.Config.Task == protocol.CustomTask {
		raw, ok := files[customDir+sr.CustomFile]
		if !ok || sr.CustomFile == "" || strings.Contains(sr.CustomFile, "/") {
			return nil, errors.New("restore_state: the saved run's custom data is missing")
		}
		if d, err = customData(sr.CustomFile, raw); err != nil {
			return nil, fmt.Errorf("restore_state: %v", err)
		}
	} else if s.data != nil && s.data.task == sr.Config.Task {
		d = s.data
	} else if d, err = s.loadTask(sr.Config.Task); err != nil {
		return nil, fmt.Errorf("restore_state: %v", err)
	}
	c := withDefaults(sr.Config, base.m.Config)
	r, err := s.newRun(base, c, d, lora.Config{RankPattern: sr.RankPattern, AlphaPattern: sr.AlphaPattern})
	if err != nil {
		return nil, fmt.Errorf("restore_state: %v", err)
	}
	if err := r.tr.Restore(files[trainerFile]); err != nil {
		return nil, fmt.Errorf("restore_state: %v", err)
	}
	r.losses, r.evals = sr.Losses, sr.Evals
	if n := len(r.evals); n > 0 {
		r.lastEval = r.evals[n-1].Step
	}
	out := s.cancel("restore_state")
	s.base, s.cfg, s.data, s.run, s.halted = base, &c, d, r, ""
	m := reply(id, protocol.TypeRestoreState)
	m.Status = s.Status()
	m.History = &protocol.History{Losses: r.losses, Evals: r.evals}
	if m.History.Losses == nil {
		m.History.Losses = []protocol.LossPoint{}
	}
	if m.History.Evals == nil {
		m.History.Evals = []protocol.Eval{}
	}
	return append([]protocol.Message{m}, out...), nil
}
