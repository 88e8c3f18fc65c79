//go:build js && wasm

// Package jswire turns a protocol message's (json, payload) pair into the
// JS envelope {json, buf} that crosses postMessage, and back. Both the
// worker and the UI use it, so the envelope is built in one place.
//
// The payload is copied once between Go's memory and a fresh ArrayBuffer
// with js.CopyBytesToJS / js.CopyBytesToGo (a memmove, not a per-element
// loop), and that ArrayBuffer is then transferred, not cloned, by
// postMessage(env, transfer).
//
// A shard frame (protocol.ShardFrame, worker to worker only) crosses as a
// bare ArrayBuffer instead of an envelope: Frame makes one, and Open returns
// it as a payload with no JSON text.
package jswire

import "syscall/js"

// Envelope returns the JS object {json, buf} for a message and the transfer
// list to pass as postMessage's second argument ([] or [buf]).
func Envelope(jsonText, payload []byte) (env, transfer js.Value) {
	env = js.Global().Get("Object").New()
	env.Set("json", string(jsonText))
	transfer = js.Global().Get("Array").New()
	if len(payload) > 0 {
		u8 := js.Global().Get("Uint8Array").New(len(payload))
		js.CopyBytesToJS(u8, payload)
		buf := u8.Get("buffer")
		env.Set("buf", buf)
		transfer.Call("push", buf)
	}
	return env, transfer
}

// Frame copies a shard frame into an ArrayBuffer of its size, to be posted
// as postMessage(buf) and NOT transferred: the buffer is reused by the next
// Frame of the same size (a step's frames all have one size), since a fresh
// ArrayBuffer per message cost far more than the copy postMessage then
// makes of it.
func Frame(frame []byte) (buf js.Value) {
	u8, ok := staging[len(frame)]
	if !ok {
		if len(staging) >= 8 { // sizes of a past configuration
			clear(staging)
		}
		u8 = uint8Array.New(len(frame))
		staging[len(frame)] = u8
	}
	js.CopyBytesToJS(u8, frame)
	return u8.Get("buffer")
}

var staging = map[int]js.Value{}

var (
	arrayBuffer = js.Global().Get("ArrayBuffer")
	uint8Array  = js.Global().Get("Uint8Array")
)

// Open returns the json text and payload of an envelope. A missing buf
// gives a nil payload. buf may be an ArrayBuffer or any typed array view.
// A bare ArrayBuffer (a shard frame) gives no json text and its bytes.
func Open(env js.Value) (jsonText, payload []byte) {
	if env.InstanceOf(arrayBuffer) {
		u8 := uint8Array.New(env)
		payload = make([]byte, u8.Length())
		js.CopyBytesToGo(payload, u8)
		return nil, payload
	}
	if j := env.Get("json"); j.Type() == js.TypeString {
		jsonText = []byte(j.String())
	}
	buf := env.Get("buf")
	if buf.IsUndefined() || buf.IsNull() {
		return jsonText, nil
	}
	var u8 js.Value
	if buf.InstanceOf(arrayBuffer) {
		u8 = uint8Array.New(buf)
	} else {
		u8 = uint8Array.New(buf.Get("buffer"), buf.Get("byteOffset"), buf.Get("byteLength"))
	}
	payload = make([]byte, u8.Get("byteLength").Int())
	js.CopyBytesToGo(payload, u8)
	return jsonText, payload
}
