// Command edge is the LoRA Playground on Cloudflare Workers: the static
// site, adapter sharing, and generation with many adapters over one base
// model, chosen per request — LoRA's deployment story.
//
// # What runs where
//
// Static files (the built playground, dist/) are Workers static assets:
// the asset server answers them without starting this program, so a page
// load costs no Go start-up and no CPU time on the free plan. Their headers
// come from a _headers file that `edge stage` writes beside a copy of dist/
// (see [HeaderRules]): pinned content types (.wasm as application/wasm) and
// a year of immutable caching for fingerprinted names; everything else keeps
// the asset server's default of revalidating by ETag. Only /api/* reaches
// the Go program (wrangler.toml: run_worker_first = ["/api/*"]).
//
// The API (its wire types, paths and limits are package edgeapi, which the
// playground page can import), all errors JSON {"error": code, "message": text}:
//
//	POST /api/adapters              upload a PEFT archive (.zip, as the
//	                                playground exports it); 201 {id,...} when
//	                                stored now, 200 with the same id when those
//	                                bytes were stored before
//	GET  /api/adapters/{id}         the archive, byte for byte
//	GET  /api/adapters/{id}/config  its metadata and adapter_config.json
//	POST /api/generate              {base, adapter, prompt, max_tokens,
//	                                temperature, seed} → text
//	GET  /api/health                readiness probe
//
// An adapter's id is the SHA-256 of its archive bytes: the same bytes always
// get the same id, and an object, once written, is never written again. The
// archive lives in R2 (strongly consistent: the source of truth); its
// metadata (base model, r, α, targets, created) in KV, which is eventually
// consistent across locations, so a KV miss falls back to R2.
//
// # Base models come from the static assets
//
// The worker reads a shipped base model's config.json and model.safetensors
// through the ASSETS binding, from the same files the browser downloads.
// Embedding them instead would put them in the worker upload, which must
// stay under 3 MB gzip on the free plan: the worker alone is 2.1 MB gzip
// (7.4 MB raw; a bare syumai/workers handler is already 1.5 MB), nano adds
// 0.4 MB and tiny 1.6 MB, so both would not fit, and no larger model ever
// could. Static assets do not count towards that limit, and the browser
// downloads the very same files, so there is one copy of each model.
//
// A base model is named as in its config.json, "lora-playground/<size>"
// (the short "<size>" is accepted too), and is found at
// /models/<size>/ among the assets.
//
// # One program per request
//
// syumai/workers starts a fresh Go instance for every request, so nothing
// is cached in memory: each generation decodes the base model and the
// adapter again. Work is bounded by a token cap, a prompt cap and a
// wall-clock cap checked between tokens (Go on wasm cannot be preempted,
// so the check must sit in the decoding loop).
//
// # Layout
//
// The handlers are plain Go over three small interfaces (BlobStore for R2,
// MetaStore for KV, Assets for the ASSETS binding), so `go test
// ./wasm/edge/` runs them under net/http/httptest with in-memory fakes.
// main_js.go binds them to Workers; main_native.go is a native tool with
// `serve` (the same API on 127.0.0.1 with in-memory stores), `stage`
// (copy dist/ and write _headers) and `load` (the loopback benchmark).
package main
