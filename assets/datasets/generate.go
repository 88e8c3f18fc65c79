package datasets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/lora-playground/lora-playground/core/data"
)

// task is one generated task: its task.json and its two splits.
type task struct {
	info       data.Task
	train, val []data.Example
}

// builders make every task. Each has its own seed, so changing one task
// leaves the bytes of the others alone.
var builders = []func() (task, error){buildE2E, buildVerse, buildReverse}

// Generate writes every task into dir/<name>/ (train.jsonl, val.jsonl,
// task.json), creating the task folders. The output depends on nothing but
// this package's code, so it is identical on every machine.
func Generate(dir string) error {
	for _, build := range builders {
		t, err := build()
		if err != nil {
			return err
		}
		if err := t.write(filepath.Join(dir, t.info.Name)); err != nil {
			return fmt.Errorf("%s: %w", t.info.Name, err)
		}
	}
	return nil
}

// contextChars is the context of the shipped base models, in characters
// (tokenizer.Default has one token per character). Every prompt/completion
// example, with the "\n" the data format appends, fits it whole, so the
// sampler never cuts a prompt and the model always sees all of it.
const contextChars = 128

// fitsContext reports whether a prompt/completion example fits contextChars
// with its closing newline.
func fitsContext(prompt, completion string) bool {
	return len(prompt)+len(completion)+1 <= contextChars
}

func (t task) write(dir string) error {
	t.info.TrainExamples, t.info.ValExamples = len(t.train), len(t.val)
	if t.info.Kind == data.KindPromptCompletion {
		for _, ex := range append(append([]data.Example(nil), t.train...), t.val...) {
			if !fitsContext(ex.Prompt, ex.Completion) {
				return fmt.Errorf("%s: example %q + %q is longer than the %d-character context", t.info.Name, ex.Prompt, ex.Completion, contextChars)
			}
		}
	}
	for _, s := range []string{t.info.Name, t.info.Title, t.info.Description} {
		if err := checkASCII(s); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	info, err := json.MarshalIndent(t.info, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "task.json"), append(info, '\n'), 0o644); err != nil {
		return err
	}
	for _, split := range []struct {
		name     string
		examples []data.Example
	}{{"train", t.train}, {"val", t.val}} {
		raw, err := encodeJSONL(t.info.Kind, split.examples)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, split.name+".jsonl"), raw, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// encodeJSONL writes examples in the format data.ParseJSONL reads.
func encodeJSONL(kind data.Kind, examples []data.Example) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep "<" and "&" readable; they are plain text here
	for _, ex := range examples {
		for _, s := range []string{ex.Prompt, ex.Completion} {
			if err := checkASCII(s); err != nil {
				return nil, err
			}
		}
		var line any
		if kind == data.KindText {
			line = struct {
				Text string `json:"text"`
			}{ex.Completion}
		} else {
			line = struct {
				Prompt     string `json:"prompt"`
				Completion string `json:"completion"`
			}{ex.Prompt, ex.Completion}
		}
		if err := enc.Encode(line); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// checkASCII makes sure generated text stays inside tokenizer.Default's
// vocabulary: printable ASCII and newline.
func checkASCII(s string) error {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '\n' && (c < 32 || c > 126) {
			return fmt.Errorf("generated text %q has byte %#x outside printable ASCII", s, c)
		}
	}
	return nil
}

// newRand returns the generator of one task; the second PCG word is fixed so
// the seed alone decides the output.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x64617461)) }

// pick returns a uniformly random element of list.
func pick[T any](rng *rand.Rand, list []T) T { return list[rng.IntN(len(list))] }
