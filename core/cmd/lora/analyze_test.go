package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestAnalyzeAndCombine(t *testing.T) {
	modelDir, dataFile := fixture(t)
	dir := t.TempDir()
	adapter := func(name string, rank, seed string) string {
		out := filepath.Join(dir, name)
		if code, _, stderr := runCLI(t, "train", "--model", modelDir, "--data", dataFile, "--rank", rank, "--seed", seed,
			"--steps", "8", "--batch", "2", "--seq", "16", "--lr", "1e-2", "--out", out, "--quiet"); code != 0 {
			t.Fatalf("train: %s", stderr)
		}
		return out
	}
	r4, r2, r4b := adapter("r4.zip", "4", "1"), adapter("r2", "2", "2"), adapter("r4b.zip", "4", "3")

	code, stdout, stderr := runCLI(t, "analyze", "subspace", "--a1", r4, "--a2", r2, "--module", "h.1.attn.v_proj", "--json")
	if code != 0 {
		t.Fatalf("subspace: %s", stderr)
	}
	var sub struct {
		Module string
		Phi    struct {
			R1, R2, K int
			Phi       [][]float64
		}
		Baseline struct{ Phi [][]float64 }
	}
	if err := json.Unmarshal([]byte(stdout), &sub); err != nil {
		t.Fatal(err)
	}
	if sub.Module != "h.1.attn.v_proj" || sub.Phi.R1 != 4 || sub.Phi.R2 != 2 || sub.Phi.K != 32 || len(sub.Phi.Phi) != 4 || len(sub.Baseline.Phi) != 4 {
		t.Fatalf("subspace report %+v", sub)
	}

	code, stdout, stderr = runCLI(t, "analyze", "amplify", "--adapter", r4, "--base", modelDir, "--json")
	if code != 0 {
		t.Fatalf("amplify: %s", stderr)
	}
	var amp amplifyReport
	if err := json.Unmarshal([]byte(stdout), &amp); err != nil {
		t.Fatal(err)
	}
	if len(amp.Layers) != 4 || len(amp.Paper) != 2 {
		t.Fatalf("amplify: %d layers (want 2 layers × q, v), %d paper rows", len(amp.Layers), len(amp.Paper))
	}
	for _, l := range amp.Layers {
		if l.R != 4 || !(l.NormDelta > 0) || !(l.Factor > 0) || l.ProjDelta > l.ProjW {
			t.Errorf("%s: %+v", l.Module, l.Amplification)
		}
	}

	for _, tc := range []struct {
		method, b string
		maxErr    float64
	}{{"cat", r2, 1e-6}, {"linear", r4b, 10}} {
		out := filepath.Join(dir, "mix-"+tc.method+".zip")
		code, stdout, stderr = runCLI(t, "combine", "--a", r4, "--b", tc.b, "--weights", "0.5,0.5", "--method", tc.method, "--out", out, "--json")
		if code != 0 {
			t.Fatalf("combine %s: %s", tc.method, stderr)
		}
		var rep combineReport
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatal(err)
		}
		for _, m := range rep.Modules {
			if m.RelErr > tc.maxErr {
				t.Errorf("%s %s: relative error %g", tc.method, m.Module, m.RelErr)
			}
		}
		// The result is a normal adapter: eval loads it.
		if code, _, stderr := runCLI(t, "eval", "--model", modelDir, "--adapter", out, "--data", dataFile); code != 0 {
			t.Fatalf("eval of the %s mix: %s", tc.method, stderr)
		}
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"combine", "--a", r4, "--b", r2, "--method", "linear", "--out", filepath.Join(dir, "x.zip")}, "linear needs equal ranks"},
		{[]string{"combine", "--a", r4, "--b", r2, "--weights", "1", "--out", filepath.Join(dir, "x.zip")}, "1 weights for 2 adapters"},
		{[]string{"analyze", "subspace", "--a1", r4, "--a2", r2, "--module", "h.0.mlp.up_proj"}, "does not adapt h.0.mlp.up_proj"},
		{[]string{"analyze", "amplify", "--adapter", r4, "--base", "no-such-model"}, "no such directory"},
		{[]string{"analyze", "wobble"}, "unknown analysis"},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want one line saying %q", tc.args, code, stderr, tc.want)
		}
	}
}
