package peft

import (
	"bytes"
	"testing"
)

// FuzzDecode checks that Decode never panics, and that any adapter it
// accepts encodes to files that decode and encode again to the same bytes.
func FuzzDecode(f *testing.F) {
	cfg, weights, err := Encode(testAdapter(31))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(cfg, weights)
	f.Add([]byte(peftWrittenConfig), weights)
	f.Fuzz(func(t *testing.T, cfg, weights []byte) {
		a, err := Decode(cfg, weights)
		if err != nil {
			return
		}
		cfg1, w1, err := Encode(a)
		if err != nil {
			t.Fatalf("Encode of a decoded adapter failed: %v", err)
		}
		b, err := Decode(cfg1, w1)
		if err != nil {
			t.Fatalf("Decode of Encode output failed: %v", err)
		}
		cfg2, w2, err := Encode(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(cfg1, cfg2) || !bytes.Equal(w1, w2) {
			t.Fatalf("Encode∘Decode is not stable:\n%s\n---\n%s", cfg1, cfg2)
		}
	})
}
