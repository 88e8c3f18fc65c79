package model

import (
	"fmt"

	"github.com/lora-playground/lora-playground/core/nn"
)

// Decoder runs the model one token at a time with a key/value cache, for
// generation. Feeding tokens one by one gives the same logits as Forward on
// the whole sequence (tested), but each new token costs one position's work
// instead of the whole context's.
type Decoder struct {
	m    *Model
	pos  int
	keys [][]float32 // n_layer × (NCtx,C)
	vals [][]float32 // n_layer × (NCtx,C)

	x, ln, q, k, v, atty, branch []float32 // (C)
	up, gelu                     []float32 // (4C)
	mean, rstd                   []float32 // (1)
	scores                       []float32 // (NCtx)
	Logits                       []float32 // (V) logits after the last Feed
}

// NewDecoder allocates a decoder for m. The model's weights and adapters are
// read at every Feed, so merging or training between calls is seen.
func NewDecoder(m *Model) *Decoder {
	c := m.Config
	C := c.NEmbd
	f := func(n int) []float32 { return make([]float32, n) }
	d := &Decoder{m: m, keys: make([][]float32, c.NLayer), vals: make([][]float32, c.NLayer),
		x: f(C), ln: f(C), q: f(C), k: f(C), v: f(C), atty: f(C), branch: f(C),
		up: f(4 * C), gelu: f(4 * C), mean: f(1), rstd: f(1), scores: f(c.NCtx), Logits: f(c.VocabSize)}
	for l := range d.keys {
		d.keys[l], d.vals[l] = f(c.NCtx*C), f(c.NCtx*C)
	}
	return d
}

// Reset empties the cache.
func (d *Decoder) Reset() { d.pos = 0 }

// Len is the number of positions in the cache.
func (d *Decoder) Len() int { return d.pos }

// Feed appends one token and computes the logits of the next one into
// d.Logits. It fails when the context is full; callers slide the window by
// Reset and re-feeding the tail.
func (d *Decoder) Feed(tok int32) error {
	m, c := d.m, d.m.Config
	C, NH := c.NEmbd, c.NHead
	hs := C / NH
	if d.pos >= c.NCtx {
		return fmt.Errorf("model: context of %d tokens is full", c.NCtx)
	}
	if tok < 0 || int(tok) >= c.VocabSize {
		return fmt.Errorf("model: token id %d is outside the vocabulary (size %d)", tok, c.VocabSize)
	}
	t := d.pos
	nn.EncoderForward(d.x, []int32{tok}, m.W.WTE, m.W.WPE[t*C:], 1, 1, C)
	for l := range m.W.Blocks {
		blk := &m.W.Blocks[l]
		nn.LayerNormForward(d.ln, d.mean, d.rstd, d.x, blk.Ln1W, blk.Ln1B, 1, C)
		m.linearForward(d.q, d.ln, l, ModQ, 1, nil)
		m.linearForward(d.k, d.ln, l, ModK, 1, nil)
		m.linearForward(d.v, d.ln, l, ModV, 1, nil)
		copy(d.keys[l][t*C:], d.k)
		copy(d.vals[l][t*C:], d.v)
		// Attention of the new position over the cache, head by head, with
		// the same arithmetic as nn.AttentionForward.
		for h := 0; h < NH; h++ {
			qh := d.q[h*hs : (h+1)*hs]
			scores := d.scores[:t+1]
			nn.CausalSoftmaxRow(scores, qh, d.keys[l], C, h*hs)
			o := d.atty[h*hs : (h+1)*hs]
			clear(o)
			for t2, a := range scores {
				vt := d.vals[l][t2*C+h*hs : t2*C+(h+1)*hs]
				for i := range o {
					o[i] += a * vt[i]
				}
			}
		}
		m.linearForward(d.branch, d.atty, l, ModO, 1, nil)
		for i := range d.x {
			d.x[i] += d.branch[i]
		}
		nn.LayerNormForward(d.ln, d.mean, d.rstd, d.x, blk.Ln2W, blk.Ln2B, 1, C)
		m.linearForward(d.up, d.ln, l, ModUp, 1, nil)
		nn.GeluForward(d.gelu, d.up)
		m.linearForward(d.branch, d.gelu, l, ModDown, 1, nil)
		for i := range d.x {
			d.x[i] += d.branch[i]
		}
	}
	nn.LayerNormForward(d.ln, d.mean, d.rstd, d.x, m.W.LnFW, m.W.LnFB, 1, C)
	nn.LinearForward(d.Logits, d.ln, m.W.WTE, nil, 1, C, c.VocabSize)
	d.pos++
	return nil
}
