package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/lora-playground/lora-playground/core/data"
	"github.com/lora-playground/lora-playground/core/tokenizer"
	"github.com/lora-playground/lora-playground/wasm/protocol"
)

// Evaluation with shard workers. The periodic evaluation (loss batches, then
// greedy generation for exact match) would otherwise run on the primary
// alone while the shards sit idle. Its units go to the shards whose replica
// follows the trainer (train.Trainer.Replicas); the primary computes units
// itself meanwhile and, once none are left to hand out, waits for the
// shards'. A shard that has run out of units gets an even share of those
// left (guided self-scheduling: shares shrink as the queue does, so a slow
// shard holds back the end by little), at least evalAhead. Shares, not
// units one at a time: in the browser a shard's scores reach the primary
// only when the primary's goroutine blocks or its slice ends (the JS event
// loop delivers them), so a shard given one unit at a time would idle for
// most of the primary's slice.
//
// Through shared memory (a cross-origin isolated page, shards_js.go) a
// score is there as soon as the shard writes it, and the primary looks
// before each unit of its own: then a shard is topped up whenever it has
// fewer than evalAhead units left, to the queue's length over twice the
// workers (a quarter of it with 2), and to no more than evalAhead once
// the queue is short. Shares of half the queue gave the first shard all
// the loss batches, which cost more than the exact-match prompts after
// them, and the primary then waited for it (nano on reverse: 64 ms alone,
// 45–54 ms shared with those shares, 34–40 ms with these).
//
// Exactness: a shard scores a unit with its replica (shardRole.score),
// which after a completed step holds the trainer's parameters bit for bit,
// and says which parameters it used (their checksum). The evaluation runs
// between training chunks, and a shard handles its messages in order, so
// every message of the completed steps reaches it before the first
// evaluation unit: nothing waits for the pipeline to drain. Its gradient
// of the next step, computed ahead from the rows it already has, arrives
// before its scores and is kept for the trainer (shardClient.held). A
// score whose checksum is not the trainer's is not used: that shard gets no
// more units and its units are computed by the primary. So are the units
// of a shard that fails, which is also dropped from training. Scores are
// added in unit order (evalSlice), as one worker adds them.
//
// A merged model (merge) evaluates with merged weights, which the shards do
// not have: it evaluates alone.

// evalAhead is the least a shard is given: one to compute and one queued,
// so that it does not idle while its score travels.
const evalAhead = 2

// shardEval is an evaluation's shard side.
type shardEval struct {
	id      int    // numbers this evaluation's frames; scores of another are stale
	check   uint64 // the trainer's ParamsChecksum
	helpers []*evalHelper
	frame   []byte
	dec     protocol.ShardFrame
	zeros   []float32 // an exact-match unit's weights, which nothing reads

	// What an exact-match unit needs: the examples, their tokenizer, and
	// the token that ends a completion.
	val  []data.Example
	tok  *tokenizer.Tokenizer
	nl   int32
	nlOK bool
}

// evalHelper is one shard's part of an evaluation.
type evalHelper struct {
	c     *shardClient
	out   []int     // units handed to it, in order
	since time.Time // when it last made progress
	off   bool      // gets no more units (failed or drifted)
}

// evalHelpers gives j the shards that can take part.
func (s *Session) evalHelpers(j *evalJob) {
	r, p := s.run, &s.shards
	if p.attachedTo != r.tr || r.work.Merged {
		return
	}
	for _, sh := range r.tr.Replicas() {
		if c, ok := sh.(*shardClient); ok && c.err == nil && c.ackGen == c.gen {
			j.helpers = append(j.helpers, &evalHelper{c: c})
		}
	}
	if len(j.helpers) == 0 {
		return
	}
	s.evalSeq++
	j.id, j.check = s.evalSeq, r.tr.ParamsChecksum()
	j.nl, j.nlOK = s.base.tok.ID('\n')
	j.val = s.data.val
	j.tok = s.base.tok
}

// collect takes the scores that have arrived, waiting up to wait for one
// when wait > 0, and hands out units to the shards that have room.
func (j *evalJob) collect(wait time.Duration) {
	j.handOut()
	for _, h := range j.helpers {
		if h.c.err != nil && !h.off { // closed (fewer workers asked for), or failed in training
			j.drop(h)
		}
		for !h.off && len(h.out) > 0 {
			m, ok, err := h.c.conn.Receive(0)
			if err == nil && !ok && wait > 0 {
				m, ok, err = h.c.conn.Receive(wait)
				wait = 0
			}
			if err != nil {
				j.fail(h, err)
				break
			}
			if !ok {
				if time.Since(h.since) > shardJobTimeout {
					j.fail(h, fmt.Errorf("no score after %d s", shardJobTimeout/time.Second))
				}
				break
			}
			if err := j.take(h, m); err != nil {
				j.fail(h, err)
			}
		}
	}
	j.handOut()
}

// take handles one message from shard h.
func (j *evalJob) take(h *evalHelper, m protocol.Message) error {
	if m.Frame == nil {
		return h.c.take(m)
	}
	f := &j.dec
	if err := protocol.DecodeShardFrame(m.Frame, f); err != nil {
		return err
	}
	switch {
	case f.Kind == protocol.FrameGrad:
		h.c.held = append(h.c.held, m.Frame) // the next step's: the trainer's (Wait)
		return nil
	case f.Kind != protocol.FrameScore:
		return fmt.Errorf("a shard frame of kind %d", f.Kind)
	case f.Gen != h.c.gen || f.ID != j.id:
		return nil // an earlier evaluation's
	}
	i := slices.Index(h.out, f.RowsStep)
	if i < 0 {
		return fmt.Errorf("a score for evaluation unit %d, which it was not given", f.RowsStep)
	}
	if f.Check != j.check {
		j.drop(h) // its replica differs: its scores are not the trainer's
		return nil
	}
	j.score[f.RowsStep] = f.LossSum
	j.left--
	h.out = slices.Delete(h.out, i, i+1)
	h.since = time.Now()
	return nil
}

// fail marks shard h dead, so that the trainer drops it (and reports it)
// at its next message, and gives its units to the primary.
func (j *evalJob) fail(h *evalHelper, err error) {
	h.c.die(err)
	j.drop(h)
}

// drop gives shard h no more units and puts its outstanding units first in
// the primary's queue.
func (j *evalJob) drop(h *evalHelper) {
	h.off = true
	j.queue = append(h.out, j.queue...)
	h.out = nil
}

// handOut sends units from the front of the queue to the shards that have
// run out, an even share each (see the top of this file).
func (j *evalJob) handOut() {
	live := 1 // the primary
	for _, h := range j.helpers {
		if !h.off && h.c.err == nil {
			live++
		}
	}
	for _, h := range j.helpers {
		share := max(evalAhead, len(j.queue)/live)
		if sm, ok := h.c.conn.(sharedMemoryConn); ok && sm.SharedMemory() {
			if len(h.out) >= evalAhead {
				continue
			}
			share = max(evalAhead, len(h.out)+len(j.queue)/(2*live))
		} else if len(h.out) > 0 {
			continue
		}
		for !h.off && h.c.err == nil && len(h.out) < share && len(j.queue) > 0 {
			u := j.queue[0]
			if !j.frameOf(u, h.c.gen) {
				return // not a unit a shard can score
			}
			if err := h.c.conn.SendFrame(j.frame); err != nil {
				j.fail(h, err)
				break
			}
			if len(h.out) == 0 {
				h.since = time.Now()
			}
			h.out = append(h.out, u)
			j.queue = j.queue[1:]
		}
	}
}

// frameOf encodes unit u for a shard of configuration gen into j.frame.
func (j *evalJob) frameOf(u, gen int) bool {
	f := protocol.ShardFrame{Kind: protocol.FrameEval, ID: j.id, Gen: gen, RowsStep: u}
	if u < len(j.batches) {
		b := j.batches[u]
		n := b.B * b.T
		f.Rows, f.T, f.Inputs, f.Targets, f.Weights = b.B, b.T, b.Inputs[:n], b.Targets[:n], b.Weights[:n]
	} else {
		if !j.nlOK {
			return false // the primary reports the error (evalUnit)
		}
		ex := j.val[u-len(j.batches)]
		prompt, _ := j.tok.Encode(ex.Prompt)
		want, _ := j.tok.Encode(ex.Completion)
		toks := append(prompt, want...)
		j.zeros = slices.Grow(j.zeros[:0], len(toks))[:len(toks)]
		f.Row0, f.Slots, f.Inputs, f.Targets, f.Weights = len(prompt), uint32(j.nl), toks, toks, j.zeros
	}
	j.frame = protocol.AppendShardFrame(j.frame[:0], &f)
	return true
}
