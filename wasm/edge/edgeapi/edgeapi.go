// Package edgeapi is the wire format of the playground's edge API (see
// wasm/edge): request and response bodies, paths and limits, shared by the
// worker and by any Go client such as the playground page. It imports
// nothing heavier than encoding/json, so a js/wasm page can use it without
// linking net/http's client (the page calls fetch through syscall/js).
//
// Every error is an Error body with a 4xx or 5xx status.
//
//	POST /api/adapters              body: a PEFT archive (.zip), Content-Type
//	                                application/zip; 201 Upload when stored
//	                                now, 200 Upload with the same id when
//	                                those bytes were stored before
//	GET  /api/adapters/{id}         the archive, byte for byte (application/zip)
//	GET  /api/adapters/{id}/config  Metadata
//	POST /api/generate              GenerateRequest → GenerateResponse
//	GET  /api/health                {"ok": true}: the edge is there
//
// A page served without the edge (plain ./build.sh serve) gets a 404 that
// is not JSON from /api/health; that is how it knows sharing is off.
package edgeapi

import (
	"encoding/json"
	"time"
)

// Paths of the API.
const (
	HealthPath   = "/api/health"
	AdaptersPath = "/api/adapters"
	GeneratePath = "/api/generate"
)

// AdapterPath is where the archive of adapter id is served.
func AdapterPath(id string) string { return AdaptersPath + "/" + id }

// ConfigPath is where the metadata of adapter id is served.
func ConfigPath(id string) string { return AdaptersPath + "/" + id + "/config" }

// ValidID reports whether id has the form of an adapter id: the lowercase
// hex SHA-256 of the archive's bytes (64 characters of 0-9a-f). A loop,
// not a regexp: the page links this package, and regexp would add ~20 KB
// of gzip to ui.wasm for this one check.
func ValidID(id string) bool {
	if len(id) != 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Limits the worker enforces; requests beyond them get an Error.
const (
	MaxAdapterBytes = 4 << 20 // an uploaded archive, and what its files inflate to
	MaxTokens       = 256     // GenerateRequest.MaxTokens
	MaxPromptChars  = 1000    // GenerateRequest.Prompt, in characters
	MaxTemperature  = 5.0
	GenerateTime    = 10 * time.Second // wall clock per generation, model loading included

	DefaultMaxTokens = 64 // when GenerateRequest.MaxTokens is absent
)

// Error is the body of every error response. Code is stable and
// machine-readable (for example "invalid_adapter", "adapter_mismatch",
// "token_limit", "time_limit", "not_found"); Message says what was wrong
// in words a learner can act on.
type Error struct {
	Code    string `json:"error"`
	Message string `json:"message"`
}

// Upload answers POST /api/adapters.
type Upload struct {
	ID string `json:"id"`
	// Created is true when this request stored the adapter (status 201), and
	// false when the same bytes were stored before (status 200).
	Created   bool   `json:"created"`
	Base      string `json:"base"`       // the base model it fits, e.g. "lora-playground/nano"
	URL       string `json:"url"`        // AdapterPath(ID)
	ConfigURL string `json:"config_url"` // ConfigPath(ID)
}

// Metadata describes a stored adapter: GET /api/adapters/{id}/config.
type Metadata struct {
	ID            string          `json:"id"`
	Base          string          `json:"base"`
	R             int             `json:"r"`
	LoraAlpha     float64         `json:"lora_alpha"`
	UseRslora     bool            `json:"use_rslora"`
	TargetModules []string        `json:"target_modules"`
	Modules       int             `json:"modules"`    // adapted linear layers
	Parameters    int             `json:"parameters"` // numbers in all A and B
	Bytes         int             `json:"bytes"`      // archive size
	Created       time.Time       `json:"created"`
	AdapterConfig json.RawMessage `json:"adapter_config"` // adapter_config.json as stored
}

// GenerateRequest is the body of POST /api/generate (Content-Type
// application/json; unknown fields are refused). Only Prompt is required;
// Base may be left out when Adapter is given, and is then the adapter's.
type GenerateRequest struct {
	Base        string   `json:"base,omitempty"`    // "lora-playground/nano", or just "nano"
	Adapter     string   `json:"adapter,omitempty"` // an Upload.ID; empty for the base model alone
	Prompt      string   `json:"prompt"`
	MaxTokens   *int     `json:"max_tokens,omitempty"`  // 1..MaxTokens; DefaultMaxTokens when nil
	Temperature *float64 `json:"temperature,omitempty"` // 0..MaxTemperature; 0 (greedy) when nil
	Seed        uint64   `json:"seed"`
}

// GenerateResponse answers POST /api/generate. For the same base, adapter,
// prompt, token count, temperature and seed, Text is what the playground's
// own sampler (core/sample) produces locally.
type GenerateResponse struct {
	Base        string  `json:"base"`
	Adapter     string  `json:"adapter,omitempty"`
	Prompt      string  `json:"prompt"`
	Text        string  `json:"text"` // the continuation only
	Tokens      int     `json:"tokens"`
	Temperature float64 `json:"temperature"`
	Seed        uint64  `json:"seed"`
	// Unknown describes prompt characters outside the model's vocabulary
	// (read as <unk>), or is empty.
	Unknown string `json:"unknown,omitempty"`
	Millis  int64  `json:"ms"` // server time, model loading included
}
