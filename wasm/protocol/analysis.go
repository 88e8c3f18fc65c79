package protocol

import (
	"fmt"
	"time"
)

// The LoRA paper's §7 analyses and adapter combination (package
// core/analysis), run by the worker on the learner's adapter ("A", the
// current LoRA run) and a second adapter ("B", the other adapter):
//
//	analysis_load    The payload is a PEFT archive made for the loaded base
//	                 model; it becomes B. Reply "analysis_load" with
//	                 analysis.other. Nothing changes on error.
//	analysis_train   analysis: rank, seed, steps (0: the run's). Trains B in
//	                 the background on the run's model, task and settings
//	                 with that rank and seed (α stays the run's, as in the
//	                 paper), in slices like training; the learner's run is
//	                 untouched and waits. Reply "analysis_train" at once
//	                 with analysis.progress, then "analysis_progress" events
//	                 (at most every AnalysisEvery, and a last one with
//	                 running false and analysis.other set). Refused while
//	                 another analysis_train runs.
//	analysis_cancel  Stops analysis_train after the current slice; B is
//	                 unchanged. Reply "analysis_cancel" with analysis.progress
//	                 (running false, cancelled true).
//	subspace         analysis: module (default: the first module A and B
//	                 both adapt). Reply "subspace" with analysis.subspace:
//	                 φ(A_A, A_B, i, j) and a random-Gaussian baseline.
//	amplify          Reply "amplify" with analysis.amplify: Table 7 for every
//	                 adapted matrix of A against the pristine base weights.
//	combine          analysis: method ("cat" or "linear"), weights [w_A, w_B],
//	                 and prompt, tokens, sample_seed, temperature. Reply
//	                 "combine" with analysis.combine: the blend's per-module
//	                 error against w_A·ΔW_A + w_B·ΔW_B, and the same sample
//	                 from the base model, A, B and the blend (each applied to
//	                 a copy of the loaded base; nothing is reloaded and the
//	                 run is untouched).
//
// A must be a LoRA run (step 0 is allowed but ΔW = 0 there); B must have
// been loaded or trained for subspace and combine.
const (
	TypeAnalysisLoad     = "analysis_load"
	TypeAnalysisTrain    = "analysis_train"
	TypeAnalysisCancel   = "analysis_cancel"
	TypeSubspace         = "subspace"
	TypeAmplify          = "amplify"
	TypeCombine          = "combine"
	TypeAnalysisProgress = "analysis_progress" // event
)

// AnalysisEvery is the least time between two analysis_progress events.
const AnalysisEvery = 200 * time.Millisecond

// MaxAnalysisSteps bounds analysis_train.
const MaxAnalysisSteps = 5000

func init() {
	RequestTypes = append(RequestTypes, TypeAnalysisLoad, TypeAnalysisTrain, TypeAnalysisCancel,
		TypeSubspace, TypeAmplify, TypeCombine)
}

// AnalysisSpec is the request's analysis field.
type AnalysisSpec struct {
	Module string `json:"module,omitempty"` // subspace

	Rank  int   `json:"rank,omitempty"`  // analysis_train: B's rank
	Seed  int64 `json:"seed,omitempty"`  // analysis_train: B's seed
	Steps int   `json:"steps,omitempty"` // analysis_train: 0 = the run's steps

	Method      string    `json:"method,omitempty"`  // combine: "cat" or "linear"
	Weights     []float64 `json:"weights,omitempty"` // combine: [w_A, w_B]
	Prompt      string    `json:"prompt,omitempty"`  // combine: sample prompt ("" = no samples)
	Tokens      int       `json:"tokens,omitempty"`
	SampleSeed  uint64    `json:"sample_seed,omitempty"`
	Temperature float64   `json:"temperature,omitempty"`
}

// Validate checks what the UI can check before sending.
func (a AnalysisSpec) Validate(typ string) error {
	switch typ {
	case TypeAnalysisTrain:
		if a.Rank < 0 || a.Steps < 0 || a.Steps > MaxAnalysisSteps {
			return fmt.Errorf("analysis_train: rank and steps must not be negative (0 takes the run's), and steps at most %d", MaxAnalysisSteps)
		}
	case TypeCombine:
		if a.Method != "cat" && a.Method != "linear" {
			return fmt.Errorf("combine: method %q; use \"cat\" or \"linear\"", a.Method)
		}
		if len(a.Weights) != 2 {
			return fmt.Errorf("combine: %d weights; give [w_A, w_B]", len(a.Weights))
		}
		if a.Tokens < 0 || a.Tokens > MaxSampleTokens {
			return fmt.Errorf("combine: tokens must be between 0 and %d", MaxSampleTokens)
		}
	}
	return nil
}

// OtherAdapter describes adapter B.
type OtherAdapter struct {
	Source  string   `json:"source"` // "imported lora-x.zip" or "trained here: r=64, seed 2, 300 steps"
	Rank    int      `json:"rank"`   // the config's r (rank_pattern may vary it per module)
	Alpha   float64  `json:"alpha"`
	Targets []string `json:"targets"`
	Modules []string `json:"modules"`
}

// AnalysisProgress reports analysis_train.
type AnalysisProgress struct {
	Rank      int     `json:"rank"`
	Seed      int64   `json:"seed"`
	Step      int     `json:"step"`
	Steps     int     `json:"steps"`
	Loss      float64 `json:"loss"` // last training loss (0 before the first step)
	Running   bool    `json:"running"`
	Cancelled bool    `json:"cancelled,omitempty"`
	Error     string  `json:"error,omitempty"`
}

// SubspaceResult is φ(A_A, A_B, i, j) on one module: Phi[i-1][j-1] for
// i = 1..R1 (A's directions), j = 1..R2 (B's).
type SubspaceResult struct {
	Module         string      `json:"module"`
	Modules        []string    `json:"modules"` // every module both adapt
	K              int         `json:"k"`       // input dimension
	R1             int         `json:"r1"`
	R2             int         `json:"r2"`
	Phi            [][]float64 `json:"phi"`
	Baseline       [][]float64 `json:"baseline"` // two Gaussian A of the same shapes
	Top            float64     `json:"top"`      // φ(1,1)
	TopRandom      float64     `json:"top_random"`
	ExpectedRandom float64     `json:"expected_random"` // 1/k: E φ(1,1) for random subspaces
}

// AmplifyRow is Table 7 for one matrix: ‖UᵀWV‖_F with U, V the top-r
// singular vectors of ΔW, of W, and random; Factor = ‖ΔW‖_F/ProjDelta.
type AmplifyRow struct {
	Module     string  `json:"module"`
	R          int     `json:"r"`
	NormW      float64 `json:"norm_w"`
	NormDelta  float64 `json:"norm_delta"`
	ProjDelta  float64 `json:"proj_delta"`
	ProjW      float64 `json:"proj_w"`
	ProjRandom float64 `json:"proj_random"`
	Factor     float64 `json:"factor"` // 0 when undefined
}

// AmplifyResult is Table 7 for the learner's adapter, with the paper's rows.
type AmplifyResult struct {
	Step   int          `json:"step"`
	Layers []AmplifyRow `json:"layers"`
	Paper  []AmplifyRow `json:"paper"` // GPT-3 175B, layer 48, W_q, r = 4 and 64
	Note   string       `json:"note,omitempty"`
}

// CombineModule is the blend on one module.
type CombineModule struct {
	Module string  `json:"module"`
	R      int     `json:"r"`
	Exact  float64 `json:"exact_norm"` // ‖w_A·ΔW_A + w_B·ΔW_B‖_F
	Norm   float64 `json:"norm"`       // ‖ΔW_blend‖_F
	RelErr float64 `json:"rel_err"`
}

// CombineResult is a blend and its samples.
type CombineResult struct {
	Method  string          `json:"method"`
	Weights []float64       `json:"weights"`
	Modules []CombineModule `json:"modules"`
	// Samples from the same prompt and seed; empty without a prompt.
	Prompt string `json:"prompt,omitempty"`
	Base   string `json:"base,omitempty"`
	A      string `json:"a,omitempty"`
	B      string `json:"b,omitempty"`
	Blend  string `json:"blend,omitempty"`
}

// AnalysisResult is the message's analysis field.
type AnalysisResult struct {
	Other    *OtherAdapter     `json:"other,omitempty"`
	Progress *AnalysisProgress `json:"progress,omitempty"`
	Subspace *SubspaceResult   `json:"subspace,omitempty"`
	Amplify  *AmplifyResult    `json:"amplify,omitempty"`
	Combine  *CombineResult    `json:"combine,omitempty"`
}
