package app

import (
	"bytes"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lora-playground/lora-playground/ui/state"
	"github.com/lora-playground/lora-playground/wasm/protocol"
	"github.com/vugu/vugu"
	"github.com/vugu/vugu/js"
	"github.com/vugu/vugu/staticrender"
)

// fakeHost records what the page asked of the browser.
type fakeHost struct {
	hashes    []string
	downloads []string
}

func (h *fakeHost) Download(name, mime string, data []byte) { h.downloads = append(h.downloads, name) }
func (h *fakeHost) DownloadPNGFromSVG(name, svg string, w, ht int) {
	h.downloads = append(h.downloads, name)
}
func (h *fakeHost) SetHash(hash string)                     { h.hashes = append(h.hashes, hash) }
func (h *fakeHost) ReadFile(js.Value, func(string, []byte)) {}

// newTestApp is an App talking to a Client whose requests are recorded.
func newTestApp(s state.State) (*App, *Client, *[]protocol.Request, *fakeHost) {
	h := &fakeHost{}
	a := New(s, nil, h)
	var sent []protocol.Request
	c := NewClient(a, func(r protocol.Request) { sent = append(sent, r) })
	a.T = c
	a.SetArch("nano", 96, 128, 64, 4, 2)
	a.Models = []string{"nano"}
	a.Tasks = []TaskInfo{{Name: "e2e", Title: "Restaurant descriptions (E2E)"}, {Name: "reverse", Title: "Reverse a word", Metric: "exact_match"}}
	return a, c, &sent, h
}

func render(t *testing.T, a *App) string {
	t.Helper()
	var buf bytes.Buffer
	r := staticrender.New(&buf)
	env, err := vugu.NewBuildEnv(r.EventEnv())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Render(env.RunBuild(&Root{App: a})); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

var testidRE = regexp.MustCompile(`data-testid="([^"]+)"`)

func testids(html string) map[string]int {
	m := map[string]int{}
	for _, s := range testidRE.FindAllStringSubmatch(html, -1) {
		m[s[1]]++
	}
	return m
}

// The issue fixes these ids; tests and teaching material rely on them.
var contractIDs = []string{"rank", "alpha", "lr", "method", "task",
	"target-q_proj", "target-k_proj", "target-v_proj", "target-o_proj", "target-up_proj", "target-down_proj",
	"train", "step", "reset", "step-count", "train-loss", "val-loss", "params-trainable", "loss-chart",
	"generate", "sample-base", "sample-adapted", "merge", "export", "import"}

func TestRootRendersTheTestContract(t *testing.T) {
	a, _, _, _ := newTestApp(state.Default())
	ids := testids(render(t, a))
	for _, id := range contractIDs {
		if ids[id] != 1 {
			t.Errorf("data-testid %q appears %d times, want once", id, ids[id])
		}
	}
}

func TestRunningPageShowsHeatmapsSpectrumAndMerge(t *testing.T) {
	a, c, _, _ := newTestApp(state.Default())
	a.TogglePlay()
	c.Handle(snapshotMsg(t, 2, 2)) // 2 layers × q,v
	a.Select("h.1.attn.v_proj")
	in := inspectMsg(t, "h.1.attn.v_proj")
	c.Handle(in)
	a.OnMerged(MergeResult{MaxLogitDiff: 3e-6, Shapes: []ShapeCheck{{Path: "h.0.attn.q_proj", Before: [2]int{64, 64}, After: [2]int{64, 64}}}})
	html := render(t, a)
	ids := testids(html)
	if ids["heatmap"] != 4 {
		t.Errorf("%d heatmap canvases, want one per adapted matrix (4)", ids["heatmap"])
	}
	for _, id := range []string{"spectrum", "merge-diff", "detail-a", "detail-b", "detail-dw"} {
		if ids[id] != 1 {
			t.Errorf("data-testid %q appears %d times, want once", id, ids[id])
		}
	}
	for _, want := range []string{"rank(ΔW) = 2 ≤ r = 8", "3.00e-06", "kept their shape", "<svg", `height="64" title="B" width="8"`} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestParamPanelGivesThePaperFigures(t *testing.T) {
	for _, c := range []struct {
		rank int
		want string
	}{{1, "4.7M"}, {8, "37.7M"}} {
		s := state.Default()
		s.Rank = c.rank
		a, _, _, _ := newTestApp(s)
		html := render(t, a)
		re := regexp.MustCompile(`data-testid="params-gpt3-trainable"[^>]*>([^<]*)<`)
		m := re.FindStringSubmatch(html)
		if m == nil || m[1] != c.want {
			t.Errorf("r=%d on q,v: GPT-3 trainable = %v, want %s", c.rank, m, c.want)
		}
	}
	// nano: 2 layers × (q,v) × r·(64+64) at r=8 = 4096
	a, _, _, _ := newTestApp(state.Default())
	if !strings.Contains(render(t, a), `data-testid="params-trainable">4,096<`) {
		t.Error("nano r=8 q,v should train 4,096 parameters")
	}
}

func TestClassroomModeHidesControls(t *testing.T) {
	s := state.Default()
	s.Hide = []string{"method", "targets", "lr"}
	a, _, _, _ := newTestApp(s)
	ids := testids(render(t, a))
	for _, gone := range []string{"method", "target-q_proj", "lr"} {
		if ids[gone] != 0 {
			t.Errorf("hidden control %q still rendered", gone)
		}
	}
	if ids["rank"] != 1 {
		t.Error("rank should stay visible")
	}
}

func TestMethodSwitchHidesLoRAControls(t *testing.T) {
	s := state.Default()
	s.Method = state.Full
	a, _, _, _ := newTestApp(s)
	ids := testids(render(t, a))
	if ids["rank"] != 0 || ids["target-q_proj"] != 0 {
		t.Error("full fine-tuning page shows LoRA controls")
	}
}

func TestRestartNotice(t *testing.T) {
	a, c, sent, _ := newTestApp(state.Default())
	a.StepOnce()
	if got := types(*sent); !slices.Equal(got, []string{"configure", "evaluate", "step"}) {
		t.Fatalf("first step sent %v", got)
	}
	c.Handle(protocol.Message{V: 1, Re: (*sent)[2].ID, Type: protocol.TypeStep,
		Progress: &protocol.Progress{Step: 1, Loss: 3.2, Points: []protocol.LossPoint{{Step: 1, Loss: 3.2}}}})
	a.State.Rank = 4
	a.Changed()
	html := render(t, a)
	if !strings.Contains(html, `data-testid="restart-needed"`) || !strings.Contains(html, "Changed rank") {
		t.Error("changing rank after a step must say it needs a restart")
	}
	// Before any step, a change silently reconfigures instead.
	b, _, sentB, _ := newTestApp(state.Default())
	b.StepOnce()
	n := len(*sentB)
	b.State.Rank = 2
	b.Changed()
	if len(b.RestartNeeded()) != 0 || len(*sentB) != n+2 || (*sentB)[n].Type != protocol.TypeConfigure || (*sentB)[n].Config.Rank != 2 {
		t.Errorf("change at step 0 should reconfigure, sent %v", types((*sentB)[n:]))
	}
}

func types(rs []protocol.Request) []string {
	var t []string
	for _, r := range rs {
		t = append(t, r.Type)
	}
	return t
}

func snapshotMsg(t *testing.T, layers, rank int) protocol.Message {
	t.Helper()
	var buf []byte
	s := &protocol.Snapshot{Step: 3, Method: "lora", Rank: rank, Layers: layers}
	for l := 0; l < layers; l++ {
		for _, m := range []string{"q_proj", "v_proj"} {
			v := make([]float32, 64*64)
			for i := range v {
				v[i] = float32(i%7) - 3
			}
			var off int
			buf, off = protocol.AppendFloat32s(buf, v)
			s.Deltas = append(s.Deltas, protocol.Tensor{Name: "h." + string(rune('0'+l)) + ".attn." + m, Rows: 64, Cols: 64, Offset: off, MaxAbs: 3})
		}
	}
	return protocol.Message{V: 1, Type: protocol.TypeSnapshot, Snapshot: s, Data: buf}
}

func inspectMsg(t *testing.T, module string) protocol.Message {
	t.Helper()
	var buf []byte
	dw, a, b := make([]float32, 64*64), make([]float32, 8*64), make([]float32, 64*8)
	var o1, o2, o3 int
	buf, o1 = protocol.AppendFloat32s(buf, dw)
	buf, o2 = protocol.AppendFloat32s(buf, a)
	buf, o3 = protocol.AppendFloat32s(buf, b)
	sv := make([]float64, 64)
	sv[0], sv[1] = 2, 1
	return protocol.Message{V: 1, Type: protocol.TypeInspect, Data: buf, Inspect: &protocol.Inspect{
		Module: module, Rank: 8, Delta: protocol.Tensor{Name: module, Rows: 64, Cols: 64, Offset: o1},
		A: &protocol.Tensor{Rows: 8, Cols: 64, Offset: o2}, B: &protocol.Tensor{Rows: 64, Cols: 8, Offset: o3},
		Singular: sv, NumericalRank: 2}}
}

func TestClientConversation(t *testing.T) {
	a, c, sent, h := newTestApp(state.Default())
	a.TogglePlay()
	if got := types(*sent); !slices.Equal(got, []string{"configure", "evaluate", "play"}) {
		t.Fatalf("play sent %v", got)
	}
	cfg := (*sent)[0].Config
	if cfg.Rank != 8 || cfg.Alpha != 16 || !slices.Equal(cfg.Targets, []string{"q_proj", "v_proj"}) || cfg.Steps != 2000 || cfg.Method != "lora" {
		t.Errorf("configure carried %+v", cfg)
	}
	if (*sent)[1].Type != "evaluate" {
		t.Errorf("a fresh run asks for its step-0 validation loss before play: sent %v", types(*sent))
	}
	for i, r := range *sent {
		if r.V != protocol.Version || r.ID != i+1 {
			t.Errorf("request %d has v=%d id=%d", i, r.V, r.ID)
		}
	}
	c.Handle(protocol.Message{V: 1, Re: 1, Type: protocol.TypeConfigure, Status: &protocol.Status{Ready: true, TrainableParams: 4096}})
	if !a.Playing {
		t.Error("the configure reply (not running: the play is still queued) must not pause the page")
	}
	c.Handle(protocol.Message{V: 1, Type: protocol.TypeProgress, Progress: &protocol.Progress{Step: 3, Loss: 2.5, Running: true, TokensPerSec: 1234,
		Points: []protocol.LossPoint{{Step: 1, Loss: 3}, {Step: 2, Loss: 2.8}, {Step: 3, Loss: 2.5}}}})
	if a.Steps != 3 || a.Loss != 2.5 || len(a.Current().Train) != 3 || a.TokPerS != 1234 {
		t.Errorf("after progress: steps %d loss %v points %d", a.Steps, a.Loss, len(a.Current().Train))
	}
	// A repeated point (e.g. the step reply repeating the last chunk) is not added twice.
	c.Handle(protocol.Message{V: 1, Type: protocol.TypeProgress, Progress: &protocol.Progress{Step: 3, Loss: 2.5, Running: true, Points: []protocol.LossPoint{{Step: 3, Loss: 2.5}}}})
	if len(a.Current().Train) != 3 {
		t.Errorf("duplicate point appended: %d", len(a.Current().Train))
	}
	c.Handle(protocol.Message{V: 1, Type: protocol.TypeEval, Eval: &protocol.Eval{Step: 3, ValLoss: 2.7}})
	if a.ValLoss != 2.7 || a.Current().BestVal != 2.7 || !math.IsNaN(a.Current().Accuracy) {
		t.Errorf("eval: val %v best %v acc %v", a.ValLoss, a.Current().BestVal, a.Current().Accuracy)
	}
	c.Handle(snapshotMsg(t, 2, 8))
	if len(a.Deltas) != 4 || a.Deltas[0].Version != 1 || a.Deltas[3].DW[1] != -2 {
		t.Errorf("snapshot gave %d deltas", len(a.Deltas))
	}
	c.Handle(snapshotMsg(t, 2, 8))
	if a.Deltas[0].Version != 2 {
		t.Error("a new snapshot must bump the version so canvases redraw")
	}
	// Selecting asks for an inspect; a second select before the reply does not queue another.
	a.Select("h.0.attn.q_proj")
	a.Select("h.0.attn.q_proj")
	a.Select("h.1.attn.q_proj")
	if n := countType(*sent, "inspect"); n != 1 {
		t.Errorf("%d inspects in flight, want 1", n)
	}
	// Pause: the worker's reply triggers a snapshot.
	a.TogglePlay()
	pauseID := (*sent)[len(*sent)-1].ID
	c.Handle(protocol.Message{V: 1, Re: pauseID, Type: protocol.TypePause, Status: &protocol.Status{Ready: true, Step: 3}})
	if a.Playing || (*sent)[len(*sent)-1].Type != "snapshot" {
		t.Errorf("pause: playing=%v, last sent %s", a.Playing, (*sent)[len(*sent)-1].Type)
	}
	// Errors are shown and stop play.
	c.Handle(protocol.Message{V: 1, Type: protocol.TypeError, Message: "training stopped at step 12: the loss became NaN"})
	if !strings.Contains(a.Error, "NaN") {
		t.Errorf("error not shown: %q", a.Error)
	}
	// Export downloads the archive under the worker's name.
	a.Export()
	c.Handle(protocol.Message{V: 1, Re: (*sent)[len(*sent)-1].ID, Type: protocol.TypeExport, Export: &protocol.Export{FileName: "lora-nano-e2e.zip"}, Data: []byte("PK")})
	if len(h.downloads) != 1 || h.downloads[0] != "lora-nano-e2e.zip" {
		t.Errorf("downloads %v", h.downloads)
	}
}

func countType(rs []protocol.Request, typ string) int {
	n := 0
	for _, r := range rs {
		if r.Type == typ {
			n++
		}
	}
	return n
}

func TestCustomTextSendsLoadDataAndToleratesTheEarlyConfigureError(t *testing.T) {
	s := state.Default()
	s.Task = state.CustomTask
	a, c, sent, _ := newTestApp(s)
	a.TogglePlay()
	if a.Error == "" || len(*sent) != 0 {
		t.Fatalf("custom task without text should refuse, sent %v", types(*sent))
	}
	a.Custom = "To be, or not to be, that is the question.\n"
	a.TogglePlay()
	if got := types(*sent); !slices.Equal(got, []string{"configure", "load_data", "evaluate", "play"}) {
		t.Fatalf("sent %v", got)
	}
	ld := (*sent)[1]
	if ld.Task != "custom" || ld.FileName != "pasted.txt" || string(ld.Data) != a.Custom {
		t.Errorf("load_data %+v", ld)
	}
	a.Error = ""
	c.Handle(protocol.Message{V: 1, Re: 1, Type: protocol.TypeError, Message: "no data loaded for task custom"})
	if a.Error != "" {
		t.Errorf("expected configure error shown: %q", a.Error)
	}
	if !looksLikeJSONL(" {\"text\": \"x\"}") || looksLikeJSONL("plain") {
		t.Error("looksLikeJSONL")
	}
}

func TestImportAdoptsTheAdapterConfig(t *testing.T) {
	a, c, sent, _ := newTestApp(state.Default())
	a.Import("adapter.zip", []byte("PK"))
	last := (*sent)[len(*sent)-1]
	if last.Type != "import" || string(last.Data) != "PK" {
		t.Fatalf("import sent %+v", last)
	}
	c.Handle(protocol.Message{V: 1, Re: last.ID, Type: protocol.TypeImport, Status: &protocol.Status{Ready: true,
		Config: &protocol.RunConfig{Model: "nano", Method: "lora", Rank: 4, Alpha: 8, Targets: []string{"v_proj", "q_proj", "o_proj"}}}})
	if a.State.Rank != 4 || a.State.Alpha != 8 || !slices.Equal(a.State.Targets, []string{"q_proj", "v_proj", "o_proj"}) {
		t.Errorf("state after import %+v", a.State)
	}
	if len(a.RestartNeeded()) != 0 || a.Applied.Rank != 4 {
		t.Error("the imported adapter is the current run; nothing should need a restart")
	}
	// the refusal of a mismatched file is the worker's message, shown as is
	c.Handle(protocol.Message{V: 1, Re: 99, Type: protocol.TypeError, Message: `adapter was made for base model "tiny", this is "nano"`})
	if !strings.Contains(a.Error, `"tiny"`) {
		t.Errorf("mismatch not shown: %q", a.Error)
	}
}

func TestRunsAreKeptForComparison(t *testing.T) {
	a, c, sent, _ := newTestApp(state.Default())
	for i, r := range []int{1, 8, 2, 4, 16, 32, 64} {
		a.State.Rank = r
		a.Reset()
		c.Handle(protocol.Message{V: 1, Type: protocol.TypeProgress, Progress: &protocol.Progress{Step: 1, Loss: float64(i),
			Points: []protocol.LossPoint{{Step: 1, Loss: float64(i)}}}})
	}
	_ = sent
	if len(a.Runs) != MaxRuns {
		t.Fatalf("%d runs kept, want %d", len(a.Runs), MaxRuns)
	}
	if a.Runs[0].Config.Rank != 8 || a.Current().Config.Rank != 64 {
		t.Errorf("kept ranks %d…%d", a.Runs[0].Config.Rank, a.Current().Config.Rank)
	}
	html := render(t, a)
	if strings.Count(html, "<tr class=") != MaxRuns {
		t.Error("runs table should list every kept run")
	}
	// The page draws the chart to one canvas; the SVG export overlays every kept run.
	if !regexp.MustCompile(`<canvas[^>]*data-testid="loss-chart"`).MatchString(html) || strings.Contains(html, "<path") {
		t.Error("the loss chart should be a canvas, not inline SVG")
	}
	if n := len(regexp.MustCompile(`<path[^>]*stroke-width="2"`).FindAllString(a.ChartSVG(), -1)); n != MaxRuns {
		t.Errorf("chart overlays %d runs, want every kept run (%d)", n, MaxRuns)
	}
	a.ExportCSV()
}

func TestSessionRoundTrip(t *testing.T) {
	a, c, _, _ := newTestApp(state.Default())
	a.TogglePlay()
	c.Handle(protocol.Message{V: 1, Type: protocol.TypeProgress, Progress: &protocol.Progress{Step: 2, Loss: 2,
		Points: []protocol.LossPoint{{Step: 1, Loss: 3}, {Step: 2, Loss: 2}}}})
	c.Handle(protocol.Message{V: 1, Type: protocol.TypeEval, Eval: &protocol.Eval{Step: 2, ValLoss: 2.5, Metric: "exact_match", Accuracy: 0.25}})
	a.State.Rank = 2 // changed but not applied
	saved := a.SavePage()

	b, cb, sentB, _ := newTestApp(state.Default())
	if err := b.RestorePage(saved); err != nil {
		t.Fatal(err)
	}
	if b.State.Rank != 2 || b.Applied.Rank != 8 || b.Steps != 2 || b.ValLoss != 2.5 || b.Current().Accuracy != 0.25 || len(b.RestartNeeded()) != 1 {
		t.Errorf("restored %+v applied %+v steps %d", b.State, b.Applied, b.Steps)
	}
	cb.Restore([]byte{1, 2, 3})
	if (*sentB)[0].Type != "restore_state" {
		t.Fatal("restore not sent")
	}
	cb.Handle(protocol.Message{V: 1, Re: 1, Type: protocol.TypeRestoreState, Status: &protocol.Status{Ready: true, Step: 3},
		History: &protocol.History{Losses: []protocol.LossPoint{{Step: 1, Loss: 3}, {Step: 2, Loss: 2}, {Step: 3, Loss: 1.5}}}})
	if b.Steps != 3 || len(b.Current().Train) != 3 {
		t.Errorf("worker history should replace the curves: steps %d, %d points", b.Steps, len(b.Current().Train))
	}
	if err := b.RestorePage([]byte(`{"version":99}`)); err == nil {
		t.Error("a future version must be refused")
	}
}

func TestFormats(t *testing.T) {
	cases := map[string]string{
		Human(4718592): "4.7M", Human(37748736): "37.7M", Human(175_000_000_000): "175.0B", Human(4096): "4096", Human(114_496): "114.5K",
		Grouped(4718592): "4,718,592", Grouped(-1000): "-1,000", Grouped(12): "12",
		Bytes(512): "512 B", Bytes(16384): "16.0 KiB", Loss(math.NaN()): "—", Loss(2.34567): "2.346",
		Percent(1, 3): "33.3%", Percent(4096, 118592): "3.45%", Percent(1, 0): "—",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestValidationLossFromStepZero(t *testing.T) {
	a, c, sent, _ := newTestApp(state.Default())
	a.Reset()
	cfg := (*sent)[0]
	if cfg.Config.EvalEvery != EvalEvery {
		t.Errorf("configure carried eval_every %d, want %d (the readout names it)", cfg.Config.EvalEvery, EvalEvery)
	}
	if note := (&Root{App: a}).valNote(); note != "every 50 steps" {
		t.Errorf("before any evaluation the readout says %q", note)
	}
	// A fresh run asks for the base model's validation loss right after configure, once.
	c.Handle(protocol.Message{V: 1, Re: cfg.ID, Type: protocol.TypeConfigure, Status: &protocol.Status{Ready: true, TrainableParams: 4096}})
	if got := types(*sent); !slices.Equal(got, []string{"configure", "evaluate"}) {
		t.Fatalf("after ready: sent %v", got)
	}
	// A newer configure (a control moved before the first step) cancels it: no error shown, and the new run asks again.
	evalID := (*sent)[1].ID
	a.State.Rank = 4
	a.Changed()
	c.Handle(protocol.Message{V: 1, Re: evalID, Type: protocol.TypeError, Message: "evaluate: cancelled by configure"})
	if a.Error != "" {
		t.Errorf("a cancelled step-0 evaluation showed %q", a.Error)
	}
	if got := types(*sent); !slices.Equal(got, []string{"configure", "evaluate", "configure", "evaluate"}) {
		t.Fatalf("the new run did not ask for its step-0 loss: sent %v", got)
	}
	cfg2, ev := (*sent)[2], (*sent)[3]
	c.Handle(protocol.Message{V: 1, Re: cfg2.ID, Type: protocol.TypeConfigure, Status: &protocol.Status{Ready: true, TrainableParams: 2048}})
	c.Handle(protocol.Message{V: 1, Re: ev.ID, Type: protocol.TypeEvaluate, Eval: &protocol.Eval{Step: 0, ValLoss: 3.1}})
	if a.ValLoss != 3.1 || len(a.Current().Val) != 1 || a.Current().Val[0].Step != 0 {
		t.Errorf("step-0 evaluation not recorded: val %v, points %v", a.ValLoss, a.Current().Val)
	}
	if note := (&Root{App: a}).valNote(); note != "at step 0" {
		t.Errorf("readout note %q", note)
	}
	// Another idle status at step 0 (e.g. a pause before any step) does not ask again.
	n := len(*sent)
	c.Handle(protocol.Message{V: 1, Type: protocol.TypeStatus, Status: &protocol.Status{Ready: true}})
	if countType((*sent)[n:], "evaluate") != 0 {
		t.Error("asked twice for the same run's step-0 loss")
	}
	if html := render(t, a); !strings.Contains(html, "at step 0") {
		t.Error("the readout does not say when the validation loss was measured")
	}
}

func TestFailedRequestsDoNotLeaveAStaleStatus(t *testing.T) {
	a, c, sent, _ := newTestApp(state.Default())
	a.Reset()
	a.Import("corrupted.zip", []byte("PK junk"))
	if !strings.Contains(a.Status, "importing corrupted.zip") {
		t.Fatalf("status while importing: %q", a.Status)
	}
	imp := (*sent)[len(*sent)-1]
	c.Handle(protocol.Message{V: 1, Re: imp.ID, Type: protocol.TypeError, Message: "import: peft: not a readable zip archive"})
	if strings.Contains(a.Status, "importing") || !strings.Contains(a.Status, "import failed") {
		t.Errorf("status after a failed import: %q", a.Status)
	}
	if !strings.Contains(a.Error, "not a readable zip") {
		t.Errorf("error after a failed import: %q", a.Error)
	}
	a.Export()
	exp := (*sent)[len(*sent)-1]
	c.Handle(protocol.Message{V: 1, Re: exp.ID, Type: protocol.TypeError, Message: "export: no adapter"})
	if strings.Contains(a.Status, "packing") {
		t.Errorf("status after a failed export: %q", a.Status)
	}
}

func TestSamplePromptSuggestedByTheTaskUnlessTheLearnerTyped(t *testing.T) {
	a, c, _, _ := newTestApp(state.Default())
	c.status(&protocol.Status{Data: &protocol.DataInfo{SamplePrompt: "name[Aromi] food[Thai]\n"}})
	if a.Sample.Prompt != "name[Aromi] food[Thai]\n" {
		t.Fatalf("prompt %q, want the task's suggestion", a.Sample.Prompt)
	}
	c.status(&protocol.Status{Data: &protocol.DataInfo{SamplePrompt: "reverse: light ="}})
	if a.Sample.Prompt != "reverse: light =" {
		t.Fatalf("a new task's suggestion did not replace the old one: %q", a.Sample.Prompt)
	}
	a.Sample.Prompt = "my own words"
	c.status(&protocol.Status{Data: &protocol.DataInfo{SamplePrompt: "Upon the hill "}})
	if a.Sample.Prompt != "my own words" {
		t.Fatalf("the learner's prompt was overwritten: %q", a.Sample.Prompt)
	}
}
