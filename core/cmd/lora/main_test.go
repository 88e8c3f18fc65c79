package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/tokenizer"
)

// fixture writes a small random model and a text dataset into a temp dir.
func fixture(t *testing.T) (modelDir, dataFile string) {
	t.Helper()
	dir := t.TempDir()
	tok := tokenizer.Default()
	c := model.Config{Name: "test/small", VocabSize: tok.Size(), NCtx: 32, NEmbd: 32, NHead: 2, NLayer: 2,
		Tokenizer: model.TokenizerConfig{Type: "char", Vocab: tok.Vocab()}}
	m, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	m.InitGPT2(rand.New(rand.NewPCG(1, 1)))
	modelDir = filepath.Join(dir, "model")
	if err := m.Save(modelDir, nil); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := 0; i < 300; i++ {
		b.WriteString("the prism parts the light into colours.\n")
	}
	dataFile = filepath.Join(dir, "data.txt")
	if err := os.WriteFile(dataFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return modelDir, dataFile
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// pretrainedFixture is fixture's model after a short full fine-tune on
// other text. A randomly initialised base cannot be adapted far by LoRA:
// its tied embedding is tiny (std 0.02), so no frozen-head logit can move
// much. That is LoRA's premise — it adapts a model that already knows
// something.
func pretrainedFixture(t *testing.T) (modelDir, dataFile string) {
	modelDir, dataFile = fixture(t)
	other := filepath.Join(t.TempDir(), "other.txt")
	var b strings.Builder
	for i := 0; i < 300; i++ {
		b.WriteString("a quick brown fox jumps over the lazy dog; sphinx of black quartz, judge my vow.\n")
	}
	os.WriteFile(other, []byte(b.String()), 0o644)
	base := filepath.Join(t.TempDir(), "base")
	code, _, stderr := runCLI(t, "train", "--model", modelDir, "--data", other, "--method", "full",
		"--steps", "60", "--lr", "1e-2", "--batch", "4", "--out", base, "--quiet")
	if code != 0 {
		t.Fatalf("pretraining the fixture: %s", stderr)
	}
	return base, dataFile
}

func TestTrainEvalGenerateMerge(t *testing.T) {
	modelDir, dataFile := pretrainedFixture(t)
	out := filepath.Join(t.TempDir(), "adapter")
	code, stdout, stderr := runCLI(t, "train", "--model", modelDir, "--data", dataFile, "--method", "lora",
		"--rank", "4", "--alpha", "8", "--targets", "q_proj,v_proj,up_proj,down_proj", "--steps", "60", "--lr", "1e-2",
		"--batch", "4", "--out", out, "--json")
	if code != 0 {
		t.Fatalf("train exited %d: %s", code, stderr)
	}
	var rep trainReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("train --json printed %q: %v", stdout, err)
	}
	if !(rep.ValLossAfter < rep.ValLossBefore-0.5) {
		t.Errorf("validation loss %.3f → %.3f: training did not lower it clearly", rep.ValLossBefore, rep.ValLossAfter)
	}
	// r·(in+out) per adapted matrix: q,v are 32×32, up 128×32, down 32×128; two layers.
	if want := 2 * 4 * ((32 + 32) + (32 + 32) + (32 + 128) + (128 + 32)); rep.TrainableParams != want {
		t.Errorf("trainable %d, want %d", rep.TrainableParams, want)
	}
	for _, f := range []string{"adapter_config.json", "adapter_model.safetensors"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Fatalf("adapter file missing: %v", err)
		}
	}

	code, stdout, stderr = runCLI(t, "eval", "--model", modelDir, "--adapter", out, "--data", dataFile, "--json")
	if code != 0 {
		t.Fatalf("eval exited %d: %s", code, stderr)
	}
	var ev struct{ Loss, Perplexity float64 }
	json.Unmarshal([]byte(stdout), &ev)
	code, stdout, _ = runCLI(t, "eval", "--model", modelDir, "--data", dataFile, "--json")
	var base struct{ Loss float64 }
	json.Unmarshal([]byte(stdout), &base)
	if code != 0 || !(ev.Loss < base.Loss-0.5) || ev.Perplexity <= 1 {
		t.Errorf("eval with adapter %.3f, base %.3f", ev.Loss, base.Loss)
	}

	gen := func(extra ...string) string {
		args := append([]string{"generate", "--model", modelDir, "--prompt", "the ", "--tokens", "40", "--seed", "3", "--json"}, extra...)
		code, stdout, stderr := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("generate %v exited %d: %s", extra, code, stderr)
		}
		var g struct{ Completion string }
		json.Unmarshal([]byte(stdout), &g)
		return g.Completion
	}
	// The same adapter as one archive generates the same text.
	zip := filepath.Join(t.TempDir(), "adapter.zip")
	if code, _, stderr := runCLI(t, "train", "--model", modelDir, "--data", dataFile, "--method", "lora",
		"--rank", "4", "--alpha", "8", "--targets", "q_proj,v_proj,up_proj,down_proj", "--steps", "60", "--lr", "1e-2",
		"--batch", "4", "--out", zip, "--quiet"); code != 0 {
		t.Fatalf("train to a .zip exited %d: %s", code, stderr)
	}
	unmerged, merged, plain := gen("--adapter", out), gen("--adapter", out, "--merged"), gen()
	if fromZip := gen("--adapter", zip); fromZip != unmerged {
		t.Errorf("the archive samples %q, the directory %q", fromZip, unmerged)
	}
	if unmerged != merged {
		t.Errorf("merged and unmerged samples differ:\n%q\n%q", unmerged, merged)
	}
	if unmerged == plain {
		t.Errorf("the adapter did not change the sample %q", plain)
	}

	mergedDir := filepath.Join(t.TempDir(), "merged")
	code, stdout, stderr = runCLI(t, "merge", "--model", modelDir, "--adapter", out, "--out", mergedDir, "--json")
	if code != 0 {
		t.Fatalf("merge exited %d: %s", code, stderr)
	}
	var mr struct {
		MaxAbsLogitDiff float64 `json:"max_abs_logit_diff"`
		Before          int     `json:"params_before"`
		After           int     `json:"params_after"`
	}
	json.Unmarshal([]byte(stdout), &mr)
	if mr.MaxAbsLogitDiff > 1e-4 || mr.Before != mr.After || mr.Before == 0 {
		t.Errorf("merge report %+v", mr)
	}
	if got := gen2(t, mergedDir); got != unmerged {
		t.Errorf("the saved merged model samples %q, the adapter %q", got, unmerged)
	}
}

func gen2(t *testing.T, modelDir string) string {
	code, stdout, stderr := runCLI(t, "generate", "--model", modelDir, "--prompt", "the ", "--tokens", "40", "--seed", "3", "--json")
	if code != 0 {
		t.Fatalf("generate exited %d: %s", code, stderr)
	}
	var g struct{ Completion string }
	json.Unmarshal([]byte(stdout), &g)
	return g.Completion
}

func TestFullAndBiasBaselines(t *testing.T) {
	modelDir, dataFile := fixture(t)
	for _, method := range []string{"full", "bias", "none"} {
		out := filepath.Join(t.TempDir(), method)
		code, stdout, stderr := runCLI(t, "train", "--model", modelDir, "--data", dataFile, "--method", method,
			"--steps", "5", "--batch", "2", "--out", out, "--json")
		if code != 0 {
			t.Fatalf("%s exited %d: %s", method, code, stderr)
		}
		var rep trainReport
		json.Unmarshal([]byte(stdout), &rep)
		switch method {
		case "full":
			if rep.TrainableParams != rep.TotalParams {
				t.Errorf("full: %d of %d trainable", rep.TrainableParams, rep.TotalParams)
			}
		case "none":
			if rep.TrainableParams != 0 || rep.ValLossAfter != rep.ValLossBefore {
				t.Errorf("none: %+v", rep)
			}
		}
		if method != "none" {
			if _, err := model.Load(out); err != nil {
				t.Errorf("%s: saved model does not load: %v", method, err)
			}
		}
	}
}

func TestParamsReproducesThePaper(t *testing.T) {
	for rank, want := range map[string]int64{"1": 4718592, "8": 37748736} {
		code, stdout, stderr := runCLI(t, "params", "--preset", "gpt3-175b", "--rank", rank, "--targets", "q_proj,v_proj", "--json")
		if code != 0 {
			t.Fatalf("params exited %d: %s", code, stderr)
		}
		var rep struct{ Count struct{ Trainable int64 } }
		json.Unmarshal([]byte(stdout), &rep)
		if rep.Count.Trainable != want {
			t.Errorf("r=%s: %d trainable, want %d", rank, rep.Count.Trainable, want)
		}
	}
}

func TestBadInputGetsOneClearLine(t *testing.T) {
	modelDir, dataFile := fixture(t)
	broken := filepath.Join(t.TempDir(), "broken")
	os.MkdirAll(broken, 0o755)
	os.WriteFile(filepath.Join(broken, "config.json"), []byte(`{"vocab_size": 97, "n_ctx": 32, "n_embd": 32, "n_head": 2, "n_layer": 2}`), 0o644)
	os.WriteFile(filepath.Join(broken, "model.safetensors"), []byte("\x08\x00\x00\x00\x00\x00\x00\x00{}garbage"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"train", "--model", modelDir, "--data", dataFile, "--rank", "0", "--out", "x"}, 2, "rank must be at least 1"},
		{[]string{"train", "--model", modelDir, "--data", dataFile, "--targets", "c_attn", "--out", "x"}, 2, `unknown target module "c_attn"`},
		{[]string{"train", "--model", modelDir, "--data", dataFile, "--steps", "zero"}, 2, "invalid value"},
		{[]string{"train", "--data", dataFile}, 2, "--model is required"},
		{[]string{"eval", "--model", broken, "--data", dataFile}, 1, "model.safetensors"},
		{[]string{"eval", "--model", modelDir, "--data", "/nonexistent.txt"}, 1, "/nonexistent.txt"},
		{[]string{"generate", "--model", modelDir, "--adapter", dataFile, "--prompt", "x"}, 1, "data.txt"},
		{[]string{"params", "--preset", "gpt5"}, 2, "gpt5"},
		{[]string{"frobnicate"}, 2, "unknown command"},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimRight(stderr, "\n"), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and one line containing %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}
