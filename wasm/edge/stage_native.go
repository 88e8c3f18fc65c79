//go:build !(js && wasm)

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/tokenizer"
)

// maxAssetBytes is the asset server's limit on one file.
const maxAssetBytes = 25 << 20

// stage copies the built site from src (dist/) into dst, which it empties
// first, and writes dst/_headers. dst is what wrangler.toml's [assets]
// serves: a copy, so that the UI's rebuilds of dist/ (which start with
// rm -rf) neither lose the _headers file nor change files under a running
// wrangler dev. Dotfiles and any _headers or _redirects in src are skipped.
// It returns the number of files staged.
func stage(src, dst string) (int, error) {
	st, err := os.Stat(src)
	if err != nil || !st.IsDir() {
		return 0, fmt.Errorf("stage: %s is not a directory; run ./build.sh first", src)
	}
	if err := os.RemoveAll(dst); err != nil {
		return 0, err
	}
	var files []string
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		base := path.Base(rel)
		if rel != "." && strings.HasPrefix(base, ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if rel == "_headers" || rel == "_redirects" || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > maxAssetBytes {
			return fmt.Errorf("stage: %s is %d bytes, over the asset server's %d-byte limit per file", rel, info.Size(), maxAssetBytes)
		}
		files = append(files, "/"+rel)
		return copyFile(p, filepath.Join(dst, rel))
	})
	if err != nil {
		return 0, err
	}
	if _, err := os.Stat(filepath.Join(dst, "index.html")); err != nil {
		return 0, fmt.Errorf("stage: %s has no index.html (was it being rebuilt?)", src)
	}
	rules, err := HeaderRules(files)
	if err != nil {
		return 0, err
	}
	return len(files), os.WriteFile(filepath.Join(dst, "_headers"), []byte(rules), 0o644)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// probeFile is a fingerprinted file that addFixtures stages, so the API
// test can check the immutable caching rule whatever dist/ holds.
func probeFile() (name string, data []byte) {
	data = []byte("edge probe: a fingerprinted static file\n")
	sum := sha256.Sum256(data)
	return "edge-probe." + hex.EncodeToString(sum[:6]) + ".txt", data
}

// addFixtures completes a staged site for the API tests: a fingerprinted
// probe file, and random stand-ins, with the shipped names and shapes, for
// the nano and tiny base models when dist/ does not have them yet (they
// are pretrained separately). It returns what it added.
func addFixtures(dst string) ([]string, error) {
	name, data := probeFile()
	added := []string{name}
	if err := os.WriteFile(filepath.Join(dst, name), data, 0o644); err != nil {
		return nil, err
	}
	tok := tokenizer.Default()
	for i, sz := range []struct {
		name string
		c    int
	}{{"nano", 64}, {"tiny", 128}} {
		dir := filepath.Join(dst, "models", sz.name)
		if _, err := os.Stat(filepath.Join(dir, model.ConfigFile)); err == nil {
			continue
		}
		m, err := model.New(model.Config{Name: modelPrefix + sz.name, VocabSize: tok.Size(), NCtx: 128, NEmbd: sz.c, NHead: 4, NLayer: 2,
			Tokenizer: model.TokenizerConfig{Type: "char", Vocab: tok.Vocab()}})
		if err != nil {
			return nil, err
		}
		m.InitGPT2(rand.New(rand.NewPCG(uint64(i)+1, 3)))
		if err := m.Save(dir, map[string]string{"note": "random stand-in for the API tests"}); err != nil {
			return nil, err
		}
		added = append(added, "models/"+sz.name+" (random)")
	}
	// _headers must cover the probe: write it again over the final tree.
	var files []string
	err := filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dst, p)
		if rel = filepath.ToSlash(rel); rel != "_headers" {
			files = append(files, "/"+rel)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rules, err := HeaderRules(files)
	if err != nil {
		return nil, err
	}
	return added, os.WriteFile(filepath.Join(dst, "_headers"), []byte(rules), 0o644)
}
