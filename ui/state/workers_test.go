package state

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lora-playground/lora-playground/wasm/protocol"
)

// TestWorkersRoundTripThroughTheLink: the worker count travels in the link
// ("workers=2"), automatic (0) writes nothing, and bad values keep the
// default with a problem.
func TestWorkersRoundTripThroughTheLink(t *testing.T) {
	for _, n := range []int{0, 1, 2, 4, MaxWorkers} {
		s := Default()
		s.Workers = n
		h := s.Hash()
		want := "workers=" + strconv.Itoa(n)
		if n == 0 {
			want = ""
		}
		if h != want {
			t.Errorf("workers %d: hash %q, want %q", n, h, want)
		}
		got, problems := Parse("#" + h)
		if len(problems) > 0 || !got.Equal(s) || got.Workers != n {
			t.Errorf("workers %d: parsed %+v, problems %v", n, got, problems)
		}
	}
	s, problems := Parse("#workers=auto&batch=4")
	if s.Workers != 0 || len(problems) != 0 {
		t.Errorf("workers=auto: %d, %v", s.Workers, problems)
	}
	for _, bad := range []string{"9", "-1", "two", "1.5"} {
		s, problems := Parse("#workers=" + bad)
		if s.Workers != 0 || len(problems) != 1 || !strings.Contains(problems[0], "workers") {
			t.Errorf("workers=%s: got %d, problems %v", bad, s.Workers, problems)
		}
	}
	if MaxWorkers != protocol.MaxWorkers {
		t.Errorf("MaxWorkers %d, the worker protocol allows %d", MaxWorkers, protocol.MaxWorkers)
	}
}

// TestWorkersKeepTheRun: changing the count is not a restart, but it is a
// different page (Equal), and classroom mode can hide it.
func TestWorkersKeepTheRun(t *testing.T) {
	a, b := Default(), Default()
	b.Workers = 2
	if r := b.NeedsRestart(a); len(r) != 0 {
		t.Errorf("changing workers needs a restart of %v", r)
	}
	if a.Equal(b) {
		t.Error("states with different worker counts are Equal")
	}
	if !slices.Contains(Controls, "workers") {
		t.Error("classroom mode cannot hide the workers control")
	}
	b.Workers = MaxWorkers + 1
	if b.Validate() == nil {
		t.Error("too many workers validated")
	}
}

func TestWorkerCount(t *testing.T) {
	for _, c := range []struct {
		workers, batch, cores, want int
	}{
		{0, 8, 2, 2},  // automatic: the cores
		{0, 8, 16, 4}, // capped at MaxAutoWorkers
		{0, 8, 0, 1},  // unknown core count
		{0, 2, 4, 2},  // no more than the batch's rows
		{3, 8, 2, 3},  // chosen: even beyond the cores
		{6, 4, 8, 4},  // chosen, but the batch has 4 rows
		{1, 8, 8, 1},  // one worker
	} {
		s := Default()
		s.Workers, s.Batch = c.workers, c.batch
		if got := s.WorkerCount(c.cores); got != c.want {
			t.Errorf("workers %d, batch %d, %d cores: %d, want %d", c.workers, c.batch, c.cores, got, c.want)
		}
	}
}
