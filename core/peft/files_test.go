package peft

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDirRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "adapter")
	a := testAdapter(11)
	if err := SaveDir(dir, a); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != ConfigFile+","+WeightsFile {
		t.Errorf("SaveDir wrote %v, want exactly the two PEFT files", names)
	}
	got, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	wantCfg, wantW, _ := Encode(a)
	gotCfg, gotW, err := Encode(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(wantCfg, gotCfg) || !bytes.Equal(wantW, gotW) {
		t.Errorf("adapter changed through SaveDir/LoadDir")
	}
	onDisk, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	if !bytes.Equal(onDisk, wantCfg) {
		t.Errorf("adapter_config.json on disk differs from Encode's")
	}
	// Saving again over the same directory replaces the files.
	b := testAdapter(12)
	if err := SaveDir(dir, b); err != nil {
		t.Fatal(err)
	}
	got, err = LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bitsEqual(got.Modules[0].A, b.Modules[0].A) {
		t.Errorf("second SaveDir did not replace the weights")
	}
}

func TestLoadDirErrors(t *testing.T) {
	cfg, weights, err := Encode(testAdapter(13))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"empty dir", nil, ConfigFile},
		{"no weights", map[string][]byte{ConfigFile: cfg}, WeightsFile},
		{"pickle weights", map[string][]byte{ConfigFile: cfg, "adapter_model.bin": {0x80, 2}}, "adapter_model.bin (a PyTorch pickle), which is not supported"},
		{"huge config", map[string][]byte{ConfigFile: bytes.Repeat([]byte(" "), MaxConfigBytes+1), WeightsFile: weights}, "larger than 1048576 bytes"},
		{"corrupt weights", map[string][]byte{ConfigFile: cfg, WeightsFile: weights[:len(weights)-1]}, "adapter_model.safetensors"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := LoadDir(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadDir error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestArchiveRoundTrip(t *testing.T) {
	a := testAdapter(21)
	zipped, err := EncodeArchive(a)
	if err != nil {
		t.Fatal(err)
	}
	again, err := EncodeArchive(a)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(zipped, again) {
		t.Errorf("EncodeArchive is not deterministic")
	}
	got, err := DecodeArchive(zipped, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	reZipped, err := EncodeArchive(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(zipped, reZipped) {
		t.Errorf("archive changed on round trip")
	}
	for i := range a.Modules {
		if !bitsEqual(got.Modules[i].A, a.Modules[i].A) || !bitsEqual(got.Modules[i].B, a.Modules[i].B) {
			t.Errorf("module %s not bit-exact through the archive", a.Modules[i].Module)
		}
	}
}

// zipEntry is one file to put in a hand-made archive. If declared is
// non-zero, the entry is written raw with that uncompressed size in its
// header, whatever data really inflates to.
type zipEntry struct {
	name     string
	data     []byte
	declared uint64
}

func makeZip(t *testing.T, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		if e.declared == 0 {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Deflate})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(e.data)
			continue
		}
		var compressed bytes.Buffer
		fw, _ := flate.NewWriter(&compressed, flate.BestCompression)
		fw.Write(e.data)
		fw.Close()
		w, err := zw.CreateRaw(&zip.FileHeader{
			Name: e.name, Method: zip.Deflate,
			CompressedSize64: uint64(compressed.Len()), UncompressedSize64: e.declared,
		})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(compressed.Bytes())
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeArchive(t *testing.T) {
	cfg, weights, err := Encode(testAdapter(22))
	if err != nil {
		t.Fatal(err)
	}
	const limit = 1 << 20
	bomb := make([]byte, 8<<20) // 8 MiB of zeros deflates to a few KiB
	tests := []struct {
		name     string
		archive  []byte
		maxBytes int64
		want     string // "" for success
	}{
		{"in a folder with a README", makeZip(t,
			zipEntry{name: "my-adapter/", data: nil},
			zipEntry{name: "my-adapter/README.md", data: []byte("# model card")},
			zipEntry{name: "my-adapter/" + ConfigFile, data: cfg},
			zipEntry{name: "my-adapter/" + WeightsFile, data: weights},
			zipEntry{name: "__MACOSX/my-adapter/._" + ConfigFile, data: []byte{0}},
		), limit, ""},
		{"over the archive limit", makeZip(t, zipEntry{name: ConfigFile, data: cfg}, zipEntry{name: WeightsFile, data: weights}), 100, "over the 100-byte limit"},
		{"not a zip", []byte("adapter_config.json"), limit, "not a readable zip archive"},
		{"no config", makeZip(t, zipEntry{name: WeightsFile, data: weights}), limit, "archive has no adapter_config.json"},
		{"no weights", makeZip(t, zipEntry{name: ConfigFile, data: cfg}), limit, "archive has no adapter_model.safetensors"},
		{"two configs", makeZip(t, zipEntry{name: ConfigFile, data: cfg}, zipEntry{name: "x/" + ConfigFile, data: cfg}, zipEntry{name: WeightsFile, data: weights}), limit, "holds adapter_config.json twice"},
		{"split folders", makeZip(t, zipEntry{name: "a/" + ConfigFile, data: cfg}, zipEntry{name: "b/" + WeightsFile, data: weights}), limit, "in different folders"},
		{"zip bomb", makeZip(t, zipEntry{name: ConfigFile, data: cfg}, zipEntry{name: WeightsFile, data: bomb}), limit, "bytes uncompressed, over the 1048576-byte limit"},
		{"config bomb", makeZip(t, zipEntry{name: ConfigFile, data: bytes.Repeat([]byte(" "), 2<<20)}, zipEntry{name: WeightsFile, data: weights}), 64 << 20, "adapter_config.json declares 2097152 bytes"},
		{"lying size", makeZip(t, zipEntry{name: ConfigFile, data: cfg}, zipEntry{name: WeightsFile, data: bomb, declared: 1000}), limit, "peft: archive: adapter_model.safetensors: "},
		{"bad weights inside", makeZip(t, zipEntry{name: ConfigFile, data: cfg}, zipEntry{name: WeightsFile, data: weights[:100]}), limit, "peft: adapter_model.safetensors: safetensors:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := DecodeArchive(tc.archive, tc.maxBytes)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("DecodeArchive: %v", err)
			case tc.want == "" && len(a.Modules) == 0:
				t.Fatalf("DecodeArchive gave no modules")
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("DecodeArchive error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
