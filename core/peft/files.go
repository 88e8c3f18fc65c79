package peft

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// SaveDir writes a into dir as adapter_config.json and
// adapter_model.safetensors, creating dir if needed. Each file is written
// to a temporary name and renamed into place, so a crash leaves either the
// old file or the new one, never half of one.
func SaveDir(dir string, a *Adapter) error {
	configJSON, weights, err := Encode(a)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("peft: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{WeightsFile, weights}, {ConfigFile, configJSON}} {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data); err != nil {
			return fmt.Errorf("peft: %w", err)
		}
	}
	return nil
}

func writeFileAtomic(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// LoadDir reads and validates the adapter PEFT's save_pretrained wrote into
// dir. Only adapter_model.safetensors is read: PEFT's older
// adapter_model.bin is a Python pickle, which is refused with a hint.
func LoadDir(dir string) (*Adapter, error) {
	configJSON, err := readFileLimited(filepath.Join(dir, ConfigFile), MaxConfigBytes)
	if err != nil {
		return nil, err
	}
	weights, err := os.ReadFile(filepath.Join(dir, WeightsFile))
	if errors.Is(err, fs.ErrNotExist) {
		if _, binErr := os.Stat(filepath.Join(dir, "adapter_model.bin")); binErr == nil {
			return nil, fmt.Errorf("peft: %s has adapter_model.bin (a PyTorch pickle), which is not supported; re-save it with safe_serialization=True", dir)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("peft: %w", err)
	}
	return Decode(configJSON, weights)
}

func readFileLimited(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("peft: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("peft: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("peft: %s is larger than %d bytes", name, limit)
	}
	return b, nil
}

// archiveTime is the modification time of every archive entry: fixed, so
// that the same adapter always gives the same archive bytes.
var archiveTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// EncodeArchive packs a into a .zip holding adapter_config.json and
// adapter_model.safetensors at its root, deflated, with fixed timestamps.
func EncodeArchive(a *Adapter) ([]byte, error) {
	configJSON, weights, err := Encode(a)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct {
		name string
		data []byte
	}{{ConfigFile, configJSON}, {WeightsFile, weights}} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: archiveTime})
		if err != nil {
			return nil, fmt.Errorf("peft: archive: %w", err)
		}
		if _, err := w.Write(f.data); err != nil {
			return nil, fmt.Errorf("peft: archive: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("peft: archive: %w", err)
	}
	return buf.Bytes(), nil
}

// DecodeArchive reads an adapter from a .zip. The two files may sit at the
// root or together in one folder (as zipping a saved directory gives);
// other entries, such as PEFT's README.md, are ignored. It refuses an
// archive over maxBytes, and one whose two files together declare more
// than maxBytes uncompressed, before inflating anything, so a zip bomb
// costs nothing; inflated data beyond the declared size is an error too.
func DecodeArchive(b []byte, maxBytes int64) (*Adapter, error) {
	if int64(len(b)) > maxBytes {
		return nil, fmt.Errorf("peft: archive is %d bytes, over the %d-byte limit", len(b), maxBytes)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("peft: not a readable zip archive: %w", err)
	}
	found := map[string]*zip.File{}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") || strings.HasPrefix(f.Name, "__MACOSX/") {
			continue
		}
		base := path.Base(f.Name)
		if base != ConfigFile && base != WeightsFile {
			continue
		}
		if prev, dup := found[base]; dup {
			return nil, fmt.Errorf("peft: archive holds %s twice (%s and %s)", base, prev.Name, f.Name)
		}
		found[base] = f
	}
	for _, name := range []string{ConfigFile, WeightsFile} {
		if found[name] == nil {
			return nil, fmt.Errorf("peft: archive has no %s", name)
		}
	}
	cf, wf := found[ConfigFile], found[WeightsFile]
	if path.Dir(cf.Name) != path.Dir(wf.Name) {
		return nil, fmt.Errorf("peft: archive has %s and %s in different folders", cf.Name, wf.Name)
	}
	if cf.UncompressedSize64 > MaxConfigBytes {
		return nil, fmt.Errorf("peft: archive: %s declares %d bytes, over the %d-byte limit", cf.Name, cf.UncompressedSize64, MaxConfigBytes)
	}
	if total := cf.UncompressedSize64 + wf.UncompressedSize64; wf.UncompressedSize64 > uint64(maxBytes) || total > uint64(maxBytes) {
		return nil, fmt.Errorf("peft: archive: %s and %s declare %d bytes uncompressed, over the %d-byte limit", cf.Name, wf.Name, total, maxBytes)
	}
	configJSON, err := readEntry(cf)
	if err != nil {
		return nil, err
	}
	weights, err := readEntry(wf)
	if err != nil {
		return nil, err
	}
	return Decode(configJSON, weights)
}

// readEntry inflates f, trusting its declared size no further than one
// byte past it.
func readEntry(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("peft: archive: %s: %w", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, int64(f.UncompressedSize64)+1))
	if err != nil {
		return nil, fmt.Errorf("peft: archive: %s: %w", f.Name, err)
	}
	if uint64(len(b)) != f.UncompressedSize64 {
		return nil, fmt.Errorf("peft: archive: %s inflates to more than its declared %d bytes", f.Name, f.UncompressedSize64)
	}
	return b, nil
}
