package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func TestContentTypes(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"index.html":                    "text/html; charset=utf-8",
		"ui.wasm":                       "application/wasm",
		"wasm_exec.js":                  "text/javascript; charset=utf-8",
		"assets/css/app.css":            "text/css; charset=utf-8",
		"datasets/e2e/train.jsonl":      "application/x-ndjson; charset=utf-8",
		"models/nano/config.json":       "application/json",
		"models/nano/model.safetensors": "application/octet-stream",
	}
	for name := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		// Content that would sniff as text, so only the extension can make it wasm.
		if err := os.WriteFile(p, []byte("hello"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(handler(dir))
	defer srv.Close()
	for name, want := range files {
		res, err := srv.Client().Get(srv.URL + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("%s: status %d", name, res.StatusCode)
		}
		if got := res.Header.Get("Content-Type"); got != want {
			t.Errorf("%s: Content-Type %q, want %q", name, got, want)
		}
		if res.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s: cached", name)
		}
		if res.Header.Get("Cross-Origin-Opener-Policy") != "same-origin" || res.Header.Get("Cross-Origin-Embedder-Policy") != "require-corp" {
			t.Errorf("%s: not cross-origin isolated: %v", name, res.Header)
		}
	}
	res, err := srv.Client().Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("/ → %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
}
