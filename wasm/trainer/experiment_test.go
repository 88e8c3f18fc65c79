package main

import (
	"strings"
	"testing"

	"github.com/lora-playground/lora-playground/wasm/protocol"
)

// runExperiment ticks s until the experiment's last progress event.
func runExperiment(t *testing.T, s *Session) *protocol.ExperimentStatus {
	t.Helper()
	for i := 0; s.Busy(); i++ {
		for _, m := range s.Tick() {
			if m.Type == protocol.TypeError {
				t.Fatal(m.Message)
			}
			if m.Type == protocol.TypeExperimentProgress && !m.Experiment.Running {
				return m.Experiment
			}
		}
		if i > 100000 {
			t.Fatal("the experiment does not end")
		}
	}
	t.Fatal("the session went idle without a final experiment event")
	return nil
}

func TestExperimentRanksInWorker(t *testing.T) {
	s, _ := newTestSession(t)
	req := rq(protocol.TypeExperimentStart)
	req.Experiment = &protocol.ExperimentSpec{Kind: protocol.ExperimentRanks, Model: "testnano", Task: "reverse",
		Steps: 3, Batch: 2, Ranks: []int{1, 64}, Frozen: true}
	m, _ := ok(t, s, req)
	st := m.Experiment
	// testnano is 32 wide: r = 64 is left out, and the note says why.
	if len(st.Plan) != 2 || st.Plan[0].Label != "W_q,W_v r=1" || st.Plan[1].Method != "none" ||
		len(st.Dropped) != 1 || st.Dropped[0] != 64 || !strings.Contains(st.Note, "cannot have rank above 32") {
		t.Fatalf("plan %+v dropped %v note %q", st.Plan, st.Dropped, st.Note)
	}
	if !st.Running || st.Plan[0].Trainable != 2*2*1*64 {
		t.Errorf("running %v, planned trainable %d; want true, 256", st.Running, st.Plan[0].Trainable)
	}
	end := runExperiment(t, s)
	if len(end.Results) != 2 || end.Phase != "done" || end.Run != 2 {
		t.Fatalf("final status %+v", end)
	}
	r1, frozen := end.Results[0], end.Results[1]
	if r1.Steps != 3 || r1.ValLoss == nil || r1.Accuracy == nil || r1.Trainable != 256 || frozen.TrainLoss != nil || frozen.ValLoss == nil {
		t.Errorf("results %+v / %+v", r1, frozen)
	}
	if s.Busy() {
		t.Error("the session is still busy after the experiment")
	}
}

func TestExperimentCancelKeepsResultsAndTheRun(t *testing.T) {
	s, _ := configured(t, testConfig())
	before := s.Status().Step
	req := rq(protocol.TypeExperimentStart)
	req.Experiment = &protocol.ExperimentSpec{Kind: protocol.ExperimentTargets, Model: "testnano", Task: "reverse", Steps: 4, Batch: 2, R1: 4}
	ok(t, s, req)
	again := rq(protocol.TypeExperimentStart)
	again.Experiment = req.Experiment
	if m, _ := call(t, s, again); m.Type != protocol.TypeError || !strings.Contains(m.Message, "already running") {
		t.Errorf("a second start: %+v", m)
	}
	for done := 0; done < 1; {
		for _, m := range s.Tick() {
			if m.Experiment != nil {
				done = len(m.Experiment.Results)
			}
		}
	}
	m, _ := ok(t, s, rq(protocol.TypeExperimentCancel))
	st := m.Experiment
	if st.Running || !st.Cancelled || len(st.Results) < 1 || len(st.Results) >= len(st.Plan) || st.Budget != 2*4*64 {
		t.Errorf("after cancel: running %v cancelled %v, %d of %d results, budget %d", st.Running, st.Cancelled, len(st.Results), len(st.Plan), st.Budget)
	}
	if s.Busy() || s.Status().Step != before {
		t.Errorf("busy %v, the learner's run at step %d (was %d)", s.Busy(), s.Status().Step, before)
	}
	if m, _ := call(t, s, rq(protocol.TypeExperimentCancel)); m.Type != protocol.TypeError {
		t.Errorf("cancel with nothing running: %+v", m)
	}
	bad := rq(protocol.TypeExperimentStart)
	bad.Experiment = &protocol.ExperimentSpec{Kind: "sideways", Model: "testnano", Task: "reverse", Steps: 4}
	if m, _ := call(t, s, bad); m.Type != protocol.TypeError || !strings.Contains(m.Message, "kind") {
		t.Errorf("a bad kind: %+v", m)
	}
}
