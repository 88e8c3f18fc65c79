//go:build js && wasm

package jswire

import (
	"bytes"
	"syscall/js"
	"testing"

	"github.com/lora-playground/lora-playground/wasm/protocol"
)

// TestEnvelopeRoundTrip runs under node (GOOS=js GOARCH=wasm go test).
func TestEnvelopeRoundTrip(t *testing.T) {
	req := protocol.Request{ID: 3, Type: protocol.TypeImport, Data: []byte{1, 2, 3, 250}}
	j, p, err := req.Encode()
	if err != nil {
		t.Fatal(err)
	}
	env, transfer := Envelope(j, p)
	if transfer.Length() != 1 || !transfer.Index(0).Equal(env.Get("buf")) {
		t.Fatalf("transfer list does not hold the payload buffer")
	}
	if n := env.Get("buf").Get("byteLength").Int(); n != 4 {
		t.Fatalf("buf has %d bytes", n)
	}
	j2, p2 := Open(env)
	got, err := protocol.DecodeRequest(j2, p2)
	if err != nil || got.ID != 3 || !bytes.Equal(got.Data, req.Data) {
		t.Fatalf("round trip: %+v %v", got, err)
	}

	// No payload: no buf, empty transfer list.
	env, transfer = Envelope([]byte(`{"v":1}`), nil)
	if transfer.Length() != 0 || !env.Get("buf").IsUndefined() {
		t.Error("an empty payload produced a buffer")
	}
	if _, p := Open(env); p != nil {
		t.Errorf("payload %v", p)
	}

	// A typed-array view (not at offset 0) is read from its own window.
	ab := js.Global().Get("ArrayBuffer").New(8)
	full := js.Global().Get("Uint8Array").New(ab)
	js.CopyBytesToJS(full, []byte{9, 9, 5, 6, 7, 9, 9, 9})
	view := js.Global().Get("Uint8Array").New(ab, 2, 3)
	env = js.Global().Get("Object").New()
	env.Set("json", "{}")
	env.Set("buf", view)
	if _, p := Open(env); !bytes.Equal(p, []byte{5, 6, 7}) {
		t.Errorf("view payload %v", p)
	}

	// A shard frame: a bare ArrayBuffer, no JSON.
	frame := protocol.AppendShardFrame(nil, &protocol.ShardFrame{Kind: protocol.FrameGrad, ID: 4, Grads: []float32{1, 2}})
	buf := Frame(frame)
	if !buf.InstanceOf(js.Global().Get("ArrayBuffer")) {
		t.Fatal("Frame did not make an ArrayBuffer")
	}
	if j, p := Open(buf); j != nil || !bytes.Equal(p, frame) {
		t.Errorf("frame round trip: json %q, %d bytes of %d", j, len(p), len(frame))
	}
}
