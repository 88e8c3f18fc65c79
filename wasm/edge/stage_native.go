//go:build !(js && wasm)

package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
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
