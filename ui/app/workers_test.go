package app

import (
	"slices"
	"strings"
	"testing"

	"github.com/lora-playground/lora-playground/ui/state"
	"github.com/lora-playground/lora-playground/wasm/protocol"
)

// TestWorkersControlKeepsTheRun: choosing 2 workers mid-run sends one
// workers request and nothing that restarts the run; the link records it.
func TestWorkersControlKeepsTheRun(t *testing.T) {
	a, _, sent, h := newTestApp(state.Default())
	a.ApplyWorkers() // Cores unknown, automatic: one worker, the worker's default
	a.StepOnce()
	if got := types(*sent); !slices.Equal(got, []string{"configure", "evaluate", "step"}) {
		t.Fatalf("first step sent %v", got)
	}
	*sent = nil
	a.State.Workers = 2
	a.Changed()
	if len(*sent) != 1 || (*sent)[0].Type != protocol.TypeWorkers || (*sent)[0].N != 2 {
		t.Fatalf("choosing 2 workers sent %+v", *sent)
	}
	if h.hashes[len(h.hashes)-1] != "workers=2" {
		t.Errorf("link %q", h.hashes[len(h.hashes)-1])
	}
	if len(a.RestartNeeded()) != 0 {
		t.Errorf("restart needed for %v", a.RestartNeeded())
	}
	*sent = nil
	a.Changed() // nothing changed: nothing sent
	a.State.Batch = 1
	a.Changed() // one row: one worker (and a restart, which is the batch's)
	var n []int
	for _, r := range *sent {
		if r.Type == protocol.TypeWorkers {
			n = append(n, r.N)
		}
	}
	if !slices.Equal(n, []int{1}) {
		t.Errorf("after batch 1, workers requests %v, want [1]", n)
	}
}

// TestAutomaticWorkersFollowTheCores: with 2 cores, the page asks for 2.
func TestAutomaticWorkersFollowTheCores(t *testing.T) {
	a, _, sent, _ := newTestApp(state.Default())
	a.Cores = 2
	a.ApplyWorkers()
	if len(*sent) != 1 || (*sent)[0].N != 2 {
		t.Fatalf("sent %+v", *sent)
	}
	a.ApplyWorkers()
	if len(*sent) != 1 {
		t.Fatal("asked twice for the same count")
	}
}

// TestStatusShowsWorkers: the status line says how many workers train, and a
// lost worker's note reaches the page.
func TestStatusShowsWorkers(t *testing.T) {
	a, c, _, _ := newTestApp(state.Default())
	a.Cores = 2
	a.TogglePlay()
	c.Handle(protocol.Message{V: 1, Type: protocol.TypeStatus, Status: &protocol.Status{Ready: true, Step: 3, Running: true,
		Workers: &protocol.Workers{Requested: 2, Active: 2, Exchange: protocol.ExchangeSharedMemory}}})
	c.Handle(protocol.Message{V: 1, Type: protocol.TypeProgress, Progress: &protocol.Progress{Step: 4, Loss: 2, TokensPerSec: 9000, Running: true,
		Points: []protocol.LossPoint{{Step: 4, Loss: 2}}}})
	if a.Status != "training: 9000 tokens/s on 2 workers" {
		t.Errorf("status %q", a.Status)
	}
	html := render(t, a)
	if !strings.Contains(html, `data-testid="workers-line">automatic: 2 for 2 cores; 2 training, exchanging gradients through shared memory<`) {
		t.Errorf("workers line missing or wrong:\n%s", html[strings.Index(html, "workers-line")-40:][:200])
	}
	note := "worker 2 stopped (boom); training continues with 1 worker"
	c.Handle(protocol.Message{V: 1, Type: protocol.TypeStatus, Status: &protocol.Status{Ready: true, Step: 5, Running: true,
		Workers: &protocol.Workers{Requested: 2, Active: 1, Note: note}}})
	if !strings.Contains(a.Status, note) || !strings.Contains(render(t, a), note) {
		t.Errorf("the note is not shown: status %q", a.Status)
	}
	c.Handle(protocol.Message{V: 1, Type: protocol.TypeProgress, Progress: &protocol.Progress{Step: 6, Loss: 2, TokensPerSec: 5000, Running: true,
		Points: []protocol.LossPoint{{Step: 6, Loss: 2}}}})
	if a.Status != "training: 5000 tokens/s on 1 worker" {
		t.Errorf("status %q", a.Status)
	}
	// A slower worker gets fewer rows: the line says how the rows are cut,
	// and a status without a step since the last keeps it.
	for _, w := range []*protocol.Workers{{Requested: 2, Active: 2, Rows: []int{5, 3}}, {Requested: 2, Active: 2}} {
		c.Handle(protocol.Message{V: 1, Type: protocol.TypeStatus, Status: &protocol.Status{Ready: true, Step: 7, Running: true, Workers: w}})
		if want := "the rows of a step are cut 5 + 3 by measured speed"; !strings.Contains(a.WorkersLine(), want) {
			t.Errorf("workers line %q does not say %q", a.WorkersLine(), want)
		}
	}
	c.Handle(protocol.Message{V: 1, Type: protocol.TypeStatus, Status: &protocol.Status{Ready: true, Step: 8, Running: true,
		Workers: &protocol.Workers{Requested: 2, Active: 2, Rows: []int{4, 4}}}})
	if strings.Contains(a.WorkersLine(), "cut") {
		t.Errorf("an even cut is mentioned: %q", a.WorkersLine())
	}
	// Down to one worker, an uneven cut seen before is not kept.
	for _, w := range []*protocol.Workers{{Requested: 2, Active: 2, Rows: []int{7, 1}}, {Requested: 2, Active: 1, Note: note, Rows: []int{7, 1}}, {Requested: 2, Active: 1}} {
		c.Handle(protocol.Message{V: 1, Type: protocol.TypeStatus, Status: &protocol.Status{Ready: true, Step: 9, Running: true, Workers: w}})
	}
	if strings.Contains(a.WorkersLine(), "cut") {
		t.Errorf("one worker left, and the line still speaks of a cut: %q", a.WorkersLine())
	}
}

func TestWorkersControlRendersAndHides(t *testing.T) {
	a, _, _, _ := newTestApp(state.Default())
	ids := testids(render(t, a))
	if ids["workers"] != 1 || ids["workers-line"] != 1 {
		t.Fatalf("workers control: %v", ids)
	}
	s := state.Default()
	s.Hide = []string{"workers"}
	a, _, _, _ = newTestApp(s)
	if ids := testids(render(t, a)); ids["workers"] != 0 {
		t.Error("classroom mode did not hide the workers control")
	}
}
