package model

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/lora-playground/lora-playground/core/safetensors"
	"github.com/lora-playground/lora-playground/core/tokenizer"
)

// File names of a model directory.
const (
	ConfigFile  = "config.json"
	WeightsFile = "model.safetensors"
)

// MaxModelBytes bounds a weights file we are willing to read: our models are
// a few MB, so anything far larger is a mistake, not a model.
const MaxModelBytes = 256 << 20

// EncodeWeights writes the model's weights (merged adapters included, if
// merged) as safetensors bytes. Metadata records the format.
func (m *Model) EncodeWeights(meta map[string]string) ([]byte, error) {
	f := &safetensors.File{Metadata: map[string]string{"format": "pt"}}
	for k, v := range meta {
		f.Metadata[k] = v
	}
	for _, p := range m.W.Params(m.Config) {
		f.Tensors = append(f.Tensors, safetensors.F32(p.Name, p.Shape, p.Data))
	}
	return safetensors.Encode(f)
}

// DecodeWeights reads safetensors bytes into a model of config c. Every
// expected tensor must be present with the expected shape and dtype F32 and
// finite values; extra tensors are an error too, since they mean the file
// was made for another architecture.
func DecodeWeights(c Config, b []byte) (*Model, error) {
	m, err := New(c)
	if err != nil {
		return nil, err
	}
	f, err := safetensors.Parse(b)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, p := range m.W.Params(c) {
		want[p.Name] = true
		t, ok := f.Tensor(p.Name)
		if !ok {
			return nil, fmt.Errorf("model weights: tensor %s is missing", p.Name)
		}
		if !slices.Equal(t.Shape, p.Shape) {
			return nil, fmt.Errorf("model weights: tensor %s has shape %v, config expects %v", p.Name, t.Shape, p.Shape)
		}
		if t.DType != "F32" {
			return nil, fmt.Errorf("model weights: tensor %s has dtype %s, want F32", p.Name, t.DType)
		}
		v, err := t.Float32s()
		if err != nil {
			return nil, err
		}
		for i, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("model weights: tensor %s has a non-finite value at index %d", p.Name, i)
			}
		}
		copy(p.Data, v)
	}
	for _, t := range f.Tensors {
		if !want[t.Name] {
			return nil, fmt.Errorf("model weights: unexpected tensor %s (the file does not match config.json)", t.Name)
		}
	}
	return m, nil
}

// ParseConfig reads config.json bytes.
func ParseConfig(b []byte) (Config, error) {
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("model config: %v", err)
	}
	return c, c.Validate()
}

// Load reads a model directory: config.json and model.safetensors.
func Load(dir string) (*Model, error) {
	cb, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("model: %v", err)
	}
	c, err := ParseConfig(cb)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", filepath.Join(dir, ConfigFile), err)
	}
	wf, err := os.Open(filepath.Join(dir, WeightsFile))
	if err != nil {
		return nil, fmt.Errorf("model: %v", err)
	}
	defer wf.Close()
	st, err := wf.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxModelBytes {
		return nil, fmt.Errorf("model: %s is %d bytes, over the %d-byte limit", WeightsFile, st.Size(), MaxModelBytes)
	}
	b := make([]byte, st.Size())
	if _, err := io.ReadFull(wf, b); err != nil {
		return nil, err
	}
	m, err := DecodeWeights(c, b)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", filepath.Join(dir, WeightsFile), err)
	}
	return m, nil
}

// Save writes config.json and model.safetensors into dir (created if needed).
func (m *Model) Save(dir string, meta map[string]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cb, err := json.MarshalIndent(m.Config, "", "  ")
	if err != nil {
		return err
	}
	wb, err := m.EncodeWeights(meta)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), append(cb, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, WeightsFile), wb, 0o644)
}

// NewTokenizer returns the character tokenizer stored in the config.
func (c Config) NewTokenizer() (*tokenizer.Tokenizer, error) {
	if len(c.Tokenizer.Vocab) == 0 {
		return nil, fmt.Errorf("model config: no tokenizer vocabulary")
	}
	return tokenizer.New(c.Tokenizer.Vocab)
}
