//go:build !(js && wasm)

package main

// Live tests: the same API, built as a worker, under wrangler dev (workerd,
// the open-source Workers runtime) with its local R2, KV and static assets.
// wasm/edge/dev.sh test starts wrangler dev on loopback, sets EDGE_URL and
// runs these; without EDGE_URL they skip.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/peft"
	"github.com/lora-playground/lora-playground/wasm/edge/edgeapi"
)

// live is a client of a running edge.
type live struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newLive(t *testing.T) *live {
	u := os.Getenv("EDGE_URL")
	if u == "" {
		t.Skip("EDGE_URL is not set; wasm/edge/dev.sh test runs these against wrangler dev")
	}
	return &live{t: t, base: strings.TrimSuffix(u, "/"), c: &http.Client{Timeout: 60 * time.Second}}
}

func (l *live) do(method, path, contentType string, body []byte) response {
	l.t.Helper()
	req, err := http.NewRequest(method, l.base+path, bytes.NewReader(body))
	if err != nil {
		l.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := l.c.Do(req)
	if err != nil {
		l.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		l.t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, b}
}

// config reads a base model's config.json from the site, as the
// playground does.
func (l *live) config(size string) model.Config {
	l.t.Helper()
	r := l.do("GET", "/models/"+size+"/config.json", "", nil)
	if r.status != 200 {
		l.t.Fatalf("/models/%s/config.json: status %d", size, r.status)
	}
	c, err := model.ParseConfig(r.body)
	if err != nil {
		l.t.Fatal(err)
	}
	return c
}

func TestLiveStaticAssets(t *testing.T) {
	l := newLive(t)
	probe, probeData := probeFile()
	for _, tc := range []struct {
		path, contentType string
		immutable         bool
	}{
		{"/", "text/html; charset=utf-8", false},
		{"/models/nano/config.json", "application/json", false},
		{"/models/nano/model.safetensors", "application/octet-stream", false},
		{"/" + probe, "text/plain; charset=utf-8", true},
	} {
		r := l.do("GET", tc.path, "", nil)
		if r.status != 200 {
			t.Errorf("GET %s: status %d", tc.path, r.status)
			continue
		}
		if ct := r.header.Get("Content-Type"); ct != tc.contentType {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, ct, tc.contentType)
		}
		cc := r.header.Get("Cache-Control")
		if tc.immutable != (cc == immutableCache) {
			t.Errorf("GET %s: Cache-Control %q (immutable wanted: %v)", tc.path, cc, tc.immutable)
		}
		if !tc.immutable && r.header.Get("ETag") == "" {
			t.Errorf("GET %s: no ETag to revalidate with", tc.path)
		}
		if r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", tc.path)
		}
		// Cross-origin isolated, so the training workers can share memory.
		if r.header.Get("Cross-Origin-Opener-Policy") != "same-origin" || r.header.Get("Cross-Origin-Embedder-Policy") != "require-corp" {
			t.Errorf("GET %s: not cross-origin isolated (COOP %q, COEP %q)", tc.path,
				r.header.Get("Cross-Origin-Opener-Policy"), r.header.Get("Cross-Origin-Embedder-Policy"))
		}
	}
	if r := l.do("GET", "/"+probe, "", nil); !bytes.Equal(r.body, probeData) {
		t.Errorf("probe body %q", r.body)
	}
	// Every .wasm the site ships is served as application/wasm.
	var wasms []string
	if r := l.do("GET", "/ui.wasm", "", nil); r.status == 200 {
		wasms = append(wasms, "/ui.wasm")
	}
	if r := l.do("GET", "/trainer.wasm", "", nil); r.status == 200 {
		wasms = append(wasms, "/trainer.wasm")
	}
	for _, w := range wasms {
		if ct := l.do("HEAD", w, "", nil).header.Get("Content-Type"); ct != "application/wasm" {
			t.Errorf("%s: Content-Type %q", w, ct)
		}
	}
	t.Logf("checked content types of %d static files and %d .wasm (%v)", 4, len(wasms), wasms)
	if r := l.do("GET", "/_headers", "", nil); r.status == 200 {
		t.Error("_headers itself is served")
	}
	if r := l.do("GET", "/no/such/file.js", "", nil); r.status != 404 {
		t.Errorf("a missing file: status %d", r.status)
	}
}

func TestLiveAdapters(t *testing.T) {
	l := newLive(t)
	nano := l.config("nano")
	seed := uint64(time.Now().UnixNano()) // new bytes on every run, so the first upload creates
	zip, _, err := randomAdapter(nano, seed, 4, "q_proj", "v_proj")
	if err != nil {
		t.Fatal(err)
	}
	r := l.do("POST", "/api/adapters", "application/zip", zip)
	if r.status != 201 {
		t.Fatalf("upload: status %d: %s", r.status, r.body)
	}
	up := decode[edgeapi.Upload](t, r)
	t.Logf("uploaded %d bytes as %s", len(zip), up.ID)

	got := l.do("GET", up.URL, "", nil)
	if got.status != 200 || !bytes.Equal(got.body, zip) {
		t.Fatalf("GET %s: status %d, %d bytes; want the %d uploaded bytes", up.URL, got.status, len(got.body), len(zip))
	}
	if ct, cc := got.header.Get("Content-Type"), got.header.Get("Cache-Control"); ct != "application/zip" || cc != immutableCache {
		t.Errorf("GET %s: Content-Type %q, Cache-Control %q", up.URL, ct, cc)
	}
	again := l.do("POST", "/api/adapters", "application/zip", zip)
	if u2 := decode[edgeapi.Upload](t, again); again.status != 200 || u2.ID != up.ID || u2.Created {
		t.Errorf("re-upload: status %d, %+v; want 200 with the same id", again.status, u2)
	}
	meta := decode[edgeapi.Metadata](t, l.do("GET", up.ConfigURL, "", nil))
	if meta.ID != up.ID || meta.Base != nano.Name || meta.R != 4 || meta.Bytes != len(zip) || meta.Created.IsZero() {
		t.Errorf("config: %+v", meta)
	}

	// Refusals, with the right status and nothing stored.
	cfg, w, err := func() ([]byte, []byte, error) {
		_, a, err := randomAdapter(nano, seed+1, 2, "q_proj")
		if err != nil {
			return nil, nil, err
		}
		return peft.Encode(a)
	}()
	if err != nil {
		t.Fatal(err)
	}
	named := func(base string) []byte {
		return zipOf(t, [2]string{peft.ConfigFile, strings.Replace(string(cfg), `"`+nano.Name+`"`, `"`+base+`"`, 1)}, [2]string{peft.WeightsFile, string(w)})
	}
	huge := make([]byte, DefaultLimits.AdapterBytes+1)
	copy(huge, zip)
	for _, tc := range []struct {
		name, ct string
		body     []byte
		status   int
		code     string
	}{
		{"malformed", "application/zip", []byte("this is not a zip archive"), 400, "invalid_adapter"},
		{"truncated", "application/zip", zip[:len(zip)*2/3], 400, "invalid_adapter"},
		{"oversized", "application/zip", huge, 413, "too_large"},
		{"wrong model: nano's shapes named tiny", "application/zip", named("lora-playground/tiny"), 422, "adapter_mismatch"},
		{"wrong model: another family", "application/zip", named("gpt2"), 422, "unknown_base_model"},
		{"wrong content type", "text/plain", zip, 415, "unsupported_media_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, l.do("POST", "/api/adapters", tc.ct, tc.body), tc.status, tc.code)
		})
	}

	unknown := strings.Repeat("0", 64)
	for _, p := range []string{"/api/adapters/" + unknown, "/api/adapters/" + unknown + "/config", "/api/adapters/not-an-id", "/api/nothing"} {
		wantError(t, l.do("GET", p, "", nil), 404, "not_found")
	}
	wantError(t, l.do("DELETE", up.URL, "", nil), 405, "method_not_allowed")
}

func TestLiveGenerate(t *testing.T) {
	l := newLive(t)
	nano := l.config("nano")
	var ids []string
	for _, seed := range []uint64{101, 102} {
		zip, _, err := randomAdapter(nano, seed, 4)
		if err != nil {
			t.Fatal(err)
		}
		r := l.do("POST", "/api/adapters", "application/zip", zip)
		if r.status != 201 && r.status != 200 {
			t.Fatalf("upload: status %d: %s", r.status, r.body)
		}
		ids = append(ids, decode[edgeapi.Upload](t, r).ID)
	}
	gen := func(adapter string) edgeapi.GenerateResponse {
		t.Helper()
		b, _ := json.Marshal(map[string]any{"base": nano.Name, "adapter": adapter, "prompt": "reverse: light =",
			"max_tokens": 32, "temperature": 0.8, "seed": 3})
		r := l.do("POST", "/api/generate", "application/json", b)
		if r.status != 200 {
			t.Fatalf("generate with %q: status %d: %s", adapter, r.status, r.body)
		}
		return decode[edgeapi.GenerateResponse](t, r)
	}
	base, g1, g2 := gen(""), gen(ids[0]), gen(ids[1])
	t.Logf("base      %q (%d ms)", base.Text, base.Millis)
	t.Logf("adapter 1 %q (%d ms)", g1.Text, g1.Millis)
	t.Logf("adapter 2 %q (%d ms)", g2.Text, g2.Millis)
	if g1.Text == g2.Text || g1.Text == base.Text || g2.Text == base.Text {
		t.Error("one base model with two adapters should give three different texts")
	}
	if g1.Tokens != 32 {
		t.Errorf("%d tokens, want 32", g1.Tokens)
	}
	if again := gen(ids[0]); again.Text != g1.Text {
		t.Errorf("the same seed gave %q, then %q", g1.Text, again.Text)
	}
	for _, tc := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"base":"nano","adapter":"` + strings.Repeat("0", 64) + `","prompt":"a"}`, 404, "not_found"},
		{`{"base":"tiny","adapter":"` + ids[0] + `","prompt":"a"}`, 422, "adapter_mismatch"},
		{`{"base":"nano","prompt":"a","max_tokens":100000}`, 400, "token_limit"},
		{`{"base":"nano","prompt":`, 400, "bad_request"},
	} {
		wantError(t, l.do("POST", "/api/generate", "application/json", []byte(tc.body)), tc.status, tc.code)
	}
}
