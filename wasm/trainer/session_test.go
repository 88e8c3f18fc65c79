package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lora-playground/lora-playground/core/data"
	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/peft"
	"github.com/lora-playground/lora-playground/core/tokenizer"
	"github.com/lora-playground/lora-playground/wasm/protocol"
)

// testModels writes small random GPT-2 models into a temporary "models/"
// folder once per test binary: the tests must not depend on the shipped
// models, which are trained separately.
var testModels = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "trainer-models")
	if err != nil {
		return "", err
	}
	for _, m := range []struct {
		name         string
		embd, layers int
	}{{"testnano", 32, 2}, {"testwide", 48, 2}} {
		vocab := tokenizer.DefaultVocab()
		c := model.Config{Name: m.name, VocabSize: len(vocab), NCtx: 64, NEmbd: m.embd, NHead: 2, NLayer: m.layers,
			Tokenizer: model.TokenizerConfig{Type: "char", Vocab: vocab}}
		mod, err := model.New(c)
		if err != nil {
			return "", err
		}
		mod.InitGPT2(rand.New(rand.NewPCG(1, 2)))
		if err := mod.Save(filepath.Join(dir, m.name), nil); err != nil {
			return "", err
		}
	}
	return dir, nil
})

// fetcher serves models/ from the temporary models and datasets/ from the
// repository's assets/datasets, as the build lays out the site, and counts
// requests per path.
type fetcher struct {
	models string
	count  map[string]int
}

func (f *fetcher) Fetch(p string) ([]byte, error) {
	f.count[p]++
	switch {
	case strings.HasPrefix(p, "models/"):
		return os.ReadFile(filepath.Join(f.models, strings.TrimPrefix(p, "models/")))
	case strings.HasPrefix(p, "datasets/"):
		return os.ReadFile(filepath.Join("..", "..", "assets", "datasets", strings.TrimPrefix(p, "datasets/")))
	}
	return nil, fmt.Errorf("404 %s", p)
}

func newTestSession(t *testing.T) (*Session, *fetcher) {
	t.Helper()
	dir, err := testModels()
	if err != nil {
		t.Fatal(err)
	}
	f := &fetcher{models: dir, count: map[string]int{}}
	s := NewSession(f)
	s.Budget = 20 * time.Millisecond
	return s, f
}

func testConfig() *protocol.RunConfig {
	return &protocol.RunConfig{Model: "testnano", Task: "reverse", Method: "lora", Rank: 4, Alpha: 8,
		Targets: []string{"q_proj", "v_proj"}, LR: 1e-2, Batch: 4, Seed: 1, Steps: 200, EvalEvery: -1}
}

// call sends one request and returns its reply, running Tick while the
// session is busy until the reply (re == id) arrives. Events are returned
// too, in order.
func call(t *testing.T, s *Session, req protocol.Request) (protocol.Message, []protocol.Message) {
	t.Helper()
	// Every request crosses the wire format, as in the browser.
	js, payload, err := req.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if req, err = protocol.DecodeRequest(js, payload); err != nil {
		t.Fatal(err)
	}
	var events []protocol.Message
	pending := s.Handle(req)
	for i := 0; ; i++ {
		for _, m := range pending {
			js, payload, err := m.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if m, err = protocol.DecodeMessage(js, payload); err != nil {
				t.Fatal(err)
			}
			if m.Re == req.ID {
				return m, events
			}
			events = append(events, m)
		}
		if !s.Busy() || i > 100000 {
			t.Fatalf("%s: no reply (busy %v); events %+v", req.Type, s.Busy(), events)
		}
		pending = s.Tick()
	}
}

// ok is call that fails the test on an error reply.
func ok(t *testing.T, s *Session, req protocol.Request) (protocol.Message, []protocol.Message) {
	t.Helper()
	m, ev := call(t, s, req)
	if m.Type == protocol.TypeError {
		t.Fatalf("%s: %s", req.Type, m.Message)
	}
	if m.Type != req.Type {
		t.Fatalf("%s answered with type %s", req.Type, m.Type)
	}
	return m, ev
}

var nextID = 0

func rq(typ string) protocol.Request { nextID++; return protocol.Request{ID: nextID, Type: typ} }

func configured(t *testing.T, cfg *protocol.RunConfig) (*Session, *fetcher) {
	s, f := newTestSession(t)
	r := rq(protocol.TypeConfigure)
	r.Config = cfg
	ok(t, s, r)
	return s, f
}

func stepN(t *testing.T, s *Session, n int) []protocol.LossPoint {
	t.Helper()
	r := rq(protocol.TypeStep)
	r.N = n
	m, ev := ok(t, s, r)
	var pts []protocol.LossPoint
	for _, e := range ev {
		if e.Type == protocol.TypeProgress {
			pts = append(pts, e.Progress.Points...)
		}
	}
	if len(pts) != n || m.Progress.Step != pts[len(pts)-1].Step {
		t.Fatalf("step %d: %d loss points, reply at step %d", n, len(pts), m.Progress.Step)
	}
	return pts
}

func mean(p []protocol.LossPoint) float64 {
	var s float64
	for _, x := range p {
		s += x.Loss
	}
	return s / float64(len(p))
}

func TestConfigureLoadsTaskAndReportsData(t *testing.T) {
	s, f := configured(t, testConfig())
	st := s.Status()
	if !st.Ready || st.Step != 0 || st.Model.Name != "testnano" || st.Config.SeqLen != 32 {
		t.Fatalf("status %+v", st)
	}
	d := st.Data
	if d.Task != "reverse" || d.Kind != "prompt_completion" || d.Metric != "exact_match" ||
		d.TrainExamples != 3000 || d.ValExamples != 300 || d.TrainTokens == 0 || d.Truncated != 0 || d.ValRows != 300 || d.EvalRows != protocol.MaxEvalRows {
		t.Errorf("data %+v", d)
	}
	// LoRA r=4 on q,v of 2 layers of width 32: 2·2·4·(32+32) trainable.
	if st.TrainableParams != 2*2*4*64 || st.OptimizerBytes != 2*4*st.TrainableParams || st.FrozenParams == 0 {
		t.Errorf("params: trainable %d optimiser %d frozen %d", st.TrainableParams, st.OptimizerBytes, st.FrozenParams)
	}
	// A second configure of the same model and task fetches nothing again.
	cfg := testConfig()
	cfg.Rank = 2
	r := rq(protocol.TypeConfigure)
	r.Config = cfg
	ok(t, s, r)
	for p, n := range f.count {
		if n != 1 {
			t.Errorf("%s fetched %d times", p, n)
		}
	}
	if s.Status().TrainableParams != 2*2*2*64 {
		t.Errorf("rank 2: %d trainable", s.Status().TrainableParams)
	}
}

func TestStepLowersLoss(t *testing.T) {
	s, _ := configured(t, testConfig())
	pts := stepN(t, s, 30)
	for _, p := range pts {
		if math.IsNaN(p.Loss) || math.IsInf(p.Loss, 0) {
			t.Fatalf("step %d loss %v", p.Step, p.Loss)
		}
	}
	if first, last := mean(pts[:5]), mean(pts[25:]); !(last < first) {
		t.Errorf("loss did not fall: first 5 steps %.4f, last 5 %.4f", first, last)
	}
	if st := s.Status(); st.Step != 30 || st.Running {
		t.Errorf("after step 30: %+v", st)
	}
}

func TestPlayPauseInChunks(t *testing.T) {
	s, _ := configured(t, testConfig())
	s.Budget = time.Millisecond // one or a few steps per chunk
	s.SnapshotEvery = 0         // a snapshot after every chunk
	m, _ := ok(t, s, rq(protocol.TypePlay))
	if !m.Status.Running {
		t.Fatal("play reply does not say running")
	}
	var progress, snaps int
	for i := 0; i < 3; i++ {
		for _, e := range s.Tick() {
			switch e.Type {
			case protocol.TypeProgress:
				progress++
				if !e.Progress.Running || len(e.Progress.Points) == 0 || e.Progress.TokensPerSec <= 0 {
					t.Errorf("progress %+v", e.Progress)
				}
			case protocol.TypeSnapshot:
				snaps++
				if len(e.Snapshot.Deltas) != 2*2 {
					t.Errorf("%d ΔW in a snapshot, want layers×targets = 4", len(e.Snapshot.Deltas))
				}
			}
		}
	}
	if progress != 3 || snaps != 3 {
		t.Errorf("%d progress and %d snapshot events from 3 chunks", progress, snaps)
	}
	step := s.Status().Step
	if step < 3 || step > 40 {
		t.Errorf("%d steps in 3 chunks of 1 ms", step)
	}
	m, _ = ok(t, s, rq(protocol.TypePause))
	if m.Status.Running || s.Busy() {
		t.Error("still running after pause")
	}
	if out := s.Tick(); out != nil || s.Status().Step != step {
		t.Errorf("a tick after pause trained: %+v", out)
	}
}

func TestPlayStopsAtScheduleEndWithEval(t *testing.T) {
	cfg := testConfig()
	cfg.Steps, cfg.EvalEvery = 12, 5
	s, _ := configured(t, cfg)
	s.Budget = time.Nanosecond // one step per chunk
	ok(t, s, rq(protocol.TypePlay))
	var evals []int
	var sawStatus bool
	for i := 0; s.Busy() && i < 10000; i++ {
		for _, e := range s.Tick() {
			switch e.Type {
			case protocol.TypeEval:
				evals = append(evals, e.Eval.Step)
				if e.Eval.Metric != "exact_match" || e.Eval.Rows != protocol.MaxEvalRows || !strings.Contains(e.Eval.Note, "first 64 of 300") {
					t.Errorf("eval %+v", e.Eval)
				}
			case protocol.TypeStatus:
				sawStatus = !e.Status.Running
			case protocol.TypeError:
				t.Fatal(e.Message)
			}
		}
	}
	if st := s.Status(); st.Step != 12 || st.Running {
		t.Errorf("after the schedule: %+v", st)
	}
	if !sawStatus {
		t.Error("no status event when the run finished")
	}
	// Evaluations every 5 steps, and at the end of the schedule.
	if !slices.Equal(evals, []int{5, 10, 12}) {
		t.Errorf("evaluations at steps %v", evals)
	}
	m, _ := call(t, s, rq(protocol.TypePlay))
	if m.Type != protocol.TypeError || !strings.Contains(m.Message, "finished its 12 steps") {
		t.Errorf("play after the end: %+v", m)
	}
}

func TestEvaluate(t *testing.T) {
	s, _ := configured(t, testConfig())
	m, _ := ok(t, s, rq(protocol.TypeEvaluate))
	e := m.Eval
	// A random model over 97 tokens: near ln 97 ≈ 4.57 nats.
	if e.Step != 0 || math.Abs(e.ValLoss-math.Log(97)) > 0.5 || e.Metric != "exact_match" || e.Accuracy != 0 || e.AccuracyRows != 64 {
		t.Errorf("eval %+v", e)
	}
}

func TestSampleBaseAndAdapted(t *testing.T) {
	s, _ := configured(t, testConfig())
	sample := func() *protocol.Sample {
		r := rq(protocol.TypeSample)
		r.Prompt, r.Tokens, r.Seed, r.Temperature = "reverse: horse =", 16, 5, 0.8
		m, _ := ok(t, s, r)
		return m.Sample
	}
	before := sample()
	if before.Base != before.Adapted {
		t.Errorf("before training (B = 0) base %q and adapted %q differ", before.Base, before.Adapted)
	}
	stepN(t, s, 30)
	after := sample()
	if after.Base != before.Base {
		t.Errorf("training changed the base model's sample: %q → %q", before.Base, after.Base)
	}
	if after.Base == after.Adapted {
		t.Errorf("after training base and adapted are the same: %q", after.Base)
	}
	if len([]rune(after.Adapted)) != 16 {
		t.Errorf("adapted sample %q is not 16 characters", after.Adapted)
	}
}

func TestMergeUnmerge(t *testing.T) {
	s, _ := configured(t, testConfig())
	stepN(t, s, 20)
	r := rq(protocol.TypeSnapshot)
	snapBefore, _ := ok(t, s, r)
	m, _ := ok(t, s, rq(protocol.TypeMerge))
	mr := m.Merge
	if !(mr.MaxLogitDiff < 1e-4) || mr.ProbeTokens == 0 || !m.Status.Merged {
		t.Errorf("merge %+v", mr)
	}
	if mr.MaxLogitDiff == 0 {
		t.Log("merged logits equal unmerged bit for bit")
	}
	if len(mr.Shapes) != 4 {
		t.Errorf("%d shapes", len(mr.Shapes))
	}
	for _, sh := range mr.Shapes {
		if sh.Before != sh.After || sh.Before != [2]int{32, 32} {
			t.Errorf("%s: %v → %v", sh.Module, sh.Before, sh.After)
		}
	}
	if m, _ := call(t, s, rq(protocol.TypeMerge)); m.Type != protocol.TypeError {
		t.Error("merging twice was accepted")
	}
	ok(t, s, rq(protocol.TypeUnmerge))
	snapAfter, _ := ok(t, s, rq(protocol.TypeSnapshot))
	if !bytes.Equal(snapBefore.Data, snapAfter.Data) {
		t.Error("merge + unmerge changed ΔW")
	}
	// Training after a merge unmerges first and goes on.
	ok(t, s, rq(protocol.TypeMerge))
	stepN(t, s, 1)
	if s.Status().Merged {
		t.Error("still merged after a step")
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	s, _ := configured(t, testConfig())
	stepN(t, s, 10)
	ex, _ := ok(t, s, rq(protocol.TypeExport))
	if ex.Export.Bytes != len(ex.Data) || !strings.HasSuffix(ex.Export.FileName, ".zip") {
		t.Errorf("export %+v with %d bytes", ex.Export, len(ex.Data))
	}
	a, err := peft.DecodeArchive(ex.Data, 1<<30)
	if err != nil || a.Config.BaseModelNameOrPath != "testnano" || a.Config.R != 4 {
		t.Fatalf("exported archive: %v %+v", err, a)
	}
	want, _ := ok(t, s, rq(protocol.TypeSnapshot))

	// Into a fresh session with another rank configured: the archive's r wins.
	cfg := testConfig()
	cfg.Rank, cfg.Alpha = 1, 3
	s2, _ := configured(t, cfg)
	r := rq(protocol.TypeImport)
	r.Data = ex.Data
	m, _ := ok(t, s2, r)
	if c := m.Status.Config; c.Rank != 4 || c.Alpha != 8 || !slices.Equal(c.Targets, []string{"q_proj", "v_proj"}) || m.Status.Step != 0 {
		t.Errorf("after import: %+v step %d", c, m.Status.Step)
	}
	got, _ := ok(t, s2, rq(protocol.TypeSnapshot))
	if !bytes.Equal(got.Data, want.Data) {
		t.Error("imported ΔW differs from the exported one")
	}
	// And the imported adapter keeps training.
	stepN(t, s2, 2)
}

func TestImportRefusesOtherBaseModel(t *testing.T) {
	cfg := testConfig()
	cfg.Model = "testwide"
	other, _ := configured(t, cfg)
	stepN(t, other, 2)
	ex, _ := ok(t, other, rq(protocol.TypeExport))

	s, _ := configured(t, testConfig())
	before := s.Status()
	r := rq(protocol.TypeImport)
	r.Data = ex.Data
	m, _ := call(t, s, r)
	if m.Type != protocol.TypeError || !strings.Contains(m.Message, `"testwide"`) || !strings.Contains(m.Message, `"testnano"`) {
		t.Errorf("import of a testwide adapter into testnano: %+v", m)
	}
	// Without a base model name, the shapes still give it away.
	a, err := peft.DecodeArchive(ex.Data, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	a.Config.BaseModelNameOrPath = ""
	if r.Data, err = peft.EncodeArchive(a); err != nil {
		t.Fatal(err)
	}
	r.ID++
	m, _ = call(t, s, r)
	if m.Type != protocol.TypeError || !strings.Contains(m.Message, "h.0.attn.q_proj") {
		t.Errorf("import of a nameless testwide adapter: %+v", m)
	}
	if after := s.Status(); after.Config.Rank != before.Config.Rank || after.Step != before.Step {
		t.Error("a refused import changed the session")
	}
	r.Data = []byte("not a zip")
	r.ID++
	if m, _ = call(t, s, r); m.Type != protocol.TypeError {
		t.Error("garbage imported")
	}
}

func TestInspectRankAtMostR(t *testing.T) {
	s, _ := configured(t, testConfig())
	stepN(t, s, 15)
	r := rq(protocol.TypeInspect)
	r.Module = "h.1.attn.v_proj"
	m, _ := ok(t, s, r)
	in := m.Inspect
	if len(in.Singular) != 32 || in.Rank != 4 {
		t.Fatalf("%d singular values, rank %d", len(in.Singular), in.Rank)
	}
	if in.NumericalRank < 1 || in.NumericalRank > 4 {
		t.Errorf("numerical rank %d, singular values %v", in.NumericalRank, in.Singular)
	}
	if in.Singular[4] > in.Tol {
		t.Errorf("σ₅ = %g above tolerance %g", in.Singular[4], in.Tol)
	}
	// ΔW in the payload is s·B·A of the A and B beside it.
	dw, err := in.Delta.Float32s(m.Data)
	if err != nil {
		t.Fatal(err)
	}
	A, _ := in.A.Float32s(m.Data)
	B, _ := in.B.Float32s(m.Data)
	var worst float64
	for i := 0; i < 32; i++ {
		for j := 0; j < 32; j++ {
			var sum float64
			for k := 0; k < 4; k++ {
				sum += float64(B[i*4+k]) * float64(A[k*32+j])
			}
			worst = math.Max(worst, math.Abs(in.Scale*sum-float64(dw[i*32+j])))
		}
	}
	if worst > 1e-6 {
		t.Errorf("ΔW differs from s·B·A by %g", worst)
	}
	r.Module, r.ID = "h.0.mlp.up_proj", r.ID+1
	if m, _ := call(t, s, r); m.Type != protocol.TypeError || !strings.Contains(m.Message, "not adapted") {
		t.Errorf("inspect of an unadapted module: %+v", m)
	}
	r.Module, r.ID = "h.9.attn.q_proj", r.ID+1
	if m, _ := call(t, s, r); m.Type != protocol.TypeError {
		t.Errorf("inspect of a missing layer: %+v", m)
	}
}

func TestFullFineTuningDelta(t *testing.T) {
	cfg := testConfig()
	cfg.Method, cfg.LR = "full", 1e-3
	s, _ := configured(t, cfg)
	stepN(t, s, 3)
	m, _ := ok(t, s, rq(protocol.TypeSnapshot))
	if len(m.Snapshot.Deltas) != 2*6 {
		t.Fatalf("%d ΔW for full fine-tuning, want every linear layer", len(m.Snapshot.Deltas))
	}
	for _, d := range m.Snapshot.Deltas {
		if d.MaxAbs == 0 {
			t.Errorf("%s did not change", d.Name)
		}
	}
	r := rq(protocol.TypeInspect)
	r.Module = "h.0.mlp.down_proj"
	in, _ := ok(t, s, r)
	if in.Inspect.A != nil || len(in.Inspect.Singular) != 32 || in.Inspect.Delta.Rows != 32 || in.Inspect.Delta.Cols != 128 {
		t.Errorf("inspect %+v", in.Inspect)
	}
	for _, typ := range []string{protocol.TypeMerge, protocol.TypeExport} {
		if m, _ := call(t, s, rq(typ)); m.Type != protocol.TypeError {
			t.Errorf("%s accepted for full fine-tuning", typ)
		}
	}
	// The base model stays pristine: base sampling is unaffected.
	if st := s.Status(); st.FrozenParams != 0 {
		t.Errorf("full fine-tuning has %d frozen parameters", st.FrozenParams)
	}
}

func TestSaveRestoreContinuesExactly(t *testing.T) {
	s, _ := configured(t, testConfig())
	stepN(t, s, 6)
	ok(t, s, rq(protocol.TypeEvaluate))
	saved, _ := ok(t, s, rq(protocol.TypeSaveState))
	if saved.Saved.Step != 6 || saved.Saved.Bytes != len(saved.Data) {
		t.Fatalf("saved %+v", saved.Saved)
	}
	cont := stepN(t, s, 4)

	s2, _ := newTestSession(t)
	r := rq(protocol.TypeRestoreState)
	r.Data = saved.Data
	m, _ := ok(t, s2, r)
	if m.Status.Step != 6 || len(m.History.Losses) != 6 || len(m.History.Evals) != 1 || m.Status.Config.Rank != 4 {
		t.Fatalf("restored %+v history %d/%d", m.Status, len(m.History.Losses), len(m.History.Evals))
	}
	got := stepN(t, s2, 4)
	if !slices.Equal(got, cont) {
		t.Errorf("restored run continued differently:\n got %v\nwant %v", got, cont)
	}

	// Garbage and a damaged trainer state are refused.
	r.Data, r.ID = []byte("junk"), r.ID+1
	if m, _ := call(t, s2, r); m.Type != protocol.TypeError {
		t.Error("junk restored")
	}
}

func TestRestoreRefusesOtherBaseWeights(t *testing.T) {
	s, f := configured(t, testConfig())
	saved, _ := ok(t, s, rq(protocol.TypeSaveState))
	// Same model name, other weights: a retrained base model.
	dir := t.TempDir()
	m, err := model.Load(filepath.Join(f.models, "testnano"))
	if err != nil {
		t.Fatal(err)
	}
	m.W.WTE[0] += 1
	if err := m.Save(filepath.Join(dir, "testnano"), nil); err != nil {
		t.Fatal(err)
	}
	s2 := NewSession(&fetcher{models: dir, count: map[string]int{}})
	r := rq(protocol.TypeRestoreState)
	r.Data = saved.Data
	if m, _ := call(t, s2, r); m.Type != protocol.TypeError || !strings.Contains(m.Message, "another version of base model") {
		t.Errorf("restore over other weights: %+v", m)
	}
}

func TestCustomData(t *testing.T) {
	cfg := testConfig()
	cfg.Task = protocol.CustomTask
	s, _ := configured(t, cfg)
	if st := s.Status(); st.Ready {
		t.Fatal("ready without custom data")
	}
	if m, _ := call(t, s, rq(protocol.TypeStep)); m.Type != protocol.TypeError || !strings.Contains(m.Message, "load data") {
		t.Errorf("step without data: %+v", m)
	}
	text := strings.Repeat("Le café est très bon.\nThe light of the sun is refracted.\n", 40)
	r := rq(protocol.TypeLoadData)
	r.Task, r.FileName, r.Data = protocol.CustomTask, "notes.txt", []byte(text)
	m, _ := ok(t, s, r)
	d := m.Status.Data
	if d.Kind != "text" || d.FileName != "notes.txt" || d.TrainTokens+d.ValTokens != len([]rune(text)) {
		t.Errorf("custom data %+v (text is %d characters)", d, len([]rune(text)))
	}
	if !strings.Contains(d.Unknown, "'é'") || !strings.Contains(d.Unknown, "'è'") {
		t.Errorf("unknown-character report %q", d.Unknown)
	}
	stepN(t, s, 3)
	// Saved with its data, and restored without it being sent again.
	saved, _ := ok(t, s, rq(protocol.TypeSaveState))
	s2, _ := newTestSession(t)
	rr := rq(protocol.TypeRestoreState)
	rr.Data = saved.Data
	if m, _ := ok(t, s2, rr); m.Status.Data.FileName != "notes.txt" || m.Status.Step != 3 {
		t.Errorf("restored custom run %+v", m.Status)
	}

	r.Data, r.ID = make([]byte, protocol.MaxCustomBytes+1), r.ID+1
	if m, _ := call(t, s, r); m.Type != protocol.TypeError || !strings.Contains(m.Message, "at most 2.0 MB") {
		t.Errorf("oversized custom data: %+v", m)
	}
	r.FileName, r.Data, r.ID = "data.csv", []byte("a,b\n"), r.ID+1
	if m, _ := call(t, s, r); m.Type != protocol.TypeError || !strings.Contains(m.Message, ".csv") {
		t.Errorf("csv: %+v", m)
	}
	jsonl := ""
	for i := 0; i < 20; i++ {
		jsonl += fmt.Sprintf("{\"prompt\": \"%d plus one =\", \"completion\": \" %d\"}\n", i, i+1)
	}
	r.FileName, r.Data, r.ID = "plus.jsonl", []byte(jsonl), r.ID+1
	m, _ = ok(t, s, r)
	if d := m.Status.Data; d.Kind != "prompt_completion" || d.TrainExamples != 18 || d.ValExamples != 2 || m.Status.Step != 0 {
		t.Errorf("jsonl custom data %+v", d)
	}
}

func TestNaNGuardStopsWithError(t *testing.T) {
	s, _ := configured(t, testConfig())
	stepN(t, s, 2)
	s.run.work.W.WTE[0] = float32(math.NaN()) // as if the weights had diverged
	r := rq(protocol.TypeStep)
	r.N = 5
	m, ev := call(t, s, r)
	if m.Type != protocol.TypeError || !strings.Contains(m.Message, "training stopped at step 3") {
		t.Errorf("step reply %+v", m)
	}
	var sawEvent bool
	for _, e := range ev {
		if e.Type == protocol.TypeError && e.Re == 0 && strings.Contains(e.Message, "NaN") {
			sawEvent = true
		}
	}
	if !sawEvent {
		t.Errorf("no NaN error event among %+v", ev)
	}
	if st := s.Status(); st.Halted == "" || st.Running || st.Step != 2 {
		t.Errorf("status after NaN %+v", st)
	}
	if m, _ := call(t, s, rq(protocol.TypePlay)); m.Type != protocol.TypeError || !strings.Contains(m.Message, "reset") {
		t.Errorf("play after NaN: %+v", m)
	}
	m, _ = ok(t, s, rq(protocol.TypeReset))
	if m.Status.Halted != "" || m.Status.Step != 0 {
		t.Errorf("reset %+v", m.Status)
	}
}

func TestRequestErrors(t *testing.T) {
	s, _ := newTestSession(t)
	for _, c := range []struct {
		req  protocol.Request
		want string
	}{
		{rq(protocol.TypePlay), "configure the run first"},
		{rq(protocol.TypeSample), "configure the run first"},
		{rq("fly"), "unknown request type"},
		{protocol.Request{ID: 99, Type: protocol.TypeConfigure}, "no config"},
		{protocol.Request{ID: 98, Type: protocol.TypeConfigure, Config: &protocol.RunConfig{Model: "../etc", Task: "e2e"}}, "model name"},
		{protocol.Request{ID: 97, Type: protocol.TypeConfigure, Config: &protocol.RunConfig{Model: "missing", Task: "e2e"}}, "model missing"},
		{protocol.Request{ID: 96, Type: protocol.TypeLoadData, Task: "e2e"}, "configure first"},
	} {
		m, _ := call(t, s, c.req)
		if m.Type != protocol.TypeError || m.Re != c.req.ID || !strings.Contains(m.Message, c.want) {
			t.Errorf("%s: %+v, want an error mentioning %q", c.req.Type, m, c.want)
		}
	}
	cfg := testConfig()
	cfg.Rank = 0
	r := rq(protocol.TypeConfigure)
	r.Config = cfg
	if m, _ := call(t, s, r); m.Type != protocol.TypeError || !strings.Contains(m.Message, "rank") {
		t.Errorf("rank 0: %+v", m)
	}
	cfg = testConfig()
	cfg.Task = "nosuchtask"
	r.Config, r.ID = cfg, r.ID+1
	if m, _ := call(t, s, r); m.Type != protocol.TypeError || !strings.Contains(m.Message, "nosuchtask") {
		t.Errorf("missing task: %+v", m)
	}
	if s.Status().Config != nil {
		t.Error("failed configures changed the session")
	}
}

func TestSavedStateIsAReadableZip(t *testing.T) {
	s, _ := configured(t, testConfig())
	stepN(t, s, 1)
	saved, _ := ok(t, s, rq(protocol.TypeSaveState))
	zr, err := zip.NewReader(bytes.NewReader(saved.Data), int64(len(saved.Data)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if !slices.Equal(names, []string{runJSON, trainerFile}) {
		t.Errorf("saved run holds %v", names)
	}
}

func TestPauseAnswersPendingStep(t *testing.T) {
	s, _ := configured(t, testConfig())
	s.Budget = time.Millisecond
	r := rq(protocol.TypeStep)
	r.N = 1000
	if out := s.Handle(r); len(out) != 0 {
		t.Fatalf("step answered at once: %+v", out)
	}
	s.Tick()
	again := rq(protocol.TypeStep)
	again.N = 1
	if m, _ := call(t, s, again); m.Type != protocol.TypeError || !strings.Contains(m.Message, "still running") {
		t.Errorf("a second step request while one runs: %+v", m)
	}
	out := s.Handle(rq(protocol.TypePause))
	var pauseReply, stepReply bool
	for _, m := range out {
		pauseReply = pauseReply || m.Type == protocol.TypePause
		if m.Re == r.ID && m.Type == protocol.TypeStep {
			stepReply = true
			if m.Progress.Step < 1 || m.Progress.Step >= 1000 {
				t.Errorf("step reply after pause at step %d", m.Progress.Step)
			}
		}
	}
	if !pauseReply || !stepReply || s.Busy() {
		t.Errorf("pause during a step request: %+v (busy %v)", out, s.Busy())
	}
}

func TestConfigureCancelsRunningWork(t *testing.T) {
	s, _ := configured(t, testConfig())
	ok(t, s, rq(protocol.TypePlay))
	s.Tick()
	ev := rq(protocol.TypeEvaluate)
	s.Handle(ev) // an evaluation now in flight
	r := rq(protocol.TypeConfigure)
	r.Config = testConfig()
	out := s.Handle(r)
	var cancelled bool
	for _, m := range out {
		if m.Re == ev.ID && m.Type == protocol.TypeError && strings.Contains(m.Message, "cancelled by configure") {
			cancelled = true
		}
	}
	if !cancelled || s.Busy() || s.Status().Step != 0 {
		t.Errorf("configure while playing and evaluating: %+v", out)
	}
}

func TestTextTaskUsesWholeContextAndEvalSubset(t *testing.T) {
	cfg := testConfig()
	cfg.Task = "verse"
	s, _ := configured(t, cfg)
	st := s.Status()
	if st.Config.SeqLen != 64 || st.Data.Kind != "text" || st.Data.EvalRows > protocol.MaxEvalRows || st.Data.ValRows <= st.Data.EvalRows {
		t.Errorf("verse: seq_len %d, data %+v", st.Config.SeqLen, st.Data)
	}
	m, _ := ok(t, s, rq(protocol.TypeEvaluate))
	if m.Eval.Metric != "" || m.Eval.Rows != st.Data.EvalRows || !strings.Contains(m.Eval.Note, fmt.Sprintf("first %d of %d", m.Eval.Rows, st.Data.ValRows)) {
		t.Errorf("verse eval %+v", m.Eval)
	}
}

func TestPanicBecomesErrorReply(t *testing.T) {
	s, _ := configured(t, testConfig())
	ok(t, s, rq(protocol.TypePlay))
	s.run.work.Adapters[0][model.ModQ].A = nil // a bug: the adapter lost its matrix
	out := s.Tick()
	if len(out) != 1 || out[0].Type != protocol.TypeError || !strings.Contains(out[0].Message, "internal error") || s.Busy() {
		t.Errorf("panic in a chunk: %+v (busy %v)", out, s.Busy())
	}
	m, _ := call(t, s, rq(protocol.TypeSnapshot))
	if m.Type != protocol.TypeError || !strings.Contains(m.Message, "internal error") {
		t.Errorf("panic in a request: %+v", m)
	}
	ok(t, s, rq(protocol.TypeReset)) // and the session is usable again
	stepN(t, s, 1)
}

func TestStepEvaluatesOnlyEveryEvalEvery(t *testing.T) {
	cfg := testConfig()
	cfg.EvalEvery = 5
	s, _ := configured(t, cfg)
	s.Budget = time.Hour // each request's steps in one chunk, whatever the machine's speed
	count := func(n int) (evals []int) {
		r := rq(protocol.TypeStep)
		r.N = n
		call(t, s, r)
		for s.Busy() {
			for _, m := range s.Tick() {
				if m.Type == protocol.TypeEval {
					evals = append(evals, m.Eval.Step)
				}
			}
		}
		return evals
	}
	if e := count(3); len(e) != 0 {
		t.Errorf("3 steps of an eval_every=5 run evaluated at %v", e)
	}
	if e := count(3); len(e) != 1 || e[0] != 6 {
		t.Errorf("steps 4..6 evaluated at %v, want [6]", e)
	}
}

func TestSamplePromptFollowsTheTaskFormat(t *testing.T) {
	pc := []data.Example{{Prompt: "reverse: light =", Completion: " thgil"}}
	if got := samplePrompt(data.KindPromptCompletion, pc); got != "reverse: light =" {
		t.Errorf("prompt/completion: %q", got)
	}
	text := []data.Example{{Completion: "Upon the hill the shepherd sings alone\n"}}
	if got := samplePrompt(data.KindText, text); got != "Upon the hill the " {
		t.Errorf("text: %q, want the opening words cut at a space", got)
	}
	if samplePrompt(data.KindText, nil) != "" {
		t.Error("no validation data should suggest nothing")
	}
}
