package main

import (
	"fmt"
	"io"
	"time"
)

// progress is the one-line progress report of train and experiment:
// "\r<description> n/total (p%) [elapsed<remaining]", redrawn at most every
// interval.
//
// It replaces github.com/schollz/progressbar, which links net/http (for a
// feature we never used) and with it crypto/tls, x509 and the rest of the
// network stack: 2.7 MB of the js/wasm binary, and 1.2 MB of its data
// segment, which sits in linear memory from the start — the lora bench's
// peak wasm memory paid for it in both its LoRA and full runs.
type progress struct {
	w        io.Writer
	total    int
	n        int
	desc     string
	visible  bool
	start    time.Time
	last     time.Time // last redraw
	interval time.Duration
	now      func() time.Time // time.Now; tests replace it
}

func newProgress(w io.Writer, total int, desc string, visible bool) *progress {
	p := &progress{w: w, total: total, desc: desc, visible: visible, interval: 200 * time.Millisecond, now: time.Now}
	p.start = p.now()
	return p
}

// Describe changes the description shown before the count.
func (p *progress) Describe(desc string) { p.desc = desc }

// Add advances the count by n.
func (p *progress) Add(n int) { p.Set(p.n + n) }

// Set sets the count and redraws if the last redraw is old enough.
func (p *progress) Set(n int) {
	p.n = n
	if t := p.now(); t.Sub(p.last) >= p.interval {
		p.draw(t)
	}
}

// Finish draws the final state.
func (p *progress) Finish() { p.draw(p.now()) }

func (p *progress) draw(t time.Time) {
	p.last = t
	if !p.visible {
		return
	}
	el := t.Sub(p.start)
	pct := 100.0
	eta := "?"
	if p.total > 0 {
		pct = 100 * float64(p.n) / float64(p.total)
	}
	if p.n > 0 && p.total >= p.n {
		eta = (el * time.Duration(p.total-p.n) / time.Duration(p.n)).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r%s %d/%d (%.0f%%) [%s<%s]  ", p.desc, p.n, p.total, pct, el.Round(time.Second), eta)
}
