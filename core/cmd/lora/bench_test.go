package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBenchReportsMemoryAndProfile runs lora bench on a small model for
// each method and checks the report: memory figures, a profile whose
// phases are those the method runs (weight gradients only when weights
// train, LoRA only with adapters) and that add up to at most the step.
func TestBenchReportsMemoryAndProfile(t *testing.T) {
	modelDir, _ := fixture(t)
	for _, method := range []string{"lora", "full"} {
		code, out, errOut := runCLI(t, "bench", "--model", modelDir, "--method", method, "--batch", "2",
			"--steps", "1", "--warmup-steps", "0", "--profile-steps", "2", "--json")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", method, code, errOut)
		}
		var rep struct {
			Memory struct {
				Sys int64 `json:"sys_bytes"`
			} `json:"memory"`
			Profile map[string]float64 `json:"profile_ms_per_step"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%s: %v in %s", method, err, out)
		}
		if rep.Memory.Sys <= 0 {
			t.Errorf("%s: no memory figures in %s", method, out)
		}
		p := rep.Profile
		var covered float64
		for k, v := range p {
			if k != "step" && k != "other" {
				covered += v
			}
		}
		if p["step"] <= 0 || p["matmul_forward"] <= 0 || p["attention"] <= 0 || covered > p["step"]*1.001 {
			t.Errorf("%s: profile %v (phases sum to %v ms)", method, p, covered)
		}
		if (p["lora"] > 0) != (method == "lora") || (p["matmul_weight_grad"] > 0) != (method == "full") {
			t.Errorf("%s: profile has the wrong phases: %v", method, p)
		}
	}
	code, out, _ := runCLI(t, "bench", "--model", modelDir, "--batch", "1", "--steps", "1", "--warmup-steps", "0", "--profile-steps", "1")
	if code != 0 || !strings.Contains(out, "profile of one step") || !strings.Contains(out, "memory:") {
		t.Errorf("text report:\n%s", out)
	}
}
