// Package sitetypes pins the Content-Type of every kind of file the static
// playground serves, for both servers that serve it (cmd/serve locally and
// wasm/edge on Cloudflare). Extension guesses differ between hosts and
// minimal containers often have no mime tables; a .wasm served as anything
// but application/wasm cannot be compiled by instantiateStreaming.
package sitetypes

import "path"

// ByExtension maps a file extension (with its dot) to its Content-Type.
var ByExtension = map[string]string{
	".wasm":        "application/wasm",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".html":        "text/html; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json",
	".jsonl":       "application/x-ndjson; charset=utf-8",
	".safetensors": "application/octet-stream",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".txt":         "text/plain; charset=utf-8",
	".zip":         "application/zip",
}

// For returns the Content-Type of a file name, and false when its extension
// is not one the site uses.
func For(name string) (string, bool) {
	t, ok := ByExtension[path.Ext(name)]
	return t, ok
}

// Isolation is the pair of headers that makes the page cross-origin
// isolated, which is what gives its workers SharedArrayBuffer and
// Atomics.wait: the training worker and its shard workers then exchange
// gradients through shared memory (assets/js/lane.js) instead of
// postMessage, which on a busy machine takes 0.5–1.3 ms a message, every
// step. The page loads nothing from other origins, so require-corp costs
// it nothing. Both servers send them on every response; a static host that
// cannot (the page still works) falls back to postMessage.
var Isolation = [][2]string{
	{"Cross-Origin-Opener-Policy", "same-origin"},
	{"Cross-Origin-Embedder-Policy", "require-corp"},
}
