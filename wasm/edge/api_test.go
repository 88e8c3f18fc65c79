//go:build !(js && wasm)

package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/peft"
	"github.com/lora-playground/lora-playground/core/tokenizer"
	"github.com/lora-playground/lora-playground/wasm/edge/edgeapi"
)

// testModels are random base models with the shipped models' names and
// shapes, built once: the API tests must not depend on pretraining.
var testModels = sync.OnceValues(func() (fstest.MapFS, error) {
	fsys := fstest.MapFS{}
	tok := tokenizer.Default()
	for i, sz := range []struct {
		name string
		c    int
	}{{"nano", 64}, {"tiny", 128}} {
		c := model.Config{Name: modelPrefix + sz.name, VocabSize: tok.Size(), NCtx: 128, NEmbd: sz.c, NHead: 4, NLayer: 2,
			Tokenizer: model.TokenizerConfig{Type: "char", Vocab: tok.Vocab()}}
		m, err := model.New(c)
		if err != nil {
			return nil, err
		}
		m.InitGPT2(rand.New(rand.NewPCG(uint64(i)+1, 2)))
		w, err := m.EncodeWeights(nil)
		if err != nil {
			return nil, err
		}
		cb, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		fsys["models/"+sz.name+"/config.json"] = &fstest.MapFile{Data: cb}
		fsys["models/"+sz.name+"/model.safetensors"] = &fstest.MapFile{Data: w}
	}
	return fsys, nil
})

// env is a Server over in-memory stores, behind httptest.
type env struct {
	t     *testing.T
	srv   *Server
	blobs *MemBlobs
	meta  *MemMeta
	http  *httptest.Server
	logs  []string
	mu    sync.Mutex
}

func newEnv(t *testing.T) *env {
	t.Helper()
	fsys, err := testModels()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, blobs: &MemBlobs{}, meta: &MemMeta{}}
	e.srv = &Server{Blobs: e.blobs, Meta: e.meta, Assets: FSAssets{fsys},
		Log: func(f string, a ...any) { e.mu.Lock(); e.logs = append(e.logs, fmt.Sprintf(f, a...)); e.mu.Unlock() }}
	e.http = httptest.NewServer(e.srv)
	t.Cleanup(e.http.Close)
	return e
}

// config returns the test base model's config.
func (e *env) config(size string) model.Config {
	e.t.Helper()
	fsys, _ := testModels()
	c, err := model.ParseConfig(fsys["models/"+size+"/config.json"].Data)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// adapter returns a random adapter archive for base model size.
func (e *env) adapter(size string, seed uint64, r int, targets ...string) []byte {
	e.t.Helper()
	zip, _, err := randomAdapter(e.config(size), seed, r, targets...)
	if err != nil {
		e.t.Fatal(err)
	}
	return zip
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (e *env) do(method, path, contentType string, body []byte, hdr ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.http.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, b}
}

func (e *env) upload(zip []byte) response {
	return e.do("POST", "/api/adapters", "application/zip", zip)
}

func (e *env) generate(req map[string]any) response {
	b, err := json.Marshal(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do("POST", "/api/generate", "application/json", b)
}

// wantError checks that r is the JSON error code with status.
func wantError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status %d, want %d; body %s", r.status, status, r.body)
	}
	checkErrorShape(t, r)
	var e struct{ Error, Message string }
	json.Unmarshal(r.body, &e)
	if e.Error != code {
		t.Errorf("error code %q, want %q (message %q)", e.Error, code, e.Message)
	}
}

// checkErrorShape checks that an error response is exactly
// {"error": code, "message": text}, both non-empty, served as JSON.
func checkErrorShape(t *testing.T, r response) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q, want application/json", ct)
	}
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("error body is not JSON: %v: %q", err, r.body)
	}
	code, _ := m["error"].(string)
	msg, _ := m["message"].(string)
	if len(m) != 2 || code == "" || msg == "" {
		t.Errorf("error body %s, want exactly non-empty error and message", r.body)
	}
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("status %d: %v: %s", r.status, err, r.body)
	}
	return v
}

func TestUploadStoresByHashAndServesBytesBack(t *testing.T) {
	e := newEnv(t)
	zip := e.adapter("nano", 1, 4, "q_proj", "v_proj")
	sum := sha256.Sum256(zip)
	wantID := hex.EncodeToString(sum[:])

	r := e.upload(zip)
	if r.status != http.StatusCreated {
		t.Fatalf("upload: status %d: %s", r.status, r.body)
	}
	up := decode[edgeapi.Upload](t, r)
	if up.ID != wantID || !up.Created || up.Base != "lora-playground/nano" {
		t.Fatalf("upload answered %+v, want id %s created on nano", up, wantID)
	}
	if loc := r.header.Get("Location"); loc != "/api/adapters/"+wantID {
		t.Errorf("Location %q", loc)
	}

	got := e.do("GET", up.URL, "", nil)
	if got.status != 200 || !bytes.Equal(got.body, zip) {
		t.Fatalf("GET %s: status %d, %d bytes, want the %d uploaded bytes", up.URL, got.status, len(got.body), len(zip))
	}
	for k, want := range map[string]string{"Content-Type": "application/zip", "Cache-Control": immutableCache, "ETag": `"` + wantID + `"`} {
		if v := got.header.Get(k); v != want {
			t.Errorf("GET %s: %s %q, want %q", up.URL, k, v, want)
		}
	}
	if nm := e.do("GET", up.URL, "", nil, "If-None-Match", `"`+wantID+`"`); nm.status != http.StatusNotModified || len(nm.body) != 0 {
		t.Errorf("If-None-Match: status %d with %d bytes, want 304 and none", nm.status, len(nm.body))
	}
	if h := e.do("HEAD", up.URL, "", nil); h.status != 200 || len(h.body) != 0 {
		t.Errorf("HEAD: status %d, %d bytes", h.status, len(h.body))
	}

	// The same bytes again: the same id, 200, nothing rewritten.
	again := e.upload(zip)
	if again.status != http.StatusOK {
		t.Fatalf("re-upload: status %d: %s", again.status, again.body)
	}
	if up2 := decode[edgeapi.Upload](t, again); up2.ID != wantID || up2.Created {
		t.Errorf("re-upload answered %+v, want the same id, created false", up2)
	}
	if e.blobs.Puts != 1 {
		t.Errorf("R2 was written %d times, want once", e.blobs.Puts)
	}

	// Different bytes, different id.
	other := decode[edgeapi.Upload](t, e.upload(e.adapter("nano", 2, 4, "q_proj", "v_proj")))
	if other.ID == wantID || !other.Created {
		t.Errorf("a different adapter got %+v", other)
	}
}

func TestConfigFromKVAndFallbackToR2(t *testing.T) {
	e := newEnv(t)
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	e.srv.Now = func() time.Time { return now }
	e.blobs.Now = e.srv.Now
	zip := e.adapter("tiny", 3, 8, "q_proj", "k_proj", "up_proj")
	up := decode[edgeapi.Upload](t, e.upload(zip))
	if up.Base != "lora-playground/tiny" {
		t.Fatalf("base %q", up.Base)
	}
	check := func(label string) {
		t.Helper()
		r := e.do("GET", up.ConfigURL, "", nil)
		if r.status != 200 {
			t.Fatalf("%s: status %d: %s", label, r.status, r.body)
		}
		m := decode[edgeapi.Metadata](t, r)
		// tiny: C=128, 2 layers; q,k: 8·(128+128); up: 8·(128+512).
		wantParams := 2 * (2*8*256 + 8*640)
		if m.ID != up.ID || m.Base != "lora-playground/tiny" || m.R != 8 || m.LoraAlpha != 16 || m.Modules != 6 ||
			m.Parameters != wantParams || m.Bytes != len(zip) || !m.Created.Equal(now) ||
			strings.Join(m.TargetModules, ",") != "q_proj,k_proj,up_proj" {
			t.Errorf("%s: metadata %+v (want %d parameters)", label, m, wantParams)
		}
		var ac peft.Config
		if err := json.Unmarshal(m.AdapterConfig, &ac); err != nil || ac.BaseModelNameOrPath != "lora-playground/tiny" || ac.R != 8 {
			t.Errorf("%s: adapter_config %s (%v)", label, m.AdapterConfig, err)
		}
	}
	check("from KV")
	e.meta.Delete(metaKey(up.ID)) // as if KV had not propagated yet
	check("from R2")
	wantError(t, e.do("GET", "/api/adapters/"+strings.Repeat("0", 64)+"/config", "", nil), 404, "not_found")
}

func TestGenerateOneBaseManyAdapters(t *testing.T) {
	e := newEnv(t)
	a1 := decode[edgeapi.Upload](t, e.upload(e.adapter("nano", 11, 4))).ID
	a2 := decode[edgeapi.Upload](t, e.upload(e.adapter("nano", 12, 4))).ID
	text := func(req map[string]any) edgeapi.GenerateResponse {
		t.Helper()
		r := e.generate(req)
		if r.status != 200 {
			t.Fatalf("generate %v: status %d: %s", req, r.status, r.body)
		}
		return decode[edgeapi.GenerateResponse](t, r)
	}
	req := func(adapter string) map[string]any {
		return map[string]any{"base": "lora-playground/nano", "adapter": adapter, "prompt": "reverse: light =", "max_tokens": 24, "temperature": 0, "seed": 5}
	}
	base, g1, g2 := text(req("")), text(req(a1)), text(req(a2))
	if g1.Text == g2.Text || g1.Text == base.Text || g2.Text == base.Text {
		t.Errorf("base %q, adapter 1 %q, adapter 2 %q: want three different texts", base.Text, g1.Text, g2.Text)
	}
	if g1.Tokens != 24 || len([]rune(g1.Text)) != 24 || g1.Adapter != a1 || g1.Base != "lora-playground/nano" {
		t.Errorf("response %+v", g1)
	}
	if again := text(req(a1)); again.Text != g1.Text {
		t.Errorf("same request twice: %q then %q", g1.Text, again.Text)
	}
	// The base defaults to the adapter's; the short name works too.
	noBase := req(a1)
	delete(noBase, "base")
	if g := text(noBase); g.Text != g1.Text || g.Base != "lora-playground/nano" {
		t.Errorf("without base: %+v, want adapter 1's text on nano", g)
	}
	short := req(a2)
	short["base"] = "nano"
	if g := text(short); g.Text != g2.Text {
		t.Errorf("base \"nano\": %q, want %q", g.Text, g2.Text)
	}
	// Sampling: the seed matters, and the defaults apply.
	hot := req(a1)
	hot["temperature"] = 1.0
	s1 := text(hot)
	hot["seed"] = 6
	if s2 := text(hot); s1.Text == s2.Text {
		t.Errorf("seeds 5 and 6 at temperature 1 gave the same %q", s1.Text)
	}
	if g := text(map[string]any{"base": "tiny", "prompt": "é!"}); g.Tokens != edgeapi.DefaultMaxTokens || g.Temperature != 0 || g.Unknown == "" {
		t.Errorf("defaults: %+v, want %d greedy tokens and the unknown character reported", g, edgeapi.DefaultMaxTokens)
	}
}

// zipOf packs files into a zip archive, in order.
func zipOf(t *testing.T, files ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.Create(f[0])
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f[1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// archiveParts returns the two files of a valid nano adapter.
func archiveParts(t *testing.T, e *env, seed uint64) (configJSON, weights []byte) {
	t.Helper()
	_, a, err := randomAdapter(e.config("nano"), seed, 2, "q_proj")
	if err != nil {
		t.Fatal(err)
	}
	configJSON, weights, err = peft.Encode(a)
	if err != nil {
		t.Fatal(err)
	}
	return configJSON, weights
}

func TestUploadRefusals(t *testing.T) {
	e := newEnv(t)
	good := e.adapter("nano", 1, 2, "q_proj")
	cfg, w := archiveParts(t, e, 1)
	nan := bytes.Clone(w)
	copy(nan[len(nan)-4:], []byte{0, 0, 0xc0, 0x7f}) // the last float becomes NaN
	inf := bytes.Clone(w)
	copy(inf[len(inf)-4:], []byte{0, 0, 0x80, 0x7f}) // +Inf
	withBase := func(name string) string {
		return strings.Replace(string(cfg), `"lora-playground/nano"`, name, 1)
	}
	huge := make([]byte, DefaultLimits.AdapterBytes+1)
	copy(huge, good)

	for _, tc := range []struct {
		name, ct string
		body     []byte
		status   int
		code     string
	}{
		{"no content type", "", good, 415, "unsupported_media_type"},
		{"json content type", "application/json", good, 415, "unsupported_media_type"},
		{"bad content type", "zip;;;", good, 415, "unsupported_media_type"},
		{"oversized", "application/zip", huge, 413, "too_large"},
		{"empty", "application/zip", nil, 400, "invalid_adapter"},
		{"not a zip", "application/zip", []byte("adapter_config.json, honestly"), 400, "invalid_adapter"},
		{"truncated", "application/zip", good[:len(good)/2], 400, "invalid_adapter"},
		{"truncated by one byte", "application/zip", good[:len(good)-1], 400, "invalid_adapter"},
		{"no weights", "application/zip", zipOf(t, [2]string{peft.ConfigFile, string(cfg)}), 400, "invalid_adapter"},
		{"no config", "application/zip", zipOf(t, [2]string{peft.WeightsFile, string(w)}), 400, "invalid_adapter"},
		{"config not JSON", "application/zip", zipOf(t, [2]string{peft.ConfigFile, "{"}, [2]string{peft.WeightsFile, string(w)}), 400, "invalid_adapter"},
		{"weights truncated", "application/zip", zipOf(t, [2]string{peft.ConfigFile, string(cfg)}, [2]string{peft.WeightsFile, string(w[:len(w)-4])}), 400, "invalid_adapter"},
		{"NaN weight", "application/zip", zipOf(t, [2]string{peft.ConfigFile, string(cfg)}, [2]string{peft.WeightsFile, string(nan)}), 400, "invalid_adapter"},
		{"Inf weight", "application/zip", zipOf(t, [2]string{peft.ConfigFile, string(cfg)}, [2]string{peft.WeightsFile, string(inf)}), 400, "invalid_adapter"},
		{"DoRA", "application/zip", zipOf(t, [2]string{peft.ConfigFile, strings.Replace(string(cfg), `"use_dora": false`, `"use_dora": true`, 1)}, [2]string{peft.WeightsFile, string(w)}), 400, "invalid_adapter"},
		{"rank disagrees with config", "application/zip", zipOf(t, [2]string{peft.ConfigFile, strings.Replace(string(cfg), `"r": 2`, `"r": 3`, 1)}, [2]string{peft.WeightsFile, string(w)}), 400, "invalid_adapter"},
		{"another model family", "application/zip", zipOf(t, [2]string{peft.ConfigFile, withBase(`"gpt2"`)}, [2]string{peft.WeightsFile, string(w)}), 422, "unknown_base_model"},
		{"no base model", "application/zip", zipOf(t, [2]string{peft.ConfigFile, withBase(`""`)}, [2]string{peft.WeightsFile, string(w)}), 422, "unknown_base_model"},
		{"unshipped size", "application/zip", zipOf(t, [2]string{peft.ConfigFile, withBase(`"lora-playground/huge"`)}, [2]string{peft.WeightsFile, string(w)}), 422, "unknown_base_model"},
		{"path in base name", "application/zip", zipOf(t, [2]string{peft.ConfigFile, withBase(`"lora-playground/../nano"`)}, [2]string{peft.WeightsFile, string(w)}), 422, "unknown_base_model"},
		{"nano shapes named tiny", "application/zip", zipOf(t, [2]string{peft.ConfigFile, withBase(`"lora-playground/tiny"`)}, [2]string{peft.WeightsFile, string(w)}), 422, "adapter_mismatch"},
		{"tiny adapter named nano", "application/zip", func() []byte {
			_, a, err := randomAdapter(e.config("tiny"), 1, 2, "q_proj")
			if err != nil {
				t.Fatal(err)
			}
			a.Config.BaseModelNameOrPath = "lora-playground/nano"
			z, err := peft.EncodeArchive(a)
			if err != nil {
				t.Fatal(err)
			}
			return z
		}(), 422, "adapter_mismatch"},
		{"a layer the base lacks", "application/zip", func() []byte {
			_, a, _ := randomAdapter(e.config("nano"), 1, 2, "q_proj")
			a.Modules[0].Module = "h.7.attn.q_proj"
			z, err := peft.EncodeArchive(a)
			if err != nil {
				t.Fatal(err)
			}
			return z
		}(), 422, "adapter_mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do("POST", "/api/adapters", tc.ct, tc.body), tc.status, tc.code)
		})
	}
	if e.blobs.Puts != 0 {
		t.Errorf("%d refused uploads reached R2", e.blobs.Puts)
	}

	// Oversized without a Content-Length (chunked): refused while reading.
	req, _ := http.NewRequest("POST", e.http.URL+"/api/adapters", io.MultiReader(bytes.NewReader(huge)))
	req.Header.Set("Content-Type", "application/zip")
	req.ContentLength = -1
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	wantError(t, response{res.StatusCode, res.Header, b}, 413, "too_large")
}

func TestGenerateRefusals(t *testing.T) {
	e := newEnv(t)
	nanoID := decode[edgeapi.Upload](t, e.upload(e.adapter("nano", 1, 2, "q_proj"))).ID
	unknown := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"not JSON", `{"prompt":`, 400, "bad_request"},
		{"two values", `{"base":"nano","prompt":"a"} {}`, 400, "bad_request"},
		{"unknown field", `{"base":"nano","prompt":"a","top_p":0.9}`, 400, "bad_request"},
		{"wrong type", `{"base":"nano","prompt":"a","max_tokens":"many"}`, 400, "bad_request"},
		{"negative seed", `{"base":"nano","prompt":"a","seed":-1}`, 400, "bad_request"},
		{"no model", `{"prompt":"a"}`, 400, "invalid_request"},
		{"empty prompt", `{"base":"nano","prompt":""}`, 400, "invalid_request"},
		{"prompt too long", `{"base":"nano","prompt":"` + strings.Repeat("a", DefaultLimits.PromptChars+1) + `"}`, 400, "prompt_limit"},
		{"zero tokens", `{"base":"nano","prompt":"a","max_tokens":0}`, 400, "invalid_request"},
		{"too many tokens", `{"base":"nano","prompt":"a","max_tokens":100000}`, 400, "token_limit"},
		{"negative temperature", `{"base":"nano","prompt":"a","temperature":-0.5}`, 400, "invalid_request"},
		{"huge temperature", `{"base":"nano","prompt":"a","temperature":1e300}`, 400, "invalid_request"},
		{"unknown base", `{"base":"gpt2","prompt":"a"}`, 422, "unknown_base_model"},
		{"unshipped base", `{"base":"lora-playground/medium","prompt":"a"}`, 422, "unknown_base_model"},
		{"unknown adapter", `{"base":"nano","adapter":"` + unknown + `","prompt":"a"}`, 404, "not_found"},
		{"malformed adapter id", `{"adapter":"../../etc","prompt":"a"}`, 404, "not_found"},
		{"adapter on the wrong base", `{"base":"tiny","adapter":"` + nanoID + `","prompt":"a"}`, 422, "adapter_mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do("POST", "/api/generate", "application/json", []byte(tc.body)), tc.status, tc.code)
		})
	}
	wantError(t, e.do("POST", "/api/generate", "text/plain", []byte(`{"base":"nano","prompt":"a"}`)), 415, "unsupported_media_type")
	wantError(t, e.do("POST", "/api/generate", "application/json", bytes.Repeat([]byte(" "), maxGenerateBodyLen+1)), 413, "too_large")
}

func TestGenerateTimeLimit(t *testing.T) {
	e := newEnv(t)
	// A clock that moves one second per reading: the 10 s cap is reached a
	// few tokens in, whatever the machine's speed.
	var mu sync.Mutex
	clock := time.Unix(0, 0)
	e.srv.Now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}
	r := e.generate(map[string]any{"base": "nano", "prompt": "a", "max_tokens": 200})
	wantError(t, r, http.StatusServiceUnavailable, "time_limit")
	var body struct{ Message string }
	json.Unmarshal(r.body, &body)
	if !strings.Contains(body.Message, "10s") || !strings.Contains(body.Message, "of 200 tokens") {
		t.Errorf("the message should state the limit and the progress: %q", body.Message)
	}
	// Under the cap, the same request succeeds.
	e.srv.Now = nil
	if r := e.generate(map[string]any{"base": "nano", "prompt": "a", "max_tokens": 200}); r.status != 200 {
		t.Errorf("with a real clock: status %d: %s", r.status, r.body)
	}
}

func TestRouting(t *testing.T) {
	e := newEnv(t)
	id := decode[edgeapi.Upload](t, e.upload(e.adapter("nano", 1, 2, "q_proj"))).ID
	for _, tc := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/api/nothing", 404, "not_found", ""},
		{"GET", "/api", 404, "not_found", ""},
		{"GET", "/api/adapters", 405, "method_not_allowed", "POST"},
		{"PUT", "/api/generate", 405, "method_not_allowed", "POST"},
		{"DELETE", "/api/adapters/" + id, 405, "method_not_allowed", "GET, HEAD"},
		{"POST", "/api/adapters/" + id + "/config", 405, "method_not_allowed", "GET, HEAD"},
		{"GET", "/api/adapters/" + strings.Repeat("0", 64), 404, "not_found", ""},
		{"GET", "/api/adapters/" + strings.ToUpper(id), 404, "not_found", ""},
		{"GET", "/api/adapters/" + id[:63], 404, "not_found", ""},
		{"GET", "/api/adapters/" + id + "/", 404, "not_found", ""},
		{"GET", "/api/adapters/" + id + "/weights", 404, "not_found", ""},
		{"GET", "/api/adapters/" + id + "/config/x", 404, "not_found", ""},
		{"GET", "/api/adapters/%00", 404, "not_found", ""},
	} {
		r := e.do(tc.method, tc.path, "", nil)
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			wantError(t, r, tc.status, tc.code)
			if a := r.header.Get("Allow"); a != tc.allow {
				t.Errorf("Allow %q, want %q", a, tc.allow)
			}
		})
	}
	if r := e.do("GET", "/api/health", "", nil); r.status != 200 || !bytes.Contains(r.body, []byte(`"ok":true`)) {
		t.Errorf("health: %d %s", r.status, r.body)
	}
}

// faultyBlobs fails or panics on demand.
type faultyBlobs struct {
	MemBlobs
	fail, panics bool
}

func (f *faultyBlobs) Get(ctx context.Context, key string) (*Blob, error) {
	if f.panics {
		panic("R2 exploded")
	}
	if f.fail {
		return nil, errors.New("R2: secret internal detail")
	}
	return f.MemBlobs.Get(ctx, key)
}

func (f *faultyBlobs) Exists(ctx context.Context, key string) (bool, error) {
	if f.fail {
		return false, errors.New("R2: secret internal detail")
	}
	return f.MemBlobs.Exists(ctx, key)
}

func TestInternalErrorsAndPanicsAreJSON500s(t *testing.T) {
	e := newEnv(t)
	fb := &faultyBlobs{}
	e.srv.Blobs = fb
	id := decode[edgeapi.Upload](t, e.upload(e.adapter("nano", 1, 2, "q_proj"))).ID

	fb.fail = true
	for _, r := range []response{
		e.upload(e.adapter("nano", 2, 2, "q_proj")),
		e.do("GET", "/api/adapters/"+id, "", nil),
		e.generate(map[string]any{"adapter": id, "prompt": "a"}),
	} {
		wantError(t, r, 500, "internal")
		if bytes.Contains(r.body, []byte("secret")) {
			t.Errorf("an internal error leaked to the client: %s", r.body)
		}
	}
	fb.fail, fb.panics = false, true
	wantError(t, e.do("GET", "/api/adapters/"+id, "", nil), 500, "internal")
	// The server is still up, and the panic was logged with its stack.
	fb.panics = false
	if r := e.do("GET", "/api/adapters/"+id, "", nil); r.status != 200 {
		t.Errorf("after a panic: status %d", r.status)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if joined := strings.Join(e.logs, "\n"); !strings.Contains(joined, "R2 exploded") || !strings.Contains(joined, "secret internal detail") {
		t.Errorf("logs %q should hold the panic and the internal error", joined)
	}
}

// TestHostileInputs throws corrupted archives and junk requests at every
// endpoint: each answer must be a success or a JSON 4xx, never a 5xx.
func TestHostileInputs(t *testing.T) {
	e := newEnv(t)
	good := e.adapter("nano", 1, 2, "q_proj", "v_proj")
	rng := rand.New(rand.NewPCG(42, 42))
	check := func(label string, r response) {
		t.Helper()
		if r.status >= 500 {
			t.Fatalf("%s: status %d: %s", label, r.status, r.body)
		}
		if r.status >= 400 && !strings.HasPrefix(label, "HEAD") { // a HEAD answer has no body
			checkErrorShape(t, r)
		}
	}
	for i := range 300 {
		b := bytes.Clone(good)
		switch i % 4 {
		case 0: // flip a few bytes
			for range 1 + rng.IntN(4) {
				b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
			}
		case 1: // cut anywhere
			b = b[:rng.IntN(len(b))]
		case 2: // junk
			b = make([]byte, rng.IntN(2048))
			for j := range b {
				b[j] = byte(rng.Uint32())
			}
		case 3: // junk spliced after the header
			b = append(b[:30+rng.IntN(200)], bytes.Repeat([]byte{byte(rng.Uint32())}, rng.IntN(500))...)
		}
		check(fmt.Sprintf("upload mutation %d", i), e.upload(b))
	}
	junk := []string{``, `null`, `[]`, `"x"`, `{}`, `{"prompt":null}`, `{"prompt":"a","base":1}`, `{"prompt":"\ud800","base":"nano"}`,
		`{"prompt":"a","base":"nano","max_tokens":1e99}`, `{"prompt":"a","base":"nano","temperature":"NaN"}`,
		`{"prompt":"a","base":"lora-playground/","seed":1.5}`, `{"prompt":"a","adapter":"` + strings.Repeat("f", 64) + `"}`,
		`{"prompt":"` + strings.Repeat(`\u00e9`, 999) + `","base":"nano","max_tokens":1}`, `{"prompt":"a","base":"/models/nano"}`}
	for _, j := range junk {
		check("generate "+j[:min(len(j), 40)], e.do("POST", "/api/generate", "application/json", []byte(j)))
	}
	for _, p := range []string{"/api/adapters/" + strings.Repeat("z", 64), "/api/adapters//config", "/api//adapters", "/api/adapters/%2e%2e/config", "/" + strings.Repeat("a/", 500)} {
		for _, m := range []string{"GET", "POST", "HEAD", "OPTIONS", "PATCH"} {
			check(m+" "+p[:min(len(p), 40)], e.do(m, p, "application/zip", good))
		}
	}
	if e.blobs.Puts > 1 {
		t.Errorf("%d objects written; only the unmodified archive could be valid", e.blobs.Puts)
	}
}

// FuzzUpload checks that no archive makes the upload panic or answer 5xx.
func FuzzUpload(f *testing.F) {
	fsys, err := testModels()
	if err != nil {
		f.Fatal(err)
	}
	cb := fsys["models/nano/config.json"].Data
	c, _ := model.ParseConfig(cb)
	good, _, err := randomAdapter(c, 1, 1, "q_proj")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("PK\x03\x04"))
	srv := &Server{Blobs: &MemBlobs{}, Meta: &MemMeta{}, Assets: FSAssets{fsys}, Log: func(string, ...any) {}}
	f.Fuzz(func(t *testing.T, b []byte) {
		req := httptest.NewRequest("POST", "/api/adapters", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/zip")
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}
