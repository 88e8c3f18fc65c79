package app

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// References is the committed fine-tuning results table
// (models-tiny/results.json, served as results.json): every configuration
// measured natively with the CLI by `go run ./models-tiny/results`. The
// comparison panel shows the rows for the selected model and task beside
// the learner's own runs.
type References struct {
	GeneratedBy string         `json:"generated_by"`
	Machine     string         `json:"machine"`
	Rows        []ReferenceRow `json:"rows"`
}

// ReferenceRow is one measured run of results.json.
type ReferenceRow struct {
	Task            string   `json:"task"`
	Model           string   `json:"model"`
	Method          string   `json:"method"` // none, lora, full, bias
	Rank            int      `json:"rank"`
	Alpha           float64  `json:"alpha"`
	Targets         []string `json:"targets"`
	Steps           int      `json:"steps"`
	LR              float64  `json:"lr"`
	TrainableParams int64    `json:"trainable_params"`
	TotalParams     int64    `json:"total_params"`
	ValLoss         float64  `json:"val_loss"`
	ValLossBase     float64  `json:"val_loss_base"`
	Accuracy        *float64 `json:"accuracy"`
	WallSeconds     float64  `json:"wall_seconds"`
	TokensPerSec    float64  `json:"tokens_per_sec"`
}

// ParseReferences reads results.json. An empty table is not an error: the
// panel then shows nothing.
func ParseReferences(b []byte) (*References, error) {
	var r References
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("results.json: %w", err)
	}
	return &r, nil
}

// ReferenceRows are the reference runs for the selected model and task, in
// the file's order.
func (a *App) ReferenceRows() []ReferenceRow {
	if a.References == nil {
		return nil
	}
	var out []ReferenceRow
	for _, r := range a.References.Rows {
		if r.Model == a.State.Model && r.Task == a.State.Task {
			out = append(out, r)
		}
	}
	return out
}

// MethodText is the row's method as the runs table names it.
func (r ReferenceRow) MethodText() string {
	if r.Method == "none" {
		return "base (no training)"
	}
	return r.Method
}

// RankText is r for LoRA rows, a dash otherwise.
func (r ReferenceRow) RankText() string {
	if r.Method != "lora" || r.Rank == 0 {
		return "—"
	}
	return fmt.Sprint(r.Rank)
}

// TargetsText names what trains, like the runs table.
func (r ReferenceRow) TargetsText() string {
	switch r.Method {
	case "none":
		return "nothing"
	case "full":
		return "all weights"
	case "bias":
		return "biases"
	}
	var t []string
	for _, m := range r.Targets {
		t = append(t, strings.TrimSuffix(m, "_proj"))
	}
	return strings.Join(t, ", ")
}

// AccuracyText is the exact-match accuracy, or a dash for tasks without one.
func (r ReferenceRow) AccuracyText() string {
	if r.Accuracy == nil || math.IsNaN(*r.Accuracy) {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", 100**r.Accuracy)
}

// TimeText is the run's wall time natively.
func (r ReferenceRow) TimeText() string {
	if r.WallSeconds <= 0 {
		return "—"
	}
	d := time.Duration(r.WallSeconds * float64(time.Second))
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// LRText is the learning rate, a dash for the untrained base.
func (r ReferenceRow) LRText() string {
	if r.LR <= 0 {
		return "—"
	}
	return fmt.Sprintf("%g", r.LR)
}

// SpeedText is the measured training speed.
func (r ReferenceRow) SpeedText() string {
	if r.TokensPerSec <= 0 {
		return "—"
	}
	return Grouped(int64(math.Round(r.TokensPerSec)))
}
