package safetensors

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics on any input, and that whatever
// it accepts survives Encode and Parse again unchanged, with Encode stable.
func FuzzParse(f *testing.F) {
	valid, err := Encode(&File{
		Metadata: map[string]string{"format": "pt"},
		Tensors: []Tensor{
			F32("a", []int{2, 2}, []float32{1, -2, 3, -4}),
			{Name: "b", DType: "U8", Shape: []int{3}, Data: []byte{1, 2, 3}},
			F32("empty", []int{0}, nil),
		},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(raw(`{"x":{"dtype":"I8","shape":[],"data_offsets":[0,1]}}`, []byte{9}))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Parse(b)
		if err != nil {
			return
		}
		enc, err := Encode(file)
		if err != nil {
			t.Fatalf("Encode of a parsed file failed: %v", err)
		}
		again, err := Parse(enc)
		if err != nil {
			t.Fatalf("Parse of Encode output failed: %v", err)
		}
		if len(again.Tensors) != len(file.Tensors) {
			t.Fatalf("%d tensors after round trip, want %d", len(again.Tensors), len(file.Tensors))
		}
		for i := range file.Tensors {
			if !tensorsEqual(&again.Tensors[i], &file.Tensors[i]) {
				t.Fatalf("tensor %d changed: %+v became %+v", i, file.Tensors[i], again.Tensors[i])
			}
		}
		if len(again.Metadata) != len(file.Metadata) {
			t.Fatalf("metadata %v became %v", file.Metadata, again.Metadata)
		}
		for k, v := range file.Metadata {
			if again.Metadata[k] != v {
				t.Fatalf("metadata[%q] %q became %q", k, v, again.Metadata[k])
			}
		}
		enc2, err := Encode(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("Encode is not stable across a round trip")
		}
	})
}

// TestSeedCorpus keeps the committed seed corpus honest: files named valid_*
// must parse and files named broken_* must not.
func TestSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, e := range entries {
		name := e.Name()
		valid, broken := strings.HasPrefix(name, "valid_"), strings.HasPrefix(name, "broken_")
		if !valid && !broken {
			continue // a failure the fuzzer found, kept as a regression input
		}
		text, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(text)), "\n")
		if len(lines) != 2 || lines[0] != "go test fuzz v1" ||
			!strings.HasPrefix(lines[1], "[]byte(") || !strings.HasSuffix(lines[1], ")") {
			t.Fatalf("%s: not a one-value corpus file", name)
		}
		b, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, err = Parse([]byte(b))
		if valid && err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if broken && err == nil {
			t.Errorf("%s: parsed, want an error", name)
		}
		seen++
	}
	if seen < 8 {
		t.Errorf("only %d seed files, want the committed corpus", seen)
	}
}
