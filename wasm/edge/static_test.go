//go:build !(js && wasm)

package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func mapFSWith(base fstest.MapFS, name string, data []byte) fstest.MapFS {
	m := fstest.MapFS{}
	for k, v := range base {
		m[k] = v
	}
	m[name] = &fstest.MapFile{Data: data}
	return m
}

func TestIsFingerprinted(t *testing.T) {
	for p, want := range map[string]bool{
		"/ui.3f9a2b1c.wasm":                      true,
		"/assets/app-0a1b2c3d4e5f.js":            true,
		"/x." + strings.Repeat("a1", 32) + ".js": true,
		"/ui.wasm":                               false,
		"/wasm_exec.js":                          false,
		"/models/nano/model.safetensors":         false,
		"/ui.3f9a2b1.wasm":                       false, // 7 digits
		"/x." + strings.Repeat("a1", 33) + ".js": false, // 66 digits
		"/deadbeef.js":                           false, // no separator: the whole name
		"/app-deadbeef.js":                       false, // a word, not a hash
		"/ui.3F9A2B1C.wasm":                      false, // hashes here are lowercase
		"/3f9a2b1c/ui.wasm":                      false, // only the file name counts
	} {
		if got := IsFingerprinted(p); got != want {
			t.Errorf("IsFingerprinted(%q) = %v, want %v", p, got, want)
		}
	}
}

// parseHeaders reads a _headers file into pattern → header lines.
func parseHeaders(t *testing.T, s string) map[string][]string {
	t.Helper()
	rules := map[string][]string{}
	cur := ""
	for _, line := range strings.Split(s, "\n") {
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "  "):
			if cur == "" {
				t.Fatalf("header line %q before any path", line)
			}
			rules[cur] = append(rules[cur], strings.TrimSpace(line))
		default:
			if _, dup := rules[line]; dup {
				t.Fatalf("path %q twice", line)
			}
			cur = line
			rules[cur] = nil
		}
	}
	return rules
}

func TestHeaderRules(t *testing.T) {
	s, err := HeaderRules([]string{"/index.html", "/ui.wasm", "/ui.0a1b2c3d.wasm", "/datasets/e2e/train.jsonl", "/models/nano/model.safetensors", "/README"})
	if err != nil {
		t.Fatal(err)
	}
	rules := parseHeaders(t, s)
	want := map[string][]string{
		"/*":                {"X-Content-Type-Options: nosniff", "Cross-Origin-Opener-Policy: same-origin", "Cross-Origin-Embedder-Policy: require-corp"},
		"/*.html":           {"Content-Type: text/html; charset=utf-8"},
		"/*.wasm":           {"Content-Type: application/wasm"},
		"/*.jsonl":          {"Content-Type: application/x-ndjson; charset=utf-8"},
		"/*.safetensors":    {"Content-Type: application/octet-stream"},
		"/ui.0a1b2c3d.wasm": {"Cache-Control: public, max-age=31536000, immutable"},
	}
	if len(rules) != len(want) {
		t.Errorf("rules:\n%s", s)
	}
	for p, h := range want {
		if strings.Join(rules[p], "|") != strings.Join(h, "|") {
			t.Errorf("rule %s = %q, want %q", p, rules[p], h)
		}
	}
	// No header is set twice on one file: the asset server would join them.
	for _, f := range []string{"/ui.0a1b2c3d.wasm", "/ui.wasm", "/index.html"} {
		seen := map[string]bool{}
		for p, hs := range rules {
			if p != "/*" && !strings.HasPrefix(p, "/*.") && p != f || strings.HasPrefix(p, "/*.") && !strings.HasSuffix(f, p[2:]) {
				continue
			}
			for _, h := range hs {
				name, _, _ := strings.Cut(h, ":")
				if seen[name] {
					t.Errorf("%s gets %s from two rules", f, name)
				}
				seen[name] = true
			}
		}
	}

	if _, err := HeaderRules([]string{"/a*b"}); err == nil {
		t.Error("a path with * was accepted")
	}
	var hashed []string
	for i := range 100 {
		hashed = append(hashed, "/f."+hex8(i)+".js")
	}
	if _, err := HeaderRules(hashed); err == nil || !strings.Contains(err.Error(), "100") {
		t.Errorf("over 100 rules: err %v", err)
	}
}

func hex8(i int) string {
	const digits = "0123456789abcdef"
	b := []byte("10000000")
	for j := 7; j > 0 && i > 0; j-- {
		b[j] = digits[i%16]
		i /= 16
	}
	return string(b)
}

func TestStage(t *testing.T) {
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "site")
	write := func(rel, s string) {
		p := filepath.Join(src, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("index.html", "<!doctype html>")
	write("ui.wasm", "\x00asm")
	write("assets/app.1234abcd.js", "x")
	write("_headers", "/*\n  X-Evil: 1\n")
	write(".secret", "no")
	write(".git/config", "no")
	os.MkdirAll(dst, 0o755)
	os.WriteFile(filepath.Join(dst, "stale.txt"), []byte("old"), 0o644)

	n, err := stage(src, dst)
	if err != nil || n != 3 {
		t.Fatalf("stage: %d files, %v; want 3", n, err)
	}
	for _, gone := range []string{"stale.txt", ".secret", ".git"} {
		if _, err := os.Stat(filepath.Join(dst, gone)); err == nil {
			t.Errorf("%s was staged", gone)
		}
	}
	b, err := os.ReadFile(filepath.Join(dst, "_headers"))
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); strings.Contains(s, "X-Evil") || !strings.Contains(s, "/assets/app.1234abcd.js\n  Cache-Control: "+immutableCache) || !strings.Contains(s, "/*.wasm\n  Content-Type: application/wasm") {
		t.Errorf("_headers:\n%s", s)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "ui.wasm")); string(b) != "\x00asm" {
		t.Errorf("ui.wasm staged as %q", b)
	}
	if _, err := stage(filepath.Join(src, "missing"), dst); err == nil {
		t.Error("staging a missing folder succeeded")
	}
	os.Remove(filepath.Join(src, "index.html"))
	if _, err := stage(src, dst); err == nil {
		t.Error("staging a site without index.html succeeded")
	}
}

func TestSiteHandler(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ui.wasm"), []byte("\x00asm"), 0o644)
	os.WriteFile(filepath.Join(dir, "app.0a1b2c3d.js"), []byte("x"), 0o644)
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-Api", "1") })
	h := siteHandler(dir, api)
	for _, tc := range []struct{ path, ct, cc, api string }{
		{"/ui.wasm", "application/wasm", "public, max-age=0, must-revalidate", ""},
		{"/app.0a1b2c3d.js", "text/javascript; charset=utf-8", immutableCache, ""},
		{"/api/health", "", "", "1"},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", tc.path, nil))
		if got := w.Header().Get("X-Api"); got != tc.api {
			t.Errorf("%s: reached the API: %q", tc.path, got)
		}
		if tc.api == "" && (w.Code != 200 || w.Header().Get("Content-Type") != tc.ct || w.Header().Get("Cache-Control") != tc.cc) {
			t.Errorf("%s: %d %q %q", tc.path, w.Code, w.Header().Get("Content-Type"), w.Header().Get("Cache-Control"))
		}
	}
}
