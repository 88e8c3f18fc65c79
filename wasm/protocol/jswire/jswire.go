//go:build js && wasm

// Package jswire turns a protocol message's (json, payload) pair into the
// JS envelope {json, buf} that crosses postMessage, and back. Both the
// worker and the UI use it, so the envelope is built in one place.
//
// The payload is copied once between Go's memory and a fresh ArrayBuffer
// with js.CopyBytesToJS / js.CopyBytesToGo (a memmove, not a per-element
// loop), and that ArrayBuffer is then transferred, not cloned, by
// postMessage(env, transfer).
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

// Open returns the json text and payload of an envelope. A missing buf
// gives a nil payload. buf may be an ArrayBuffer or any typed array view.
func Open(env js.Value) (jsonText, payload []byte) {
	if j := env.Get("json"); j.Type() == js.TypeString {
		jsonText = []byte(j.String())
	}
	buf := env.Get("buf")
	if buf.IsUndefined() || buf.IsNull() {
		return jsonText, nil
	}
	var u8 js.Value
	if buf.InstanceOf(js.Global().Get("ArrayBuffer")) {
		u8 = js.Global().Get("Uint8Array").New(buf)
	} else {
		u8 = js.Global().Get("Uint8Array").New(buf.Get("buffer"), buf.Get("byteOffset"), buf.Get("byteLength"))
	}
	payload = make([]byte, u8.Get("byteLength").Int())
	js.CopyBytesToGo(payload, u8)
	return jsonText, payload
}
