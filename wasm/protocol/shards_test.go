package protocol

import (
	"math"
	"reflect"
	"slices"
	"testing"
)

// TestShardMessagesRoundTrip: the worker-to-worker requests and replies
// survive encoding, the job's payload included.
func TestShardMessagesRoundTrip(t *testing.T) {
	params := []float32{1.5, -2, float32(math.Inf(1)), 3e-8}
	inputs, targets := []int32{1, 2, 96, 0}, []int32{2, 96, 0, -1}
	weights := []float32{0, 1, 1, 0.5}
	payload := PackShardJob(nil, params, inputs, targets, weights)
	reqs := []Request{
		{ID: 1, Type: TypeShardConfig, Shard: &Shard{Gen: 3, Config: &ShardConfig{Model: "nano", Method: "lora", Rank: 8, Alpha: 16,
			Dropout: 0.1, Targets: []string{"q_proj", "v_proj"}, RankPattern: map[string]int{"h.0.attn.q_proj": 4},
			AlphaPattern: map[string]float64{"v_proj": 2}, Seed: 1 << 40, SeqLen: 64, Batch: 8}}},
		{ID: 2, Type: TypeShardGrad, Shard: &Shard{Gen: 3, Step: 7, Row0: 4, Rows: 1, SeqLen: 4, WeightSum: 12.5, Params: 4}, Data: payload},
	}
	for _, r := range reqs {
		j, p, err := r.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeRequest(j, p)
		r.V = Version
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Fatalf("%s: got %+v, %v", r.Type, got, err)
		}
	}
	p2, in2, tg2, w2, err := UnpackShardJob(payload, 4, 4)
	if err != nil || !slices.Equal(in2, inputs) || !slices.Equal(tg2, targets) || !slices.Equal(w2, weights) || !slices.Equal(p2, params) {
		t.Fatalf("unpack: %v %v %v %v %v", p2, in2, tg2, w2, err)
	}
	for _, bad := range []struct{ P, N int }{{5, 4}, {4, 3}, {-1, 4}} {
		if _, _, _, _, err := UnpackShardJob(payload, bad.P, bad.N); err == nil {
			t.Errorf("P=%d N=%d: a payload of the wrong size was accepted", bad.P, bad.N)
		}
	}
	m := Message{Re: 2, Type: TypeShardGrad, Shard: &Shard{Gen: 3, LossSum: 4.25, Params: 4, Millis: 1.5}, Data: AppendFloat32sRaw(nil, params)}
	j, p, _ := m.Encode()
	got, err := DecodeMessage(j, p)
	if err != nil || got.Shard.LossSum != 4.25 || !slices.Equal(Float32sOf(got.Data), params) {
		t.Fatalf("reply: %+v %v", got, err)
	}
	st := Message{Type: TypeStatus, Status: &Status{Workers: &Workers{Requested: 2, Active: 1, Starting: 1}}}
	j, _, _ = st.Encode()
	got, _ = DecodeMessage(j, nil)
	if *got.Status.Workers != *st.Status.Workers {
		t.Fatalf("status workers: %+v", got.Status.Workers)
	}
}
