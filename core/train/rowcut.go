package train

import (
	"slices"
	"time"
)

// Workers of unequal speed
//
// A data-parallel step ends when its slowest worker is done, so an even
// cut of the rows leaves the faster workers idle whenever the workers'
// speeds differ: a laptop's efficiency cores beside its performance cores,
// a phone's little cores, a virtual machine whose second core is shared
// with another guest, or a page whose own main thread keeps one core
// half busy. The trainer therefore measures each worker's time per row,
// the median over its last few steps (timerWindow), and cuts each step's
// rows so that the last worker finishes as early as it can:
//
//	minimise  max_j (n_j + rowSetup)·t_j   subject to  Σ_j n_j = B,  n_j ≥ 1,
//
// with t_j worker j's time per row and rowSetup a step's fixed part (see
// below; a worker's first step is not counted: it is cold, e.g. a fresh
// Web Worker still in V8's baseline tier). The rows of a step cost the
// same and each worker's finish grows with its rows, so handing every row
// after each worker's first to the worker that would finish it soonest,
// (n_j+1+rowSetup)·t_j smallest, is optimal (the greedy rule for identical
// jobs on machines of different speeds).
//
// The cut changes only when the new one is predicted to end a step at
// least cutGain sooner than the current one, and an uneven cut gives way
// to the even one only when it gains less than cutKeep over it, so that
// the cut does not flip from step to step near the line. For 2 workers
// and 8 rows the line is a speed ratio of ~1.29 (5+3 against 4+4), which
// timing jitter does not reach; with more rows it is lower (~1.1 at 32
// rows), and equal workers under heavier jitter may then be cut unevenly,
// which costs nothing but the summation order.
//
// A worker's step also has a fixed part that does not shrink with its rows
// (per-product set-up, the loss's sums): timed at batch 1, 2, 4 and 8 on
// the reference configuration, a step took ~0.3 rows' time more than its
// rows, and relatively more where rows are short (T=32). Taken as
// proportional to the rows, a worker cut down to few rows would look
// slower per row than it is and keep being cut down. So a worker's time
// for n rows is modelled as t·(n + rowSetup), with t its time per row
// measured that way.
//
// Any cut gives the same gradient (the sum over a partition of the rows;
// see shard.go), so the cut changes only the float32 summation order;
// dropout masks are keyed by row, not by worker.

// EvenCuts turns the measured cut off: every step's rows are cut evenly,
// so that two runs on the same number of workers are bit-identical
// whatever their timings. Tests that compare two such runs bit for bit set
// it, and so does ?cut=even on the training worker's URL (the workers
// benchmark's comparison); the playground's page never does.
var EvenCuts = false

// cutGain is the least predicted shortening of a step for which the cut
// changes; cutKeep the least gain over the even cut for which an uneven
// cut stays.
const (
	cutGain = 0.05
	cutKeep = 0.02
)

// timerWindow is the number of steps whose median is a worker's time per
// row. A median, not a moving average: single steps several times slower
// than the rest come every few hundred steps (in a Web Worker: a garbage
// collection, the thread losing its core for a few milliseconds), and
// with steps of 2–3 ms (nano on reverse) one of them moved a moving
// average (weight 0.25) past the line between cuts, so the cut flipped
// for a step or three, each time a step late and each flip a step of
// uneven work. The median of 5 ignores up to 2 such steps and follows a
// worker that stays slower after 3. Until a worker has timerKnown steps
// measured its time is unknown and the cut even, so that one slow step
// among its first few does not decide alone.
const (
	timerWindow = 5
	timerKnown  = timerWindow/2 + 1
)

// rowSetup is a step's fixed part, in rows (see above).
const rowSetup = 0.5

// rowCut is the cut of one step's rows between the workers: worker j gets
// rows [b[j], b[j+1]).
type rowCut struct {
	step int
	b    []int // K+1 bounds, b[0] = 0, b[K] = B
}

// evenCut writes into dst the even cut of B rows between K workers, worker
// j getting rows [j·B/K, (j+1)·B/K), and returns it.
func evenCut(dst []int, K, B int) []int {
	dst = dst[:0]
	for j := 0; j <= K; j++ {
		dst = append(dst, j*B/K)
	}
	return dst
}

// span is the predicted time of the slowest worker under cut b, with
// times per row perRow.
func span(b []int, perRow []float64) float64 {
	s := 0.0
	for j, t := range perRow {
		s = max(s, (float64(b[j+1]-b[j])+rowSetup)*t)
	}
	return s
}

// bestCut writes into dst the cut of B rows between K = len(perRow) ≤ B
// workers (times per row all > 0) that ends a step soonest, and returns
// it. rows is scratch of length ≥ K.
func bestCut(dst []int, rows []int, perRow []float64, B int) []int {
	K := len(perRow)
	rows = rows[:K]
	for j := range rows {
		rows[j] = 1
	}
	for range B - K {
		best := 0
		for j := 1; j < K; j++ {
			if (float64(rows[j]+1)+rowSetup)*perRow[j] < (float64(rows[best]+1)+rowSetup)*perRow[best] {
				best = j
			}
		}
		rows[best]++
	}
	dst = append(dst[:0], 0)
	for j := range K {
		dst = append(dst, dst[j]+rows[j])
	}
	return dst
}

// nextCut chooses the cut of a step given the current one (cur: the last
// step's, or the even cut), the even one and the best one for the
// measured speeds: the best when it ends a step at least cutGain sooner
// than the current, else back to even when the current gains less than
// cutKeep over it, else the current. So timing jitter moves the cut
// neither away from the even one nor between two uneven ones.
func nextCut(cur, even, best []int, perRow []float64) []int {
	switch s := span(cur, perRow); {
	case span(best, perRow) <= (1-cutGain)*s:
		return best
	case s > (1-cutKeep)*span(even, perRow):
		return even
	}
	return cur
}

// cutFor returns the cut of the rows of step for K workers: the one
// decided when that step's first rows went out, or a new one. Its slice
// is the trainer's and valid until the next call.
func (t *Trainer) cutFor(step, K, B int) []int {
	c := &t.cut
	if c.step == step && len(c.b) == K+1 && c.b[K] == B {
		return c.b
	}
	c.step = step
	perRow := append(t.cutTimes[:0], t.ownTime.perRow)
	known := t.ownTime.perRow > 0
	for _, l := range t.links[:K-1] {
		perRow = append(perRow, l.time.perRow)
		known = known && l.time.perRow > 0
	}
	t.cutTimes = perRow
	sc := &t.cutScratch
	sc.even = evenCut(sc.even, K, B)
	if !known || K > B || EvenCuts {
		c.b = append(c.b[:0], sc.even...)
		return c.b
	}
	cur := sc.even
	if len(c.b) == K+1 && c.b[K] == B {
		cur = append(sc.cur[:0], c.b...) // the last step's cut
		sc.cur = cur
	}
	for len(sc.rows) < K {
		sc.rows = append(sc.rows, 0)
	}
	sc.best = bestCut(sc.best, sc.rows, perRow, B)
	c.b = append(c.b[:0], nextCut(cur, sc.even, sc.best, perRow)...)
	return c.b
}

// rowTimer is one worker's measured time per row.
type rowTimer struct {
	perRow float64 // seconds, the median of recent (0: not measured yet)
	steps  int     // steps seen, the first not counted
	recent [timerWindow]float64
}

// add folds a step's time d for n rows into the time per row.
func (r *rowTimer) add(d time.Duration, n int) {
	if n <= 0 || d <= 0 {
		return
	}
	if r.steps++; r.steps == 1 {
		return // cold
	}
	x := d.Seconds() / (float64(n) + rowSetup)
	counted := r.steps - 1 // this one included
	r.recent[(counted-1)%timerWindow] = x
	if counted >= timerKnown {
		r.perRow = median(r.recent[:min(counted, timerWindow)])
	}
}

// median returns the median of xs (1 ≤ len ≤ timerWindow), the mean of the
// middle two for an even count, leaving xs as it was.
func median(xs []float64) float64 {
	var s [timerWindow]float64
	v := s[:len(xs)]
	copy(v, xs)
	for i := 1; i < len(v); i++ { // insertion sort: 5 numbers (slices.Sort adds 5 KB of wasm)
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
	m := len(v) / 2
	if len(v)%2 == 0 {
		return (v[m-1] + v[m]) / 2
	}
	return v[m]
}

// countCut counts the cut of a data-parallel step that went through,
// t.lastCut, in t.stats: uneven, or changed from the last such step's,
// t.prevCut, when that had as many workers.
func (t *Trainer) countCut() {
	c := t.lastCut
	sc := &t.cutScratch // (cutFor remakes its even cut every call)
	if sc.even = evenCut(sc.even, len(c)-1, c[len(c)-1]); !slices.Equal(c, sc.even) {
		t.stats.Uneven++
	}
	if len(t.prevCut) == len(c) && !slices.Equal(t.prevCut, c) {
		t.stats.Changes++
	}
	t.prevCut = append(t.prevCut[:0], c...)
}
