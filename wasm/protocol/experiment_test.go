package protocol

import (
	"reflect"
	"strings"
	"testing"
)

func sampleExperiment() *ExperimentSpec {
	return &ExperimentSpec{Kind: ExperimentRanks, Model: "nano", Task: "e2e", Steps: 200, LR: 1e-2, FullLR: 1e-3,
		Alpha: 16, Batch: 8, Seed: 1, Ranks: []int{1, 2, 64}, Targets: []string{"q_proj", "v_proj"}, Full: true, Frozen: true}
}

// TestExperimentWire pins the experiment request's JSON and round-trips a
// status with a result whose training loss was not measured (nil).
func TestExperimentWire(t *testing.T) {
	js, _, err := Request{ID: 3, Type: TypeExperimentStart, Experiment: &ExperimentSpec{Kind: ExperimentTargets, Model: "nano", Task: "e2e", Steps: 150, R1: 8}}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"v":1,"id":3,"type":"experiment_start","experiment":{"kind":"targets","model":"nano","task":"e2e","steps":150,"r1":8}}`
	if string(js) != want {
		t.Errorf("experiment_start on the wire:\n got %s\nwant %s", js, want)
	}
	v := 2.5
	st := &ExperimentStatus{Kind: ExperimentRanks, Model: "nano", Task: "e2e", Steps: 200, Alpha: 16,
		Plan:    []ExperimentRun{{Label: "W_q,W_v r=1", Method: "lora", Targets: []string{"q_proj", "v_proj"}, Rank: 1, Trainable: 512}, {Label: "frozen base", Method: "none"}},
		Dropped: []int{128}, Note: "left out r = 128", Run: 1, Phase: "eval", Running: true,
		Results: []ExperimentResult{{ExperimentRun: ExperimentRun{Label: "frozen base", Method: "none"}, ValLoss: &v, BestValLoss: &v}}}
	js, p, err := Message{Re: 0, Type: TypeExperimentProgress, Experiment: st}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), "train_loss") {
		t.Errorf("an unmeasured loss is on the wire: %s", js)
	}
	m, err := DecodeMessage(js, p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Experiment, st) {
		t.Errorf("round trip:\n got %+v\nwant %+v", m.Experiment, st)
	}
	for _, tc := range []struct {
		spec ExperimentSpec
		want string
	}{
		{ExperimentSpec{Kind: "sideways", Steps: 1}, "kind"},
		{ExperimentSpec{Kind: ExperimentRanks, Steps: 0}, "steps"},
		{ExperimentSpec{Kind: ExperimentRanks, Steps: MaxExperimentSteps + 1}, "steps"},
	} {
		if err := tc.spec.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error about %s", tc.spec, err, tc.want)
		}
	}
	if err := sampleExperiment().Validate(); err != nil {
		t.Error(err)
	}
}
