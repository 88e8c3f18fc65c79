package train

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// TestStepAB prints a same-run A/B of whole training steps on the
// reference configuration: the same LoRA run with and without the cache of
// frozen weights' transposes, one step of each in turn, keeping each one's
// fastest step (the least disturbed on a shared machine). It runs only
// with LORA_STEP_AB=1; LORA_STEP_AB_STEPS sets the steps per side.
func TestStepAB(t *testing.T) {
	if os.Getenv("LORA_STEP_AB") == "" {
		t.Skip("set LORA_STEP_AB=1 to measure")
	}
	n := 15
	if s := os.Getenv("LORA_STEP_AB_STEPS"); s != "" {
		if _, err := fmtSscan(s, &n); err != nil {
			t.Fatal(err)
		}
	}
	for _, method := range []Method{MethodLoRA, MethodBias} {
		a, b := benchTrainer(t, method), benchTrainer(t, method)
		a.Model.SetTransposeCache(true)
		var best [2]time.Duration
		for i := 0; i < n+2; i++ {
			for j, tr := range []*Trainer{a, b} {
				t0 := time.Now()
				if _, err := tr.Step(); err != nil {
					t.Fatal(err)
				}
				if d := time.Since(t0); i >= 2 && (best[j] == 0 || d < best[j]) { // 2 warm-up steps
					best[j] = d
				}
			}
		}
		t.Logf("%s: cached Wᵀ %.1f ms/step, transposing each step %.1f ms/step: ×%.3f (best of %d alternating steps)",
			method, float64(best[0].Microseconds())/1e3, float64(best[1].Microseconds())/1e3, float64(best[1])/float64(best[0]), n)
	}
}

func fmtSscan(s string, n *int) (int, error) { return fmt.Sscan(s, n) }
