package protocol

import (
	"fmt"
	"time"
)

// Experiments (the LoRA paper's Table 5 and Table 6, package
// core/experiment) run in a worker of their own — a second instance of the
// trainer worker — so the learner's current run is never touched.
//
//	experiment_start   experiment: ExperimentSpec. Loads the model and task
//	                   (once), plans the runs and starts them; the reply
//	                   "experiment_start" carries experiment: ExperimentStatus
//	                   with the plan. Refused while another experiment runs.
//	experiment_cancel  Stops after the current slice; runs that finished keep
//	                   their results. Reply "experiment_cancel" with the final
//	                   status (running false, cancelled true).
//
// While it runs, the worker posts "experiment_progress" events (at most
// every ExperimentEvery, and whenever a run finishes) and, at the end, an
// "experiment_progress" event with running false. Every status carries all
// results so far, so a lost event loses nothing.
const (
	TypeExperimentStart    = "experiment_start"
	TypeExperimentCancel   = "experiment_cancel"
	TypeExperimentProgress = "experiment_progress" // event
)

// Experiment kinds.
const (
	ExperimentTargets = "targets" // which weights to adapt under one budget (paper Table 5)
	ExperimentRanks   = "ranks"   // rank sweep with full fine-tuning and frozen base (Table 6)
)

// ExperimentEvery is the least time between two progress events.
const ExperimentEvery = 250 * time.Millisecond

// MaxExperimentSteps bounds the steps of each run of an experiment.
const MaxExperimentSteps = 5000

// ExperimentSpec asks for an experiment. Zero fields take the defaults of
// core/experiment.DefaultConfig.
type ExperimentSpec struct {
	Kind   string  `json:"kind"`  // "targets" or "ranks"
	Model  string  `json:"model"` // "nano", "tiny"
	Task   string  `json:"task"`  // a built-in task
	Steps  int     `json:"steps"` // per run
	LR     float64 `json:"lr,omitempty"`
	FullLR float64 `json:"full_lr,omitempty"`
	Alpha  float64 `json:"alpha,omitempty"` // the same for every run
	Batch  int     `json:"batch,omitempty"`
	Seed   int64   `json:"seed,omitempty"`

	R1 int `json:"r1,omitempty"` // targets: rank of one matrix type (multiple of 4; default 8)

	Ranks   []int    `json:"ranks,omitempty"`   // ranks: default 1, 2, 4, 8, 16, 64
	Targets []string `json:"targets,omitempty"` // ranks: default q_proj, v_proj
	Full    bool     `json:"full,omitempty"`    // ranks: add full fine-tuning
	Frozen  bool     `json:"frozen,omitempty"`  // ranks: add the frozen base
}

// Validate checks what the UI can check before sending.
func (s ExperimentSpec) Validate() error {
	if s.Kind != ExperimentTargets && s.Kind != ExperimentRanks {
		return fmt.Errorf("experiment: kind %q; use %q or %q", s.Kind, ExperimentTargets, ExperimentRanks)
	}
	if s.Steps < 1 || s.Steps > MaxExperimentSteps {
		return fmt.Errorf("experiment: steps must be between 1 and %d, got %d", MaxExperimentSteps, s.Steps)
	}
	return nil
}

// ExperimentRun is one planned run.
type ExperimentRun struct {
	Label     string   `json:"label"`  // "W_q,W_v r=4", "full fine-tuning", "frozen base"
	Method    string   `json:"method"` // lora, full, none
	Targets   []string `json:"targets,omitempty"`
	Rank      int      `json:"rank,omitempty"`
	FullRank  bool     `json:"full_rank,omitempty"` // r equals the weights' smaller side
	Trainable int      `json:"trainable"`           // trainable parameters (full: every weight)
}

// ExperimentResult is what a finished run reached. Losses are nats per
// counted token; nil when not measured.
type ExperimentResult struct {
	ExperimentRun
	Steps        int      `json:"steps"`
	TrainLoss    *float64 `json:"train_loss,omitempty"`
	ValLoss      *float64 `json:"val_loss,omitempty"`
	BestValLoss  *float64 `json:"best_val_loss,omitempty"`
	Accuracy     *float64 `json:"accuracy,omitempty"` // exact match, for tasks with that metric
	WallSeconds  float64  `json:"wall_seconds"`
	TokensPerSec float64  `json:"tokens_per_sec"`
	Error        string   `json:"error,omitempty"` // why the run stopped early
}

// ExperimentStatus is an experiment's plan, progress and results.
type ExperimentStatus struct {
	Kind    string          `json:"kind"`
	Model   string          `json:"model"`
	Task    string          `json:"task"`
	Budget  int             `json:"budget,omitempty"` // targets: every run's trainable parameters
	Steps   int             `json:"steps"`            // per run
	Alpha   float64         `json:"alpha"`
	Plan    []ExperimentRun `json:"plan"`
	Dropped []int           `json:"dropped,omitempty"` // ranks above the weights' smaller side, left out
	Note    string          `json:"note,omitempty"`    // why they were left out

	Run     int     `json:"run"`   // index of the run in progress (= len(plan) when done)
	Phase   string  `json:"phase"` // train, eval, accuracy, done
	Step    int     `json:"step"`  // of the run in progress
	Loss    float64 `json:"loss"`  // its last training loss (0 before the first step)
	Running bool    `json:"running"`
	// Cancelled: stopped by experiment_cancel; Results holds the runs that
	// had finished.
	Cancelled bool               `json:"cancelled,omitempty"`
	Results   []ExperimentResult `json:"results"`
	Seconds   float64            `json:"seconds"` // since the start
}
