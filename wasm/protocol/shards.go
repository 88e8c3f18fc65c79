package protocol

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// More cores: the training worker (the "primary") trains data-parallel with
// shard workers it starts itself, nested Web Workers running the same
// trainer. The UI only chooses how many:
//
//	workers       n: the number of workers to train with, the primary
//	              included (1..MaxWorkers). The primary starts or stops shard
//	              workers in the background and keeps the run: nothing is
//	              reset. Reply "workers" with status; status.workers says how
//	              many are training now and why fewer, if fewer.
//
// The primary talks to each shard with two more request types, in the same
// envelopes; the UI never sends them:
//
//	shard_config  shard: {gen, config}. Load config.model and build a trainer
//	              for the configuration (it has no data of its own). Reply
//	              "shard_config" with shard {gen}.
//	shard_grad    a job: not JSON but a shard frame (below) of kind
//	              FrameJob: core/train's ShardJob (the trainer's state when
//	              the shard joins, the other workers' gradients of a step,
//	              the shard's rows of a step). When the shard can compute
//	              its rows it replies with a FrameGrad frame (its
//	              gradient); if a job fails, with an ordinary JSON "error"
//	              message with re = the job's id, and the primary drops it.
//
// A reply whose gen is not the latest shard_config's is a bug, reported as
// an error. See core/train (Shard) for the arithmetic.
const (
	TypeWorkers     = "workers"
	TypeShardConfig = "shard_config"
	TypeShardGrad   = "shard_grad"
)

// MaxWorkers bounds the worker count: each worker holds its own copy of the
// model and a Go runtime, and past the machine's cores more only contend.
const MaxWorkers = 8

// Workers is the worker count in a status.
type Workers struct {
	Requested int `json:"requested"` // what the last workers request asked for
	// Active is the number of workers computing each step now: the
	// primary and the shards that are configured and answering, at most
	// the batch size. 1 until the shards have loaded the model.
	Active   int    `json:"active"`
	Starting int    `json:"starting,omitempty"` // shards still loading
	Note     string `json:"note,omitempty"`     // why fewer than requested, e.g. a shard that failed
	// Where a data-parallel step's time goes, averaged over the steps
	// since the last status: the shards' own compute per job, and how long
	// the primary waited for their gradients after computing its own rows
	// and sending its gradient (the messaging overhead, when the shards are
	// no slower than it).
	ShardMillis float64 `json:"shard_ms,omitempty"`
	WaitMillis  float64 `json:"wait_ms,omitempty"`
	// OwnMillis is the primary's own rows' compute per step.
	OwnMillis float64 `json:"own_ms,omitempty"`
	// Rows is how many of the last step's rows each of the Active workers
	// was given, the primary first (a failed shard's rows are computed by
	// the primary). Workers that measure as equally fast get an even cut;
	// a slower one gets fewer rows (core/train, rowcut.go). Absent when no
	// step was taken since the last status, or one worker trains.
	Rows []int `json:"rows,omitempty"`
	// UnevenSteps counts the steps since the last status whose rows were
	// not cut evenly, CutChanges those cut otherwise than the last step
	// with as many workers.
	UnevenSteps int `json:"uneven_steps,omitempty"`
	CutChanges  int `json:"cut_changes,omitempty"`
	// Exchange is how the training shards get their jobs and return
	// gradients: ExchangeSharedMemory (a cross-origin isolated page:
	// SharedArrayBuffer lanes, woken by Atomics) or ExchangeMessages
	// (postMessage). Empty while one worker trains.
	Exchange string `json:"exchange,omitempty"`
}

// Workers.Exchange values.
const (
	ExchangeSharedMemory = "shared memory"
	ExchangeMessages     = "messages"
)

// ShardConfig is what a shard needs to compute gradients like the primary
// and to take the same optimiser steps: the base model and the trainable
// parameters' shapes (method and LoRA configuration), the seed (it keys the
// dropout masks), the largest job, and AdamW's schedule, decay and
// clipping.
type ShardConfig struct {
	Model        string             `json:"model"`
	Method       string             `json:"method"`
	Rank         int                `json:"rank,omitempty"`
	Alpha        float64            `json:"alpha,omitempty"`
	RSLoRA       bool               `json:"rslora,omitempty"`
	Dropout      float64            `json:"dropout,omitempty"`
	Targets      []string           `json:"targets,omitempty"`
	RankPattern  map[string]int     `json:"rank_pattern,omitempty"`
	AlphaPattern map[string]float64 `json:"alpha_pattern,omitempty"`
	Seed         uint64             `json:"seed"`
	SeqLen       int                `json:"seq_len"`
	Batch        int                `json:"batch"` // most rows a job may have

	LR          float64 `json:"lr"`
	MinLRFrac   float64 `json:"min_lr_frac"`
	WarmupSteps int     `json:"warmup_steps"`
	Steps       int     `json:"steps"`
	WeightDecay float64 `json:"weight_decay"`
	GradClip    float64 `json:"grad_clip"`
}

// Shard is the shard fields of a shard_config request and its reply.
type Shard struct {
	Gen    int          `json:"gen"` // configuration generation, counted by the primary
	Config *ShardConfig `json:"config,omitempty"`
}

// Shard frames. A step's messages between the primary and a shard (jobs
// and gradients) are on the critical path of every data-parallel step, so
// they skip JSON: each is one ArrayBuffer, posted bare (not in a {json,
// buf} envelope) and transferred. Encoding and decoding JSON through
// reflection cost the wasm build ~0.3 ms per message, several times the
// postMessage itself. Everything else (shard_config, errors, ready) stays
// JSON.
//
// Layout, little-endian: sixteen uint32s
//
//	magic "LPSF", kind, id, gen, k, slot, step, grad_step, slots,
//	rows_step, row0, rows, seq_len, state, grads, n
//
// three float64s (weight_sum, loss_sum, ms) and a uint64 (check), then
// 3·state float32s (parameters, AdamW m, AdamW v), grads float32s, and n
// int32 inputs, n int32 targets and n float32 weights (n = rows·seq_len).
// The fields are core/train's ShardJob (kind FrameJob) and ShardResult
// (kind FrameGrad: id, step, check, loss_sum and the gradient in grads),
// plus gen, the shard_config generation they belong to, and ms, the
// shard's compute time for its rows (ShardResult.Elapsed: the primary cuts
// the rows of the next steps by it).
//
// Evaluation is shared the same way (kinds FrameEval and FrameScore): the
// primary hands a shard one unit at a time, id = the evaluation's number,
// rows_step = the unit's index. A validation-loss unit is one batch (rows,
// seq_len, inputs, targets, weights); an exact-match unit has rows = 0,
// row0 = the prompt's length, inputs = the prompt's tokens followed by the
// expected completion's, and slots = the newline token that ends a
// completion. The score frame answers with id, rows_step, check (the
// parameters the shard evaluated with) and loss_sum: the batch's mean loss,
// or 1 for an exact match and 0 otherwise.
const (
	FrameJob   = 1 // primary → shard
	FrameGrad  = 2 // shard → primary
	FrameEval  = 3 // primary → shard
	FrameScore = 4 // shard → primary
)

const (
	frameMagic  = 0x4653504c // "LPSF"
	frameHeader = 16*4 + 4*8
)

// ShardFrame is a decoded shard frame; see above for the fields.
type ShardFrame struct {
	Kind                             int
	ID, Gen, K, Slot, Step, GradStep int
	Slots                            uint32
	RowsStep, Row0, Rows, T          int
	WeightSum, LossSum, Millis       float64
	Check                            uint64
	Params, M, V                     []float32 // a state: all three, or none
	Grads                            []float32
	Inputs, Targets                  []int32
	Weights                          []float32
}

// IsShardFrame reports whether b starts like a shard frame.
func IsShardFrame(b []byte) bool {
	return len(b) >= frameHeader && binary.LittleEndian.Uint32(b) == frameMagic
}

// AppendShardFrame appends f's encoding to dst. Params, M and V must have
// the same length, and so must Inputs, Targets and Weights.
func AppendShardFrame(dst []byte, f *ShardFrame) []byte {
	le := binary.LittleEndian
	for _, v := range []int{frameMagic, f.Kind, f.ID, f.Gen, f.K, f.Slot, f.Step, f.GradStep, int(f.Slots),
		f.RowsStep, f.Row0, f.Rows, f.T, len(f.Params), len(f.Grads), len(f.Inputs)} {
		dst = le.AppendUint32(dst, uint32(v))
	}
	for _, v := range []float64{f.WeightSum, f.LossSum, f.Millis} {
		dst = le.AppendUint64(dst, math.Float64bits(v))
	}
	dst = le.AppendUint64(dst, f.Check)
	for _, v := range [][]float32{f.Params, f.M, f.V, f.Grads} {
		dst = appendSection(dst, v)
	}
	dst = appendSection(dst, f.Inputs)
	dst = appendSection(dst, f.Targets)
	return appendSection(dst, f.Weights)
}

// DecodeShardFrame parses a shard frame into f, reusing f's slices when
// they are large enough. A frame of the wrong size is refused.
func DecodeShardFrame(b []byte, f *ShardFrame) error {
	if !IsShardFrame(b) {
		return fmt.Errorf("protocol: not a shard frame (%d bytes)", len(b))
	}
	le := binary.LittleEndian
	var h [16]int
	for i := range h {
		h[i] = int(int32(le.Uint32(b[4*i:])))
	}
	S, G, N := h[13], h[14], h[15]
	if S < 0 || G < 0 || N < 0 || len(b) != frameHeader+4*(3*S+G+3*N) {
		return fmt.Errorf("protocol: shard frame of %d bytes for a state of %d, %d gradient numbers and %d positions", len(b), S, G, N)
	}
	f.Kind, f.ID, f.Gen, f.K, f.Slot, f.Step, f.GradStep = h[1], h[2], h[3], h[4], h[5], h[6], h[7]
	f.Slots = uint32(h[8])
	f.RowsStep, f.Row0, f.Rows, f.T = h[9], h[10], h[11], h[12]
	f.WeightSum = math.Float64frombits(le.Uint64(b[64:]))
	f.LossSum = math.Float64frombits(le.Uint64(b[72:]))
	f.Millis = math.Float64frombits(le.Uint64(b[80:]))
	f.Check = le.Uint64(b[88:])
	b = b[frameHeader:]
	f.Params, b = readSection(f.Params, b, S)
	f.M, b = readSection(f.M, b, S)
	f.V, b = readSection(f.V, b, S)
	f.Grads, b = readSection(f.Grads, b, G)
	f.Inputs, b = readSection(f.Inputs, b, N)
	f.Targets, b = readSection(f.Targets, b, N)
	f.Weights, _ = readSection(f.Weights, b, N)
	return nil
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// A frame's sections are arrays of 4-byte little-endian numbers. Where
// the machine is little-endian too (wasm always is) they are copied as
// bytes: for full fine-tuning's gradients, hundreds of thousands of numbers
// a step, a loop over them cost the wasm build about a millisecond.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

type word interface{ ~float32 | ~int32 }

// appendSection appends v's numbers to dst, little-endian.
func appendSection[T word](dst []byte, v []T) []byte {
	if littleEndian {
		return append(dst, bytesOf(v)...)
	}
	for _, x := range v {
		dst = binary.LittleEndian.AppendUint32(dst, bitsOf(x))
	}
	return dst
}

// readSection reads n numbers from b into dst, resized, and returns the
// rest of b.
func readSection[T word](dst []T, b []byte, n int) ([]T, []byte) {
	dst = resize(dst, n)
	if littleEndian {
		copy(bytesOf(dst), b)
	} else {
		for i := range dst {
			dst[i] = fromBits[T](binary.LittleEndian.Uint32(b[4*i:]))
		}
	}
	return dst, b[4*n:]
}

// bytesOf is the memory of v as bytes.
func bytesOf[T word](v []T) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
}

func bitsOf[T word](x T) uint32 {
	if f, ok := any(x).(float32); ok {
		return math.Float32bits(f)
	}
	return uint32(int32(x))
}

func fromBits[T word](u uint32) T {
	var x T
	if _, ok := any(x).(float32); ok {
		return T(math.Float32frombits(u))
	}
	return T(int32(u))
}
