package app

import (
	"strings"
	"testing"

	"github.com/lora-playground/lora-playground/ui/state"
	"github.com/lora-playground/lora-playground/wasm/protocol"
)

func f(v float64) *float64 { return &v }

// A rank sweep as the worker reports it: r=1 and r=8 done, full and
// frozen done, r=64 in progress.
func rankStatus(running bool) *protocol.ExperimentStatus {
	qv := []string{"q_proj", "v_proj"}
	plan := []protocol.ExperimentRun{
		{Label: "W_q,W_v r=1", Method: "lora", Targets: qv, Rank: 1, Trainable: 512},
		{Label: "W_q,W_v r=8", Method: "lora", Targets: qv, Rank: 8, Trainable: 4096},
		{Label: "W_q,W_v r=16", Method: "lora", Targets: qv, Rank: 16, Trainable: 8192},
		{Label: "full fine-tuning", Method: "full", Trainable: 114496},
		{Label: "frozen base", Method: "none"},
		{Label: "W_q,W_v r=64", Method: "lora", Targets: qv, Rank: 64, FullRank: true, Trainable: 32768},
	}
	res := []protocol.ExperimentResult{
		{ExperimentRun: plan[0], Steps: 200, ValLoss: f(1.70)},
		{ExperimentRun: plan[1], Steps: 200, ValLoss: f(1.30)},
		{ExperimentRun: plan[2], Steps: 200, ValLoss: f(1.27)},
		{ExperimentRun: plan[3], Steps: 200, ValLoss: f(1.00)},
		{ExperimentRun: plan[4], ValLoss: f(2.90)},
	}
	return &protocol.ExperimentStatus{Kind: protocol.ExperimentRanks, Model: "nano", Task: "e2e", Steps: 200, Plan: plan,
		Results: res, Run: 5, Step: 40, Phase: "train", Running: running, Seconds: 30}
}

func TestExperimentClientStartsCancelsAndKeepsResults(t *testing.T) {
	a, _, _, _ := newTestApp(state.Default())
	var sent []protocol.Request
	x := NewExperimentClient(a, func(r protocol.Request) { sent = append(sent, r) })
	a.Exp.Tab = protocol.ExperimentRanks
	x.Start()
	if len(sent) != 1 || sent[0].Type != protocol.TypeExperimentStart || sent[0].Experiment == nil {
		t.Fatalf("sent %+v", sent)
	}
	sp := sent[0].Experiment
	if sp.Kind != "ranks" || sp.Model != a.State.Model || sp.Task != a.State.Task || sp.Steps != DefaultExperimentSteps ||
		strings.Join(sp.Targets, ",") != "q_proj,v_proj" || !sp.Full || !sp.Frozen {
		t.Errorf("spec %+v", sp)
	}
	x.Start() // refused while running
	if len(sent) != 1 || !strings.Contains(a.Exp.Error, "cancel it first") {
		t.Errorf("a second start: sent %d, error %q", len(sent), a.Exp.Error)
	}
	x.Handle(protocol.Message{Type: protocol.TypeExperimentProgress, Experiment: rankStatus(true)})
	x.Cancel()
	if len(sent) != 2 || sent[1].Type != protocol.TypeExperimentCancel {
		t.Fatalf("cancel sent %+v", sent)
	}
	st := rankStatus(false)
	st.Cancelled = true
	x.Handle(protocol.Message{Type: protocol.TypeExperimentCancel, Experiment: st})
	html := render(t, a)
	for _, want := range []string{"cancelled: 5 of 6 runs finished", "1.700", "4,096", "64 (full rank)", "73.4", "91.6", "<svg",
		"So far the best finished rank is r=16", "waits for the largest rank, r=64"} {
		if !strings.Contains(html, want) {
			t.Errorf("panel lacks %q", want)
		}
	}
	ids := testids(html)
	for _, id := range []string{"experiments", "exp-tab-targets", "exp-tab-ranks", "exp-run", "exp-cancel", "exp-steps", "exp-table", "exp-chart", "exp-verdict", "exp-targets"} {
		if ids[id] != 1 {
			t.Errorf("data-testid %q appears %d times", id, ids[id])
		}
	}
	// A refused start leaves nothing running.
	x.Start()
	x.Handle(protocol.Message{Type: protocol.TypeError, Message: "experiment_start: model nano: 404"})
	if a.Exp.Running() || !strings.Contains(render(t, a), "the experiment could not start") {
		t.Errorf("after a failed start: running %v", a.Exp.Running())
	}
}

func TestExperimentPanelBeforeAnyRunShowsThePaper(t *testing.T) {
	a, _, _, _ := newTestApp(state.Default())
	html := render(t, a)
	// Table 5's seven choices with the paper's WikiSQL column.
	for _, want := range []string{"W_q,W_k,W_v,W_o", "70.4", "73.7", "91.7", "adapting more matrices at a smaller rank beats"} {
		if !strings.Contains(html, want) {
			t.Errorf("panel lacks %q", want)
		}
	}
	if ids := testids(html); ids["exp-chart"] != 0 {
		t.Error("a chart without results")
	}
	a.State.Task = state.CustomTask
	NewExperimentClient(a, func(protocol.Request) { t.Error("sent an experiment on custom text") }).Start()
	if !strings.Contains(a.Exp.Error, "built-in tasks") {
		t.Errorf("custom task: %q", a.Exp.Error)
	}
}

func TestVerdicts(t *testing.T) {
	qv, q, all := []string{"q_proj", "v_proj"}, []string{"q_proj"}, []string{"q_proj", "k_proj", "v_proj", "o_proj"}
	mk := func(losses ...float64) *protocol.ExperimentStatus {
		plan := []protocol.ExperimentRun{{Targets: q, Rank: 8, Method: "lora"}, {Targets: qv, Rank: 4, Method: "lora"}, {Targets: all, Rank: 2, Method: "lora"}}
		st := &protocol.ExperimentStatus{Kind: protocol.ExperimentTargets, Plan: plan}
		for i, l := range losses {
			st.Results = append(st.Results, protocol.ExperimentResult{ExperimentRun: plan[i], ValLoss: f(l)})
		}
		return st
	}
	for _, tc := range []struct {
		st   *protocol.ExperimentStatus
		want string
	}{
		{mk(1.5), "comes once both"},
		{mk(1.5, 1.3, 1.4), "agrees with the paper"},
		{mk(1.2, 1.3, 1.4), "disagree with the paper"},
		{mk(1.3, 1.305), "too close to call"},
	} {
		if got := targetsVerdict(tc.st); !strings.Contains(got, tc.want) {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
	st := rankStatus(false)
	st.Results[0].ValLoss = f(1.29) // r=1 within 0.05 of the best
	if got := ranksVerdict(st); !strings.Contains(got, "waits for the largest rank, r=64") || strings.Contains(got, "agrees") {
		t.Errorf("ranks verdict before r=64 finished %q", got)
	}
	st.Results = append(st.Results, protocol.ExperimentResult{ExperimentRun: st.Plan[5], Steps: 200, ValLoss: f(1.28)})
	if got := ranksVerdict(st); !strings.Contains(got, "agrees with the paper") || !strings.Contains(got, "was r=1") {
		t.Errorf("ranks verdict %q", got)
	}
	st.Results[0].ValLoss = f(1.70) // r=1 far behind: more rank kept helping
	if got := ranksVerdict(st); !strings.Contains(got, "more rank kept helping") {
		t.Errorf("ranks verdict %q", got)
	}
}
