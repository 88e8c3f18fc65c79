package protocol

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func sampleConfig() *RunConfig {
	return &RunConfig{Model: "nano", Task: "reverse", Method: "lora", Rank: 8, Alpha: 16, RSLoRA: true,
		Dropout: 0.05, Targets: []string{"q_proj", "v_proj"}, LR: 2e-3, Batch: 8, Seed: 7, Steps: 300,
		SeqLen: 64, Warmup: 10, EvalEvery: 25}
}

// requests has one request of every type, with every field that type uses.
func requests() []Request {
	return []Request{
		{ID: 1, Type: TypeConfigure, Config: sampleConfig()},
		{ID: 2, Type: TypeLoadData, Task: "e2e"},
		{ID: 3, Type: TypeLoadData, Task: CustomTask, FileName: "pasted.txt", Data: []byte("Ünïcode text\n")},
		{ID: 4, Type: TypePlay},
		{ID: 5, Type: TypePause},
		{ID: 6, Type: TypeStep, N: 5},
		{ID: 7, Type: TypeReset},
		{ID: 8, Type: TypeEvaluate},
		{ID: 9, Type: TypeSample, Prompt: "reverse: horse =", Tokens: 12, Seed: 3, Temperature: 0.7},
		{ID: 10, Type: TypeMerge},
		{ID: 11, Type: TypeUnmerge},
		{ID: 12, Type: TypeExport},
		{ID: 13, Type: TypeImport, Data: []byte("PK\x03\x04 archive bytes")},
		{ID: 14, Type: TypeSnapshot},
		{ID: 15, Type: TypeInspect, Module: "h.1.attn.v_proj"},
		{ID: 16, Type: TypeSaveState},
		{ID: 17, Type: TypeRestoreState, Data: []byte{0, 1, 2, 255}},
		{ID: 18, Type: TypeStatus},
		{ID: 19, Type: TypeExperimentStart, Experiment: sampleExperiment()},
		{ID: 20, Type: TypeExperimentCancel},
		{ID: 21, Type: TypeAnalysisLoad, Data: []byte("PK\x03\x04 other adapter")},
		{ID: 22, Type: TypeAnalysisTrain, Analysis: &AnalysisSpec{Rank: 64, Seed: 2, Steps: 300}},
		{ID: 23, Type: TypeAnalysisCancel},
		{ID: 24, Type: TypeSubspace, Analysis: &AnalysisSpec{Module: "h.0.attn.q_proj"}},
		{ID: 25, Type: TypeAmplify},
		{ID: 26, Type: TypeCombine, Analysis: &AnalysisSpec{Method: "cat", Weights: []float64{0.5, 0.5}, Prompt: "name[", Tokens: 40, SampleSeed: 3, Temperature: 0.8}},
		{ID: 27, Type: TypeWorkers, N: 2},
	}
}

func TestRequestRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range requests() {
		seen[r.Type] = true
		js, payload, err := r.Encode()
		if err != nil {
			t.Fatalf("%s: %v", r.Type, err)
		}
		if strings.Contains(string(js), "Data") {
			t.Errorf("%s: the payload leaked into the JSON: %s", r.Type, js)
		}
		got, err := DecodeRequest(js, payload)
		if err != nil {
			t.Fatalf("%s: %v (json %s)", r.Type, err, js)
		}
		want := r
		want.V = Version
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: round trip\n got %+v\nwant %+v", r.Type, got, want)
		}
	}
	for _, typ := range RequestTypes {
		if !seen[typ] {
			t.Errorf("request type %s has no round-trip case", typ)
		}
	}
}

// TestRequestWire pins the JSON the UI sends, field names included: the
// worker and the UI are built separately and must agree on the text.
func TestRequestWire(t *testing.T) {
	js, payload, err := Request{ID: 1, Type: TypeConfigure, Config: sampleConfig()}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"v":1,"id":1,"type":"configure","config":{"model":"nano","task":"reverse","method":"lora","rank":8,"alpha":16,"rslora":true,"dropout":0.05,"targets":["q_proj","v_proj"],"lr":0.002,"batch":8,"seed":7,"steps":300,"seq_len":64,"warmup":10,"eval_every":25}}`
	if string(js) != want || payload != nil {
		t.Errorf("configure on the wire:\n got %s\nwant %s", js, want)
	}
	js, _, _ = Request{ID: 9, Type: TypeSample, Prompt: "a", Tokens: 4, Seed: 1, Temperature: 0.5}.Encode()
	if want := `{"v":1,"id":9,"type":"sample","prompt":"a","tokens":4,"seed":1,"temperature":0.5}`; string(js) != want {
		t.Errorf("sample on the wire:\n got %s\nwant %s", js, want)
	}
}

func TestDecodeRequestRefuses(t *testing.T) {
	for _, c := range []struct{ json, want string }{
		{`{"v":2,"id":1,"type":"play"}`, "version 2"},
		{`{"v":1,"id":1,"type":"play","rnak":8}`, "rnak"},
		{`{"v":1,"id":1}`, "without a type"},
		{`{"v":1,"id":1,"type":"play"} {}`, "trailing"},
		{`not json`, "bad request"},
	} {
		_, err := DecodeRequest([]byte(c.json), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.json, err, c.want)
		}
	}
}

// messages has one message of every kind the worker sends.
func messages() []Message {
	cfg := sampleConfig()
	status := &Status{Config: cfg, Model: &ModelInfo{Name: "nano", NLayer: 2, NEmbd: 64, NHead: 4, NCtx: 128, VocabSize: 97, Params: 120000},
		Data: &DataInfo{Task: "custom", FileName: "a.txt", Kind: "text", TrainExamples: 10, ValExamples: 2, TrainTokens: 900, ValTokens: 100,
			Unknown: "2 unknown characters: 'é' ×2", EvalRows: 2, ValRows: 2},
		Ready: true, Step: 12, Running: true, TrainableParams: 4096, FrozenParams: 120000, AdapterBytes: 16384, OptimizerBytes: 32768}
	ev := Eval{Step: 50, ValLoss: 1.25, Metric: "exact_match", Accuracy: 0.5, AccuracyRows: 64, Rows: 64, ValRows: 300, Note: "first 64 of 300 rows", Millis: 12.5}
	packed, off := AppendFloat32s(nil, []float32{1, -2, 3, -4, 0.5, 0.25})
	return []Message{
		{Type: TypeReady},
		{Re: 1, Type: TypeConfigure, Status: status},
		{Re: 17, Type: TypeRestoreState, Status: status, History: &History{Losses: []LossPoint{{1, 3.5}, {2, 3.25}}, Evals: []Eval{ev}}},
		{Type: TypeProgress, Progress: &Progress{Step: 12, Loss: 2.5, GradNorm: 0.75, LR: 1e-3, TokensPerSec: 20000, ChunkMillis: 51, Running: true, Points: []LossPoint{{11, 2.6}, {12, 2.5}}}},
		{Re: 6, Type: TypeStep, Progress: &Progress{Step: 5, Points: []LossPoint{}}},
		{Type: TypeEval, Eval: &ev},
		{Re: 9, Type: TypeSample, Sample: &Sample{Prompt: "p", Base: "xx", Adapted: "yy", Seed: 3, Temperature: 0.7, Tokens: 2, Unknown: "1 unknown"}},
		{Re: 10, Type: TypeMerge, Merge: &Merge{MaxLogitDiff: 3e-6, ProbeTokens: 128, Shapes: []LayerShape{{"h.0.attn.q_proj", [2]int{64, 64}, [2]int{64, 64}}}, Millis: 0.5}},
		{Re: 12, Type: TypeExport, Export: &Export{FileName: "adapter.zip", Bytes: 3}, Data: []byte("zip")},
		{Type: TypeSnapshot, Snapshot: &Snapshot{Step: 3, Method: "lora", Rank: 1, Scale: 2, Layers: 1,
			Deltas: []Tensor{{Name: "h.0.attn.q_proj", Rows: 2, Cols: 3, Offset: off, MaxAbs: 4}}}, Data: packed},
		{Re: 15, Type: TypeInspect, Inspect: &Inspect{Step: 3, Module: "h.0.attn.q_proj", Rank: 1, Scale: 2,
			Delta: Tensor{Name: "delta", Rows: 2, Cols: 2}, A: &Tensor{Name: "A", Rows: 1, Cols: 2, Offset: 4}, B: &Tensor{Name: "B", Rows: 2, Cols: 1, Offset: 4},
			Singular: []float64{5, 0}, NumericalRank: 1, Tol: 1e-6}, Data: packed},
		{Re: 16, Type: TypeSaveState, Saved: &Saved{Step: 12, Bytes: 4}, Data: []byte{1, 2, 3, 4}},
		{Re: 4, Type: TypeError, Message: "training stopped at step 12: the loss became NaN"},
		{Type: TypeStatus, Status: &Status{Halted: "stopped"}},
	}
}

func TestMessageRoundTrip(t *testing.T) {
	for _, m := range messages() {
		js, payload, err := m.Encode()
		if err != nil {
			t.Fatalf("%s: %v", m.Type, err)
		}
		got, err := DecodeMessage(js, payload)
		if err != nil {
			t.Fatalf("%s: %v", m.Type, err)
		}
		want := m
		want.V = Version
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: round trip\n got %+v\nwant %+v\njson %s", m.Type, got, want, js)
		}
	}
}

func TestMessageWire(t *testing.T) {
	js, _, _ := Message{Re: 4, Type: TypeError, Message: "boom"}.Encode()
	if want := `{"v":1,"re":4,"type":"error","message":"boom"}`; string(js) != want {
		t.Errorf("error on the wire:\n got %s\nwant %s", js, want)
	}
	js, _, _ = Message{Type: TypeProgress, Progress: &Progress{Step: 1, Loss: 2, GradNorm: 0.5, LR: 0.001, TokensPerSec: 100, ChunkMillis: 50, Running: true}}.Encode()
	if want := `{"v":1,"re":0,"type":"progress","progress":{"step":1,"loss":2,"grad_norm":0.5,"lr":0.001,"tokens_per_sec":100,"chunk_ms":50,"running":true,"points":[]}}`; string(js) != want {
		t.Errorf("progress on the wire:\n got %s\nwant %s", js, want)
	}
	if _, err := DecodeMessage([]byte(`{"v":0,"type":"ready"}`), nil); err == nil || !strings.Contains(err.Error(), "version 0") {
		t.Errorf("a version-0 message decoded: %v", err)
	}
	// A newer worker may add fields; an older UI ignores them.
	if m, err := DecodeMessage([]byte(`{"v":1,"re":0,"type":"ready","future":true}`), nil); err != nil || m.Type != TypeReady {
		t.Errorf("unknown message field: %v %+v", err, m)
	}
}

func TestFloat32Packing(t *testing.T) {
	a := []float32{1.5, -0, float32(math.Inf(1)), math.SmallestNonzeroFloat32}
	b := []float32{-3, 7}
	buf, offA := AppendFloat32s(nil, a)
	buf, offB := AppendFloat32s(buf, b)
	if offA != 0 || offB != 4 || len(buf) != 24 {
		t.Fatalf("offsets %d %d, %d bytes", offA, offB, len(buf))
	}
	// Little-endian: 1.5 is 0x3fc00000.
	if !slices.Equal(buf[:4], []byte{0, 0, 0xc0, 0x3f}) {
		t.Errorf("1.5 encoded as % x", buf[:4])
	}
	got, err := Tensor{Rows: 2, Cols: 2, Offset: offA}.Float32s(buf)
	if err != nil || !slices.Equal(got, a) {
		t.Errorf("a: %v %v", got, err)
	}
	got, err = Tensor{Rows: 1, Cols: 2, Offset: offB}.Float32s(buf)
	if err != nil || !slices.Equal(got, b) {
		t.Errorf("b: %v %v", got, err)
	}
	if _, err := (Tensor{Name: "x", Rows: 1, Cols: 3, Offset: offB}).Float32s(buf); err == nil {
		t.Error("a tensor past the payload's end was read")
	}
	if _, err := (Tensor{Name: "x", Rows: 1, Cols: 1, Offset: -1}).Float32s(buf); err == nil {
		t.Error("a negative offset was read")
	}
}
