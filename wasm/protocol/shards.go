package protocol

import (
	"encoding/binary"
	"fmt"
	"math"
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
//	              FrameJob: gen, step, row0, rows, seq_len, weight_sum, the
//	              trainable parameters and the rows' inputs, targets and
//	              weights. Reply: a FrameGrad frame with the job's id, gen,
//	              loss_sum, ms and the gradient; or, if the job fails, an
//	              ordinary JSON "error" message with re = the job's id.
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
	// the primary waited for their replies after computing its own rows
	// (the messaging overhead, when the shards are no slower than it).
	ShardMillis float64 `json:"shard_ms,omitempty"`
	WaitMillis  float64 `json:"wait_ms,omitempty"`
	// OwnMillis is the primary's time from handing out the jobs to
	// waiting for the first reply: its own rows' compute.
	OwnMillis float64 `json:"own_ms,omitempty"`
}

// ShardConfig is what a shard needs to compute gradients like the primary:
// the base model and the trainable parameters' shapes (method and LoRA
// configuration), the seed (it keys the dropout masks) and the largest job.
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
}

// Shard is the shard fields of a shard_config request and its reply.
type Shard struct {
	Gen    int          `json:"gen"` // configuration generation, counted by the primary
	Config *ShardConfig `json:"config,omitempty"`
}

// Shard frames. A step's messages between the primary and a shard (the
// job and its gradient) are on the critical path of every data-parallel
// step, so they skip JSON: each is one ArrayBuffer, posted bare (not in a
// {json, buf} envelope) and transferred. Encoding and decoding JSON through
// reflection cost the wasm build ~0.3 ms per message, several times the
// postMessage itself. Everything else (shard_config, errors, ready) stays
// JSON.
//
// Layout, little-endian: a 64-byte header of ten uint32s
//
//	magic "LPSF", kind, id, gen, step, row0, rows, seq_len, vec, n
//
// and three float64s (weight_sum, loss_sum, ms), then vec float32s (the
// parameters of a job, the gradient of a reply), then n int32 inputs, n
// int32 targets and n float32 weights (n = rows·seq_len for a job, 0 for a
// reply). id is the job's request id; a reply carries it back.
const (
	FrameJob  = 1 // primary → shard: compute these rows' gradient
	FrameGrad = 2 // shard → primary: the gradient
)

const (
	frameMagic  = 0x4653504c // "LPSF"
	frameHeader = 64
)

// ShardFrame is a decoded shard frame; see above for the fields.
type ShardFrame struct {
	Kind                         int
	ID, Gen, Step, Row0, Rows, T int
	WeightSum, LossSum, Millis   float64
	Vec                          []float32
	Inputs, Targets              []int32
	Weights                      []float32
}

// IsShardFrame reports whether b starts like a shard frame.
func IsShardFrame(b []byte) bool {
	return len(b) >= frameHeader && binary.LittleEndian.Uint32(b) == frameMagic
}

// AppendShardFrame appends f's encoding to dst. Inputs, Targets and
// Weights must have the same length.
func AppendShardFrame(dst []byte, f *ShardFrame) []byte {
	le := binary.LittleEndian
	for _, v := range []int{frameMagic, f.Kind, f.ID, f.Gen, f.Step, f.Row0, f.Rows, f.T, len(f.Vec), len(f.Inputs)} {
		dst = le.AppendUint32(dst, uint32(v))
	}
	for _, v := range []float64{f.WeightSum, f.LossSum, f.Millis} {
		dst = le.AppendUint64(dst, math.Float64bits(v))
	}
	dst = AppendFloat32sRaw(dst, f.Vec)
	for _, v := range [][]int32{f.Inputs, f.Targets} {
		for _, x := range v {
			dst = le.AppendUint32(dst, uint32(x))
		}
	}
	return AppendFloat32sRaw(dst, f.Weights)
}

// DecodeShardFrame parses a shard frame into f, reusing f's slices when
// they are large enough. A frame of the wrong size is refused.
func DecodeShardFrame(b []byte, f *ShardFrame) error {
	if !IsShardFrame(b) {
		return fmt.Errorf("protocol: not a shard frame (%d bytes)", len(b))
	}
	le := binary.LittleEndian
	var h [10]int
	for i := range h {
		h[i] = int(int32(le.Uint32(b[4*i:])))
	}
	P, N := h[8], h[9]
	if P < 0 || N < 0 || len(b) != frameHeader+4*(P+3*N) {
		return fmt.Errorf("protocol: shard frame of %d bytes for %d numbers and %d positions", len(b), P, N)
	}
	f.Kind, f.ID, f.Gen, f.Step, f.Row0, f.Rows, f.T = h[1], h[2], h[3], h[4], h[5], h[6], h[7]
	f.WeightSum = math.Float64frombits(le.Uint64(b[40:]))
	f.LossSum = math.Float64frombits(le.Uint64(b[48:]))
	f.Millis = math.Float64frombits(le.Uint64(b[56:]))
	b = b[frameHeader:]
	f.Vec = float32sInto(f.Vec, b[:4*P])
	b = b[4*P:]
	f.Inputs, f.Targets = resize(f.Inputs, N), resize(f.Targets, N)
	for i := range N {
		f.Inputs[i] = int32(le.Uint32(b[4*i:]))
		f.Targets[i] = int32(le.Uint32(b[4*(N+i):]))
	}
	f.Weights = float32sInto(f.Weights, b[8*N:])
	return nil
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// float32sInto reads len(b)/4 little-endian float32s into dst, resized.
func float32sInto(dst []float32, b []byte) []float32 {
	dst = resize(dst, len(b)/4)
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return dst
}

// AppendFloat32sRaw appends v to dst as little-endian float32 bytes.
func AppendFloat32sRaw(dst []byte, v []float32) []byte {
	dst, _ = AppendFloat32s(dst, v)
	return dst
}

// Float32sOf reads len(b)/4 little-endian float32s.
func Float32sOf(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}
