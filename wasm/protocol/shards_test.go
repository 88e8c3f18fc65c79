package protocol

import (
	"bytes"
	"encoding/binary"
	"math"
	"reflect"
	"slices"
	"testing"
)

// TestShardMessagesRoundTrip: the worker-to-worker requests and replies
// survive encoding, the shard frames included.
func TestShardMessagesRoundTrip(t *testing.T) {
	r := Request{ID: 1, Type: TypeShardConfig, Shard: &Shard{Gen: 3, Config: &ShardConfig{Model: "nano", Method: "lora", Rank: 8, Alpha: 16,
		Dropout: 0.1, Targets: []string{"q_proj", "v_proj"}, RankPattern: map[string]int{"h.0.attn.q_proj": 4},
		AlphaPattern: map[string]float64{"v_proj": 2}, Seed: 1 << 40, SeqLen: 64, Batch: 8,
		LR: 3e-3, MinLRFrac: 0.1, WarmupSteps: 20, Steps: 500, WeightDecay: 0.01, GradClip: 1}}}
	j, p, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRequest(j, p)
	r.V = Version
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("%s: got %+v, %v", r.Type, got, err)
	}

	job := ShardFrame{Kind: FrameJob, ID: 2, Gen: 3, K: 3, Slot: 2, Step: 7, GradStep: 6, Slots: 0b011, RowsStep: 7, Row0: 4, Rows: 1, T: 4, WeightSum: 12.5,
		Params: []float32{1.5, -2, float32(math.Inf(1)), 3e-8}, M: []float32{1, 2, 3, 4}, V: []float32{5, 6, 7, 8},
		Grads:  []float32{9, 10, 11, 12, 13, 14, 15, 16},
		Inputs: []int32{1, 2, 96, 0}, Targets: []int32{2, 96, 0, -1}, Weights: []float32{0, 1, 1, 0.5}}
	grad := ShardFrame{Kind: FrameGrad, ID: 2, Gen: 3, Step: 7, Check: 1<<63 + 5, LossSum: 4.25, Millis: 1.5,
		Params: []float32{}, M: []float32{}, V: []float32{}, Grads: []float32{0.25, -1, 0, 7},
		Inputs: []int32{}, Targets: []int32{}, Weights: []float32{}}
	var into ShardFrame // reused across decodes, as the workers do
	defer func(le bool) { littleEndian = le }(littleEndian)
	for _, f := range []ShardFrame{job, grad} {
		// The byte-copy path (this machine's) and the portable loop make
		// the same bytes.
		littleEndian = false
		slow := AppendShardFrame(nil, &f)
		if err := DecodeShardFrame(slow, &into); err != nil || !reflect.DeepEqual(into, f) {
			t.Fatalf("kind %d, portable path: got %+v, %v; want %+v", f.Kind, into, err, f)
		}
		littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1
		b := AppendShardFrame(nil, &f)
		if !bytes.Equal(b, slow) {
			t.Fatalf("kind %d: the two encodings differ", f.Kind)
		}
		if !IsShardFrame(b) {
			t.Fatal("a frame does not look like one")
		}
		if err := DecodeShardFrame(b, &into); err != nil || !reflect.DeepEqual(into, f) {
			t.Fatalf("kind %d: got %+v, %v; want %+v", f.Kind, into, err, f)
		}
		for _, bad := range [][]byte{b[:len(b)-4], append(slices.Clone(b), 0, 0, 0, 0), b[:10]} {
			if DecodeShardFrame(bad, &into) == nil {
				t.Errorf("kind %d: a frame of %d bytes instead of %d was accepted", f.Kind, len(bad), len(b))
			}
		}
	}
	if IsShardFrame([]byte(`{"v":1,"id":1,"type":"status"}` + "                                  ")) {
		t.Error("JSON text taken for a shard frame")
	}

	st := Message{Type: TypeStatus, Status: &Status{Workers: &Workers{Requested: 2, Active: 2, Starting: 1, Rows: []int{5, 3}}}}
	j, _, _ = st.Encode()
	gotm, _ := DecodeMessage(j, nil)
	if !reflect.DeepEqual(gotm.Status.Workers, st.Status.Workers) {
		t.Fatalf("status workers: %+v", gotm.Status.Workers)
	}
}
