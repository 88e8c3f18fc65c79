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
//	shard_grad    shard: {gen, step, row0, rows, seq_len, weight_sum, params}
//	              and the payload PackShardJob lays out: the trainable
//	              parameters, then the rows' inputs, targets and weights.
//	              Reply "shard_grad" with shard {gen, loss_sum, params} and
//	              the gradient (params float32s) as the payload.
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

// Shard is the shard fields of shard_config and shard_grad requests and
// their replies.
type Shard struct {
	Gen    int          `json:"gen"` // configuration generation, counted by the primary
	Config *ShardConfig `json:"config,omitempty"`

	// shard_grad
	Step      int     `json:"step,omitempty"`
	Row0      int     `json:"row0,omitempty"`
	Rows      int     `json:"rows,omitempty"`
	SeqLen    int     `json:"seq_len,omitempty"`
	WeightSum float64 `json:"weight_sum,omitempty"`
	Params    int     `json:"params,omitempty"` // float32s of parameters (request) or gradient (reply)
	LossSum   float64 `json:"loss_sum,omitempty"`
	Millis    float64 `json:"ms,omitempty"` // the shard's compute time (reply)
}

// PackShardJob lays out a shard_grad payload: params (P float32s), then
// inputs and targets (N int32s each) and weights (N float32s), all
// little-endian, N = rows·seq_len.
func PackShardJob(dst []byte, params []float32, inputs, targets []int32, weights []float32) []byte {
	dst = AppendFloat32sRaw(dst, params)
	for _, v := range [][]int32{inputs, targets} {
		for _, x := range v {
			dst = binary.LittleEndian.AppendUint32(dst, uint32(x))
		}
	}
	return AppendFloat32sRaw(dst, weights)
}

// UnpackShardJob splits a shard_grad payload of P parameters and N
// positions, refusing one of another size.
func UnpackShardJob(payload []byte, P, N int) (params []float32, inputs, targets []int32, weights []float32, err error) {
	if P < 0 || N < 0 || len(payload) != 4*(P+3*N) {
		return nil, nil, nil, nil, fmt.Errorf("protocol: shard job payload of %d bytes, want %d for %d parameters and %d positions", len(payload), 4*(P+3*N), P, N)
	}
	params = Float32sOf(payload[:4*P])
	b := payload[4*P:]
	inputs, targets = make([]int32, N), make([]int32, N)
	for i := range inputs {
		inputs[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
		targets[i] = int32(binary.LittleEndian.Uint32(b[4*(N+i):]))
	}
	weights = Float32sOf(b[8*N:])
	return params, inputs, targets, weights, nil
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
