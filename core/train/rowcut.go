package train

import "time"

// Workers of unequal speed
//
// A data-parallel step ends when its slowest worker is done, so an even
// cut of the rows leaves the faster workers idle whenever the workers'
// speeds differ: a laptop's efficiency cores beside its performance cores,
// a phone's little cores, a virtual machine whose second core is shared
// with another guest, or a page whose own main thread keeps one core
// half busy. The trainer therefore measures each worker's time per row,
// an exponential moving average over the steps (perRowEMA), and cuts each
// step's rows so that the last worker finishes as early as it can:
//
//	minimise  max_j n_j·t_j   subject to  Σ_j n_j = B,  n_j ≥ 1,
//
// with t_j worker j's time per row (a worker's first step is not counted:
// it is cold, e.g. a fresh Web Worker still in V8's baseline tier). The rows
// of a step cost the same, so handing every row after each worker's first
// to the worker that would finish it soonest, (n_j+1)·t_j smallest, is
// optimal (the greedy rule for identical jobs on machines of different
// speeds). The measured cut replaces the even cut only when it is
// predicted to end the step at least cutGain sooner, and gives way to it
// again only below cutKeep, so that the cut does not flip from step to
// step near the line. For 2 workers and 8 rows the line is a speed ratio
// of ~1.32 (5+3 against 4+4), which timing jitter does not reach; with
// more rows it is lower (~1.12 at 32 rows), and equal workers under
// heavier jitter may then be cut unevenly, which costs nothing but the
// summation order.
//
// The time per row is taken as proportional to the rows: a worker's fixed
// cost per step (a few percent) makes one left with few rows look a little
// slower than it is, so it wins rows back a little late.
//
// Any cut gives the same gradient (the sum over a partition of the rows;
// see shard.go), so the cut changes only the float32 summation order;
// dropout masks are keyed by row, not by worker.

// EvenCuts turns the measured cut off: every step's rows are cut evenly,
// so that two runs on the same number of workers are bit-identical
// whatever their timings. Tests that compare two such runs bit for bit set
// it; the playground never does.
var EvenCuts = false

// cutGain is the least predicted shortening of a step for which the
// measured cut replaces the even one; cutKeep the least for which it stays.
const (
	cutGain = 0.05
	cutKeep = 0.03
)

// perRowEMA is the weight of the newest step in a worker's time per row.
const perRowEMA = 0.25

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

// balancedCut writes into dst the cut of B rows between K ≤ B workers
// whose times per row are perRow (all > 0) that ends a step soonest, if it
// ends it at least gain sooner than the even cut, else the even cut.
// rows is scratch of length ≥ K.
func balancedCut(dst []int, rows []int, perRow []float64, B int, gain float64) []int {
	K := len(perRow)
	dst = evenCut(dst, K, B)
	even := 0.0
	for j := range K {
		even = max(even, float64(dst[j+1]-dst[j])*perRow[j])
	}
	rows = rows[:K]
	for j := range rows {
		rows[j] = 1
	}
	for range B - K {
		best := 0
		for j := 1; j < K; j++ {
			if float64(rows[j]+1)*perRow[j] < float64(rows[best]+1)*perRow[best] {
				best = j
			}
		}
		rows[best]++
	}
	span := 0.0
	for j := range K {
		span = max(span, float64(rows[j])*perRow[j])
	}
	if span > (1-gain)*even {
		return dst
	}
	for j := range K {
		dst[j+1] = dst[j] + rows[j]
	}
	return dst
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
	if !known || K > B || EvenCuts {
		c.b = evenCut(c.b, K, B)
		t.cutMoved = false
		return c.b
	}
	for len(t.cutRows) < K {
		t.cutRows = append(t.cutRows, 0)
	}
	gain := cutGain
	if t.cutMoved {
		gain = cutKeep
	}
	c.b = balancedCut(c.b, t.cutRows, perRow, B, gain)
	t.cutMoved = false
	for j := range K {
		t.cutMoved = t.cutMoved || c.b[j] != j*B/K
	}
	return c.b
}

// rowTimer is one worker's measured time per row.
type rowTimer struct {
	perRow float64 // seconds, a moving average (0: not measured yet)
	steps  int     // steps seen, the first not counted
}

// add folds a step's time d for n rows into the time per row.
func (r *rowTimer) add(d time.Duration, n int) {
	if n <= 0 || d <= 0 {
		return
	}
	if r.steps++; r.steps == 1 {
		return // cold
	}
	x := d.Seconds() / float64(n)
	if r.perRow == 0 {
		r.perRow = x
		return
	}
	r.perRow += perRowEMA * (x - r.perRow)
}
