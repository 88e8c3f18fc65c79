//go:build !(js && wasm)

package main

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/sample"
	"github.com/lora-playground/lora-playground/core/tokenizer"
)

// TestGenerationStopsAtTheDeadline checks the time cap through the clock
// the server is given: the handler's generation stops before the token that
// would start after the deadline.
func TestGenerationStopsAtTheDeadline(t *testing.T) {
	tok := tokenizer.Default()
	c := model.Config{VocabSize: tok.Size(), NCtx: 16, NEmbd: 16, NHead: 2, NLayer: 1}
	m, _ := model.New(c)
	m.InitGPT2(rand.New(rand.NewPCG(1, 1)))
	start := time.Unix(0, 0)
	clock := start
	now := func() time.Time { clock = clock.Add(time.Second); return clock }
	out, err := sample.Generate(m, []int32{3}, sample.Options{MaxTokens: 50, Continue: stopAt(now, start.Add(7*time.Second+time.Millisecond))})
	if err != errDeadline || len(out) != 7 {
		t.Fatalf("got %d tokens, err %v; want 7 and errDeadline", len(out), err)
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
