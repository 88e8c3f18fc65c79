package main

import (
	"fmt"
	"github.com/lora-playground/lora-playground/internal/sitetypes"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
)

// contentTypes pins the types the playground depends on. The asset server
// guesses from the extension too, but not every guess is right (.jsonl,
// .safetensors), and a .wasm served as anything but application/wasm
// cannot be compiled by instantiateStreaming. The table is shared with
// cmd/serve through internal/sitetypes.
var contentTypes = sitetypes.ByExtension

// maxHeaderRules is the asset server's limit on _headers rules.
const maxHeaderRules = 100

// fingerprint matches a name whose last part before the extension is a
// content hash: "ui.3f9a2b1c.wasm", "app-0a1b2c3d4e5f.js". Hex only, 8 to 64
// digits, at least one of them a decimal digit (so "-deadbeef" or
// "-defaced" words are not taken for hashes).
var fingerprint = regexp.MustCompile(`[.-]([0-9a-f]{8,64})\.[A-Za-z0-9]+$`)

// IsFingerprinted reports whether the file at urlPath has a content hash in
// its name, so that its bytes never change under that name.
func IsFingerprinted(urlPath string) bool {
	m := fingerprint.FindStringSubmatch(path.Base(urlPath))
	return m != nil && strings.ContainsAny(m[1], "0123456789")
}

// CacheControl is the Cache-Control a static file gets: a year, immutable,
// for fingerprinted names; for the rest, the asset server's default
// (revalidate every time, by ETag), returned here as "" for "no rule".
func CacheControl(urlPath string) string {
	if IsFingerprinted(urlPath) {
		return immutableCache
	}
	return ""
}

// HeaderRules writes the _headers file for a site made of files (URL paths
// such as "/ui.wasm"): nosniff everywhere, a pinned Content-Type per
// extension in use, cross-origin isolation everywhere (sitetypes.Isolation),
// and immutable caching for each fingerprinted file. No
// two rules set the same header on one path (the asset server would join
// the values with a comma). It fails past the asset server's 100 rules.
func HeaderRules(files []string) (string, error) {
	var b strings.Builder
	b.WriteString("# Written by `go run ./wasm/edge stage` (wasm/edge/static.go); edits are overwritten.\n")
	rules := 0
	rule := func(pattern string, headers ...string) {
		rules++
		fmt.Fprintf(&b, "%s\n", pattern)
		for _, h := range headers {
			fmt.Fprintf(&b, "  %s\n", h)
		}
	}
	all := []string{"X-Content-Type-Options: nosniff"}
	for _, h := range sitetypes.Isolation { // workers share memory (sitetypes.Isolation)
		all = append(all, h[0]+": "+h[1])
	}
	rule("/*", all...)
	exts := map[string]bool{}
	var hashed []string
	for _, f := range files {
		if !strings.HasPrefix(f, "/") || strings.ContainsAny(f, "*:\n\r") {
			return "", fmt.Errorf("static: %q cannot be a _headers path", f)
		}
		if _, ok := contentTypes[path.Ext(f)]; ok {
			exts[path.Ext(f)] = true
		}
		if IsFingerprinted(f) {
			hashed = append(hashed, f)
		}
	}
	for _, ext := range slices.Sorted(maps.Keys(exts)) {
		rule("/*"+ext, "Content-Type: "+contentTypes[ext])
	}
	slices.Sort(hashed)
	for _, f := range hashed {
		rule(f, "Cache-Control: "+CacheControl(f))
	}
	if rules > maxHeaderRules {
		return "", fmt.Errorf("static: %d _headers rules, over the asset server's limit of %d (%d fingerprinted files); put fingerprinted files in one folder and give it one rule", rules, maxHeaderRules, len(hashed))
	}
	return b.String(), nil
}
