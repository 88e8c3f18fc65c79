//go:build !(js && wasm)

package main

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/sample"
	"github.com/lora-playground/lora-playground/core/tokenizer"
)

// TestGenerateMatchesSample checks that the edge's stoppable decoding loop
// gives exactly core/sample.Generate's tokens, so the server shows the text
// the playground shows locally for the same seed — including past the
// context window, where both slide it.
func TestGenerateMatchesSample(t *testing.T) {
	tok := tokenizer.Default()
	c := model.Config{Name: "t", VocabSize: tok.Size(), NCtx: 16, NEmbd: 32, NHead: 4, NLayer: 2}
	m, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	m.InitGPT2(rand.New(rand.NewPCG(1, 1)))
	zip, a, err := randomAdapter(c, 3, 2)
	if err != nil || len(zip) == 0 {
		t.Fatal(err)
	}
	if _, err := m.ImportAdapter(a); err != nil {
		t.Fatal(err)
	}
	never := func(int) bool { return false }
	for _, tc := range []struct {
		prompt string
		n      int
		temp   float64
		seed   uint64
	}{
		{"a", 5, 0, 0},
		{"hello", 40, 0, 0},   // slides the 16-token window twice
		{"hello", 40, 0.7, 1}, // sampled
		{"hello", 40, 1, 2},
		{"hello", 40, 3, 3},
		{"a long prompt, longer than the window", 8, 1, 4},
	} {
		prompt, _ := tok.Encode(tc.prompt)
		want, err := sample.Generate(m, prompt, sample.Options{MaxTokens: tc.n, Temperature: tc.temp, Seed: tc.seed})
		if err != nil {
			t.Fatal(err)
		}
		got, err := generate(m, prompt, tc.n, tc.temp, tc.seed, never)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%+v: edge %q, sample %q", tc, tok.Decode(got), tok.Decode(want))
		}
	}
}

func TestGenerateStopsWhenTold(t *testing.T) {
	tok := tokenizer.Default()
	c := model.Config{VocabSize: tok.Size(), NCtx: 16, NEmbd: 16, NHead: 2, NLayer: 1}
	m, _ := model.New(c)
	m.InitGPT2(rand.New(rand.NewPCG(1, 1)))
	var asked []int
	out, err := generate(m, []int32{3}, 50, 0, 0, func(n int) bool { asked = append(asked, n); return n == 7 })
	if err != errDeadline || len(out) != 7 {
		t.Fatalf("got %d tokens, err %v; want 7 and errDeadline", len(out), err)
	}
	if !slices.Equal(asked, []int{0, 1, 2, 3, 4, 5, 6, 7}) {
		t.Errorf("asked after %v tokens, want before each one", asked)
	}
	if _, err := generate(m, nil, 5, 0, 0, func(int) bool { return false }); err == nil {
		t.Error("an empty prompt was accepted")
	}
}

func TestBaseDir(t *testing.T) {
	for _, tc := range []struct{ in, name, dir string }{
		{"lora-playground/nano", "lora-playground/nano", "/models/nano/"},
		{"nano", "lora-playground/nano", "/models/nano/"},
		{"lora-playground/tiny-2", "lora-playground/tiny-2", "/models/tiny-2/"},
	} {
		name, dir, err := baseDir(tc.in)
		if err != nil || name != tc.name || dir != tc.dir {
			t.Errorf("baseDir(%q) = %q, %q, %v", tc.in, name, dir, err)
		}
	}
	for _, bad := range []string{"", "lora-playground/", "gpt2/nano", "lora-playground/../x", "../nano", "Nano", "lora-playground/nano/x", "nano\x00", "a.b", "-x"} {
		if _, _, err := baseDir(bad); err == nil {
			t.Errorf("baseDir(%q) accepted", bad)
		}
	}
}

func TestBaseConfigMustNameItself(t *testing.T) {
	fsys, err := testModels()
	if err != nil {
		t.Fatal(err)
	}
	// A folder whose config names another model is not that model.
	mixed := FSAssets{mapFSWith(fsys, "models/small/config.json", fsys["models/nano/config.json"].Data)}
	if _, _, err := loadBaseConfig(t.Context(), mixed, "small"); err == nil {
		t.Error("models/small/ holding nano's config was accepted as lora-playground/small")
	}
	if _, err := loadBase(t.Context(), FSAssets{fsys}, "nano"); err != nil {
		t.Errorf("loading nano: %v", err)
	}
}
