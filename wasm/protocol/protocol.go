package protocol

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// Version is the protocol version carried in every message as "v". It
// changes whenever a message's meaning changes incompatibly.
const Version = 1

// Limits that both sides can check before sending.
const (
	// MaxCustomBytes bounds a custom dataset (pasted or uploaded).
	MaxCustomBytes = 2 << 20
	// MaxStepN bounds one step request; use play for longer runs.
	MaxStepN = 100000
	// MaxSampleTokens bounds one sample request. Sampling is not sliced
	// like training, so this bounds how long it holds the worker: 2×256
	// tokens of the nano model took ~0.3 s in wasm (node) on a loaded 2-core
	// machine.
	MaxSampleTokens = 256
	// MaxEvalRows is the number of validation rows (examples, or windows of
	// text) the worker evaluates; larger validation sets use their first
	// MaxEvalRows rows, and the eval message says so.
	MaxEvalRows = 64
	// ChunkBudget is how long one training chunk may run before the worker
	// yields to the JS event loop (a chunk always takes at least one step).
	ChunkBudget = 50 * time.Millisecond
	// SnapshotInterval is the least time between two snapshot events.
	SnapshotInterval = 300 * time.Millisecond
)

// Request types (UI → worker).
const (
	TypeConfigure    = "configure"
	TypeLoadData     = "load_data"
	TypePlay         = "play"
	TypePause        = "pause"
	TypeStep         = "step"
	TypeReset        = "reset"
	TypeEvaluate     = "evaluate"
	TypeSample       = "sample"
	TypeMerge        = "merge"
	TypeUnmerge      = "unmerge"
	TypeExport       = "export"
	TypeImport       = "import"
	TypeSnapshot     = "snapshot"
	TypeInspect      = "inspect"
	TypeSaveState    = "save_state"
	TypeRestoreState = "restore_state"
	TypeStatus       = "status"
)

// Event types (worker → UI, re 0). Replies use the request's type, or
// TypeError.
const (
	TypeReady    = "ready"
	TypeProgress = "progress"
	TypeEval     = "eval"
	TypeError    = "error"
	// TypeSnapshot and TypeStatus are also events.
)

// RequestTypes lists every request type.
var RequestTypes = []string{TypeConfigure, TypeLoadData, TypePlay, TypePause, TypeStep, TypeReset,
	TypeEvaluate, TypeSample, TypeMerge, TypeUnmerge, TypeExport, TypeImport, TypeSnapshot,
	TypeInspect, TypeSaveState, TypeRestoreState, TypeStatus,
	TypeExperimentStart, TypeExperimentCancel, TypeWorkers}

// CustomTask is the task name of the learner's own text.
const CustomTask = "custom"

// RunConfig is everything that defines a training run. The first group
// mirrors the UI's controls; the second has defaults (used when zero) that
// the UI need not expose.
type RunConfig struct {
	Model   string   `json:"model"`   // base model: "nano" or "tiny" (a folder under models/)
	Task    string   `json:"task"`    // "e2e", "verse", "reverse" or "custom"
	Method  string   `json:"method"`  // "lora", "adaptive", "full", "bias" or "none"
	Rank    int      `json:"rank"`    // LoRA r
	Alpha   float64  `json:"alpha"`   // LoRA α; ΔW is scaled by α/r (α/√r with rslora)
	RSLoRA  bool     `json:"rslora"`  // rank-stabilised scaling
	Dropout float64  `json:"dropout"` // LoRA dropout on the adapter's input, [0, 1)
	Targets []string `json:"targets"` // modules to adapt: q_proj k_proj v_proj o_proj up_proj down_proj
	LR      float64  `json:"lr"`      // peak learning rate (AdamW, warmup then cosine)
	Batch   int      `json:"batch"`   // sequences per step
	Seed    int64    `json:"seed"`    // seeds adapter init, batch order, dropout
	Steps   int      `json:"steps"`   // schedule length; play stops here

	SeqLen    int `json:"seq_len,omitempty"`    // tokens per sequence; default: the model's context for text, the longest example (rounded up to 8) for prompt/completion
	Warmup    int `json:"warmup,omitempty"`     // warmup steps; default min(20, steps/10)
	EvalEvery int `json:"eval_every,omitempty"` // evaluate every this many steps while training; default 50, -1 never

	Adaptive *AdaptiveConfig `json:"adaptive,omitempty"` // method "adaptive" (adaptive.go)
}

// Request is one message from the UI to the worker.
type Request struct {
	V    int    `json:"v"`
	ID   int    `json:"id"`
	Type string `json:"type"`

	Config   *RunConfig `json:"config,omitempty"`    // configure
	Task     string     `json:"task,omitempty"`      // load_data
	FileName string     `json:"file_name,omitempty"` // load_data with task "custom"
	N        int        `json:"n,omitempty"`         // step

	// sample
	Prompt      string  `json:"prompt,omitempty"`
	Tokens      int     `json:"tokens,omitempty"`
	Seed        uint64  `json:"seed,omitempty"`
	Temperature float64 `json:"temperature,omitempty"`

	Module string `json:"module,omitempty"` // inspect

	Experiment *ExperimentSpec `json:"experiment,omitempty"` // experiment_start (experiment.go)
	Analysis   *AnalysisSpec   `json:"analysis,omitempty"`   // analysis_*, subspace, amplify, combine (analysis.go)
	Shard      *Shard          `json:"shard,omitempty"`      // shard_config (worker to worker; shards.go)

	// Data is the binary payload: the custom dataset (load_data), the
	// archive (import) or the saved state (restore_state). It travels as
	// the envelope's ArrayBuffer, not in the JSON.
	Data []byte `json:"-"`
}

// Message is one message from the worker to the UI: a reply (Re = the
// request's ID) or an event (Re = 0).
type Message struct {
	V    int    `json:"v"`
	Re   int    `json:"re"`
	Type string `json:"type"`

	Message  string    `json:"message,omitempty"` // error
	Status   *Status   `json:"status,omitempty"`
	History  *History  `json:"history,omitempty"` // restore_state
	Progress *Progress `json:"progress,omitempty"`
	Eval     *Eval     `json:"eval,omitempty"`
	Sample   *Sample   `json:"sample,omitempty"`
	Merge    *Merge    `json:"merge,omitempty"`
	Export   *Export   `json:"export,omitempty"`
	Snapshot *Snapshot `json:"snapshot,omitempty"`
	Inspect  *Inspect  `json:"inspect,omitempty"`
	Saved    *Saved    `json:"saved,omitempty"`
	Shard    *Shard    `json:"shard,omitempty"` // shard_config replies (shards.go)

	Experiment *ExperimentStatus `json:"experiment,omitempty"` // experiment_* (experiment.go)
	Analysis   *AnalysisResult   `json:"analysis,omitempty"`   // analysis_*, subspace, amplify, combine (analysis.go)

	// Data is the binary payload: the archive (export), the saved state
	// (save_state) or packed float32 tensors (snapshot, inspect).
	Data []byte `json:"-"`

	// Frame, when set, is the whole message: a shard frame (shards.go),
	// posted as a bare ArrayBuffer, between workers only.
	Frame []byte `json:"-"`
}

// Status is the whole state of the worker's session, sent after anything
// that changes it.
type Status struct {
	Config  *RunConfig `json:"config,omitempty"` // nil before configure
	Model   *ModelInfo `json:"model,omitempty"`
	Data    *DataInfo  `json:"data,omitempty"`
	Ready   bool       `json:"ready"`   // model, config and data present: training can start
	Step    int        `json:"step"`    // steps taken in this run
	Running bool       `json:"running"` // playing, or working through a step request
	Merged  bool       `json:"merged"`  // ΔW is folded into W
	Halted  string     `json:"halted,omitempty"`

	TrainableParams int `json:"trainable_params"`
	FrozenParams    int `json:"frozen_params"`
	AdapterBytes    int `json:"adapter_bytes"`   // float32 bytes of the trainable tensors
	OptimizerBytes  int `json:"optimizer_bytes"` // AdamW moments

	Adaptive *AdaptiveStatus `json:"adaptive,omitempty"` // method "adaptive" (adaptive.go)
	Workers  *Workers        `json:"workers,omitempty"`  // data-parallel workers (shards.go)
}

// ModelInfo describes the loaded base model.
type ModelInfo struct {
	Name      string `json:"name"`
	NLayer    int    `json:"n_layer"`
	NEmbd     int    `json:"n_embd"`
	NHead     int    `json:"n_head"`
	NCtx      int    `json:"n_ctx"`
	VocabSize int    `json:"vocab_size"`
	Params    int    `json:"params"`
}

// DataInfo describes the loaded dataset.
type DataInfo struct {
	Task          string `json:"task"`
	FileName      string `json:"file_name,omitempty"` // custom only
	Kind          string `json:"kind"`                // "text" or "prompt_completion"
	Metric        string `json:"metric,omitempty"`    // "exact_match" or ""
	TrainExamples int    `json:"train_examples"`
	ValExamples   int    `json:"val_examples"`
	TrainTokens   int    `json:"train_tokens"`
	ValTokens     int    `json:"val_tokens"`
	Truncated     int    `json:"truncated"` // examples that lost the start of their prompt
	// Unknown is the report of characters outside the model's vocabulary
	// (trained on as <unk>), "" when there are none. It is never dropped.
	Unknown string `json:"unknown,omitempty"`
	// EvalRows and ValRows: rows evaluated out of one validation pass.
	EvalRows int `json:"eval_rows"`
	ValRows  int `json:"val_rows"`
	// SamplePrompt is a prompt in the task's own format for the samples
	// panel: the first validation example's prompt, or the opening words of
	// the validation text.
	SamplePrompt string `json:"sample_prompt,omitempty"`
}

// LossPoint is one training step's loss.
type LossPoint struct {
	Step int     `json:"step"`
	Loss float64 `json:"loss"`
}

// Progress reports a training chunk.
type Progress struct {
	Step         int         `json:"step"` // steps taken so far
	Loss         float64     `json:"loss"` // last step's training loss
	GradNorm     float64     `json:"grad_norm"`
	LR           float64     `json:"lr"`
	TokensPerSec float64     `json:"tokens_per_sec"` // measured over the chunk
	ChunkMillis  float64     `json:"chunk_ms"`       // the chunk's wall time
	Running      bool        `json:"running"`
	Points       []LossPoint `json:"points"` // every step of the chunk

	Adaptive *AdaptiveStatus `json:"adaptive,omitempty"` // method "adaptive": ranks after the chunk
}

// Eval is a validation measurement.
type Eval struct {
	Step    int     `json:"step"`
	ValLoss float64 `json:"val_loss"`
	// Metric is "exact_match" when the task has one; Accuracy is then the
	// share of the first AccuracyRows validation prompts completed exactly.
	Metric       string  `json:"metric,omitempty"`
	Accuracy     float64 `json:"accuracy"`
	AccuracyRows int     `json:"accuracy_rows,omitempty"`
	Rows         int     `json:"rows"`     // validation rows in the loss
	ValRows      int     `json:"val_rows"` // rows in the full validation pass
	Note         string  `json:"note,omitempty"`
	Millis       float64 `json:"ms"`
}

// History is a run's record, returned by restore_state.
type History struct {
	Losses []LossPoint `json:"losses"`
	Evals  []Eval      `json:"evals"`
}

// Sample is the same generation from the base and the adapted model.
type Sample struct {
	Prompt      string  `json:"prompt"`
	Base        string  `json:"base"`    // adapters disabled (for full/bias: the original weights)
	Adapted     string  `json:"adapted"` // the model being trained
	Seed        uint64  `json:"seed"`
	Temperature float64 `json:"temperature"`
	Tokens      int     `json:"tokens"`
	Unknown     string  `json:"unknown,omitempty"` // characters of the prompt outside the vocabulary
}

// LayerShape is an adapted layer's weight shape before and after merging.
type LayerShape struct {
	Module string `json:"module"`
	Before [2]int `json:"before"` // [out, in]
	After  [2]int `json:"after"`
}

// Merge reports a merge.
type Merge struct {
	MaxLogitDiff float64      `json:"max_logit_diff"` // max |logit merged − logit unmerged| over the probe batch
	ProbeTokens  int          `json:"probe_tokens"`
	Shapes       []LayerShape `json:"shapes"`
	Millis       float64      `json:"ms"` // time to merge
}

// Export describes an exported adapter; the archive is the payload.
type Export struct {
	FileName string `json:"file_name"`
	Bytes    int    `json:"bytes"`
}

// Saved describes a save_state payload.
type Saved struct {
	Step  int `json:"step"`
	Bytes int `json:"bytes"`
}

// Tensor locates a matrix in a packed float32 payload: Rows×Cols values,
// row-major, starting at float32 element Offset.
type Tensor struct {
	Name   string  `json:"name"` // module path, e.g. "h.0.attn.q_proj"
	Rows   int     `json:"rows"`
	Cols   int     `json:"cols"`
	Offset int     `json:"offset"`
	MaxAbs float64 `json:"max_abs"` // largest |value|, for a symmetric colour scale
}

// Snapshot lists the ΔW of every adapted matrix at Step.
type Snapshot struct {
	Step   int      `json:"step"`
	Method string   `json:"method"`
	Rank   int      `json:"rank,omitempty"`
	Scale  float64  `json:"scale,omitempty"` // s in ΔW = s·B·A
	Layers int      `json:"layers"`
	Deltas []Tensor `json:"deltas"`
}

// Inspect is one module in detail.
type Inspect struct {
	Step   int     `json:"step"`
	Module string  `json:"module"`
	Rank   int     `json:"rank,omitempty"` // r (LoRA)
	Scale  float64 `json:"scale,omitempty"`
	Delta  Tensor  `json:"delta"`       // ΔW (Out×In)
	A      *Tensor `json:"a,omitempty"` // A (r×In), LoRA only
	B      *Tensor `json:"b,omitempty"` // B (Out×r), LoRA only
	// Singular values of ΔW, largest first (all min(Out, In) of them).
	Singular []float64 `json:"singular"`
	// NumericalRank counts singular values above Tol = σ₁·max(Out,In)·ε(float32);
	// for LoRA it is at most r.
	NumericalRank int     `json:"numerical_rank"`
	Tol           float64 `json:"tol"`
}

// Encode returns r's JSON text and binary payload. V is set to Version.
func (r Request) Encode() (jsonText, payload []byte, err error) {
	r.V = Version
	b, err := json.Marshal(r)
	return b, r.Data, err
}

// Encode returns m's JSON text and binary payload. V is set to Version.
func (m Message) Encode() (jsonText, payload []byte, err error) {
	m.V = Version
	if m.Progress != nil && m.Progress.Points == nil {
		p := *m.Progress // the caller's value is not modified
		p.Points = []LossPoint{}
		m.Progress = &p
	}
	b, err := json.Marshal(m)
	return b, m.Data, err
}

// DecodeRequest parses a request envelope. Unknown fields are an error (a
// misspelt field is a bug, not a default), and so is another version.
func DecodeRequest(jsonText, payload []byte) (Request, error) {
	var r Request
	if err := strictUnmarshal(jsonText, &r); err != nil {
		return Request{}, fmt.Errorf("protocol: bad request: %v", err)
	}
	if r.V != Version {
		return Request{}, fmt.Errorf("protocol: request version %d, this worker speaks version %d (reload the page)", r.V, Version)
	}
	if r.Type == "" {
		return Request{}, errors.New("protocol: request without a type")
	}
	if len(payload) > 0 {
		r.Data = payload
	}
	return r, nil
}

// DecodeMessage parses a worker message envelope. Unknown fields are
// ignored so that a newer worker's additions do not break an older UI;
// another version is an error.
func DecodeMessage(jsonText, payload []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(jsonText, &m); err != nil {
		return Message{}, fmt.Errorf("protocol: bad message: %v", err)
	}
	if m.V != Version {
		return Message{}, fmt.Errorf("protocol: message version %d, this page speaks version %d (reload the page)", m.V, Version)
	}
	if len(payload) > 0 {
		m.Data = payload
	}
	return m, nil
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// AppendFloat32s appends v to dst as little-endian float32 bytes and
// returns the extended slice and the float32 offset at which v starts.
func AppendFloat32s(dst []byte, v []float32) ([]byte, int) {
	off := len(dst) / 4
	for _, x := range v {
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(x))
	}
	return dst, off
}

// Float32s returns the Rows×Cols values of t from a packed payload, or an
// error if t does not lie inside it.
func (t Tensor) Float32s(payload []byte) ([]float32, error) {
	n := t.Rows * t.Cols
	if t.Offset < 0 || t.Rows < 0 || t.Cols < 0 || (t.Offset+n)*4 > len(payload) {
		return nil, fmt.Errorf("protocol: tensor %s (%d×%d at %d) is outside the %d-byte payload", t.Name, t.Rows, t.Cols, t.Offset, len(payload))
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(payload[(t.Offset+i)*4:]))
	}
	return out, nil
}
