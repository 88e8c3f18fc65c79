package app

import (
	"fmt"
	"strconv"

	"github.com/lora-playground/lora-playground/wasm/protocol"
)

// More cores: the training worker splits each step's batch between itself
// and shard workers it starts (wasm/trainer/shards.go). The page only says
// how many: State.Workers, or automatically as many as Cores (capped, see
// state.WorkerCount). Changing the count keeps the run; the status line
// says how many workers are training.

// WorkerSetter is a Trainer that can train on several workers (Client).
type WorkerSetter interface {
	SetWorkers(n int)
}

// WorkersView is what the worker reported about its workers.
type WorkersView struct {
	Requested, Active, Starting int
	Note                        string // why fewer than requested
	Exchange                    string // protocol.Workers.Exchange
	Rows                        []int  // protocol.Workers.Rows: rows per worker in a step
}

// ApplyWorkers asks the trainer for the worker count the settings and the
// device call for, if that is not what it was last asked. The worker
// starts with one, so a page that wants one sends nothing.
func (a *App) ApplyWorkers() {
	ws, ok := a.T.(WorkerSetter)
	if !ok || a.State.Validate() != nil {
		return
	}
	n := a.State.WorkerCount(a.Cores)
	if a.sentWorkers == 0 {
		a.sentWorkers = 1
	}
	if n != a.sentWorkers {
		a.sentWorkers = n
		ws.SetWorkers(n)
	}
}

// workersText is the status line's note on workers: "" while one trains
// and one was asked for.
func (a *App) workersText() string {
	w := a.Workers
	switch {
	case w.Requested <= 1 && w.Active <= 1:
		return ""
	case w.Starting > 0 && w.Active < w.Requested:
		return fmt.Sprintf(" on %d of %d workers (%d starting)", w.Active, w.Requested, w.Starting)
	case w.Active == 1:
		return " on 1 worker"
	}
	return fmt.Sprintf(" on %d workers", w.Active)
}

// WorkersLine describes the workers beside their control.
func (a *App) WorkersLine() string {
	w := a.Workers
	want := a.State.WorkerCount(a.Cores)
	s := fmt.Sprintf("%d asked for", want)
	if a.State.Workers == 0 {
		s = fmt.Sprintf("automatic: %d for %d cores", want, max(a.Cores, 1))
	}
	if w.Requested > 0 {
		s += fmt.Sprintf("; %d training", w.Active)
		if w.Starting > 0 {
			s += fmt.Sprintf(", %d starting", w.Starting)
		}
		switch w.Exchange {
		case protocol.ExchangeSharedMemory:
			s += ", exchanging gradients through shared memory"
		case protocol.ExchangeMessages:
			s += ", exchanging gradients by message (shared memory needs a cross-origin isolated page)"
		}
		if uneven(w.Rows) {
			s += fmt.Sprintf("; the rows of a step are cut %s by measured speed, fewer for a slower worker", joinInts(w.Rows, " + "))
		}
	}
	if w.Note != "" {
		s += ". " + w.Note
	}
	return s
}

// uneven reports whether the workers got different numbers of rows.
func uneven(rows []int) bool {
	for _, n := range rows {
		if n != rows[0] {
			return true
		}
	}
	return false
}

func joinInts(v []int, sep string) string {
	s := ""
	for i, n := range v {
		if i > 0 {
			s += sep
		}
		s += strconv.Itoa(n)
	}
	return s
}

// SetWorkers asks the worker to train on n workers (Client implements
// WorkerSetter).
func (c *Client) SetWorkers(n int) {
	c.send(protocol.Request{Type: protocol.TypeWorkers, N: max(1, min(n, protocol.MaxWorkers))})
}

// workers takes status.workers into the App.
func (c *Client) workers(w *protocol.Workers) {
	if w == nil {
		return
	}
	a := c.App
	old := a.Workers
	a.Workers = WorkersView{Requested: w.Requested, Active: w.Active, Starting: w.Starting, Note: w.Note, Exchange: w.Exchange, Rows: w.Rows}
	if len(w.Rows) == 0 && w.Active == old.Active {
		a.Workers.Rows = old.Rows // a status with no step since the last says nothing of the cut
	}
	if len(a.Workers.Rows) != a.Workers.Active || a.Workers.Active < 2 {
		a.Workers.Rows = nil // a cut between workers no longer training
	}
	if w.Note != "" && w.Note != old.Note {
		a.Status = "fewer workers: " + w.Note
	}
}
