package tokenizer

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNewRejectsBadVocabularies(t *testing.T) {
	tests := []struct {
		name    string
		vocab   []string
		wantErr string // a substring of the error
	}{
		{"empty", nil, "empty"},
		{"no unk first", []string{"a", Unk}, `entry 0 is "a"`},
		{"two characters", []string{Unk, "a", "bc"}, `entry 2 is "bc", which is 2 characters`},
		{"empty entry", []string{Unk, ""}, "0 characters"},
		{"unk twice", []string{Unk, Unk}, "5 characters"},
		{"duplicate", []string{Unk, "a", "b", "a"}, `entries 1 and 3 are both "a"`},
		{"invalid utf-8", []string{Unk, "\xff"}, "not valid UTF-8"},
		{"replacement char", []string{Unk, "\uFFFD"}, "U+FFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := New(tt.vocab)
			if err == nil {
				t.Fatalf("New(%q) = %v, nil; want an error containing %q", tt.vocab, tok, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New(%q) error = %q; want it to contain %q", tt.vocab, err, tt.wantErr)
			}
		})
	}
}

func TestNewCopiesVocab(t *testing.T) {
	vocab := []string{Unk, "a", "é"}
	tok, err := New(vocab)
	if err != nil {
		t.Fatal(err)
	}
	vocab[1] = "z"
	if got := tok.Vocab(); got[1] != "a" {
		t.Errorf("changing the caller's slice changed the tokenizer: Vocab()[1] = %q", got[1])
	}
	got := tok.Vocab()
	got[2] = "x"
	if tok.Vocab()[2] != "é" {
		t.Errorf("Vocab() returned the tokenizer's own slice, not a copy")
	}
}

func TestDefault(t *testing.T) {
	tok := Default()
	if tok.Size() != 97 {
		t.Fatalf("Default().Size() = %d, want 97", tok.Size())
	}
	vocab := tok.Vocab()
	if vocab[0] != Unk || vocab[1] != "\n" || vocab[2] != " " || vocab[96] != "~" {
		t.Errorf("Default vocab starts %q and ends %q; want <unk>, \\n, space, ..., ~", vocab[:3], vocab[96])
	}
	if tok.UnkID() != 0 {
		t.Errorf("UnkID() = %d, want 0", tok.UnkID())
	}
	for c := rune(32); c <= 126; c++ {
		id, ok := tok.ID(c)
		if !ok || id != int32(c-30) {
			t.Errorf("ID(%q) = %d, %v; want %d, true", c, id, ok, c-30)
		}
	}
	for _, r := range []rune{'\t', '\r', 0, 127, 'é', utf8.RuneError, -1} {
		if id, ok := tok.ID(r); ok || id != 0 {
			t.Errorf("ID(%q) = %d, %v; want 0, false", r, id, ok)
		}
	}
}

func TestEncode(t *testing.T) {
	tok, err := New([]string{Unk, "\n", "a", "b", "é", "—"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		text        string
		wantIDs     []int32
		wantUnknown map[rune]int
	}{
		{"empty", "", []int32{}, nil},
		{"known", "ab\nba", []int32{2, 3, 1, 3, 2}, nil},
		{"non-ascii known", "aéb—", []int32{2, 4, 3, 5}, nil},
		{"unknown kept in place", "axb", []int32{2, 0, 3}, map[rune]int{'x': 1}},
		{"unknown counted", "xxyè", []int32{0, 0, 0, 0}, map[rune]int{'x': 2, 'y': 1, 'è': 1}},
		{"invalid utf-8 bytes", "a\xff\xfeb", []int32{2, 0, 0, 3}, map[rune]int{utf8.RuneError: 2}},
		{"truncated multibyte", "a\xc3", []int32{2, 0}, map[rune]int{utf8.RuneError: 1}},
		{"real U+FFFD", "\uFFFD", []int32{0}, map[rune]int{utf8.RuneError: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, unknown := tok.Encode(tt.text)
			if !equalIDs(ids, tt.wantIDs) {
				t.Errorf("Encode(%q) ids = %v, want %v", tt.text, ids, tt.wantIDs)
			}
			wantCount := 0
			for _, n := range tt.wantUnknown {
				wantCount += n
			}
			if unknown.Count != wantCount {
				t.Errorf("Encode(%q) unknown.Count = %d, want %d", tt.text, unknown.Count, wantCount)
			}
			if len(unknown.Runes) != len(tt.wantUnknown) {
				t.Errorf("Encode(%q) unknown.Runes = %v, want %v", tt.text, unknown.Runes, tt.wantUnknown)
			}
			for r, n := range tt.wantUnknown {
				if unknown.Runes[r] != n {
					t.Errorf("Encode(%q) unknown.Runes[%q] = %d, want %d", tt.text, r, unknown.Runes[r], n)
				}
			}
		})
	}
}

func TestDecode(t *testing.T) {
	tok, err := New([]string{Unk, "\n", "a", "é"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ids  []int32
		want string
	}{
		{nil, ""},
		{[]int32{2, 3, 1, 2}, "aé\na"},
		{[]int32{2, 0, 2}, "a\uFFFDa"},
		{[]int32{-1, 4, 1 << 30}, "\uFFFD\uFFFD\uFFFD"},
	}
	for _, tt := range tests {
		if got := tok.Decode(tt.ids); got != tt.want {
			t.Errorf("Decode(%v) = %q, want %q", tt.ids, got, tt.want)
		}
	}
}

// TestRoundTrip checks Decode(Encode(s)) == s on random strings drawn from
// the vocabulary, and that Encode produces exactly one id per character.
func TestRoundTrip(t *testing.T) {
	tok := Default()
	vocab := tok.Vocab()[1:] // every entry except <unk>
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		var b strings.Builder
		n := rng.IntN(300)
		for i := 0; i < n; i++ {
			b.WriteString(vocab[rng.IntN(len(vocab))])
		}
		s := b.String()
		ids, unknown := tok.Encode(s)
		if unknown.Count != 0 {
			t.Fatalf("Encode(%q) reported unknown characters: %s", s, unknown)
		}
		if len(ids) != n {
			t.Fatalf("Encode of %d characters gave %d ids", n, len(ids))
		}
		if got := tok.Decode(ids); got != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
	}
}

func TestAppendEncodeAccumulates(t *testing.T) {
	tok := Default()
	var unknown Unknown
	ids := tok.AppendEncode(nil, "né", &unknown)
	ids = tok.AppendEncode(ids, "é!", &unknown)
	ids = tok.AppendEncode(ids, "—", nil) // nil report: ignored, no panic
	if len(ids) != 5 || unknown.Count != 2 || unknown.Runes['é'] != 2 {
		t.Errorf("got ids %v, unknown %+v; want 5 ids and 'é' counted twice", ids, unknown)
	}
}

func TestUnknownString(t *testing.T) {
	many := Unknown{}
	for i, r := range "abcdefghijkl" { // 12 distinct runes; 'a' most frequent
		for n := 0; n < 20-i; n++ {
			many.add(r)
		}
	}
	tests := []struct {
		name string
		u    Unknown
		want string
	}{
		{"zero", Unknown{}, ""},
		{"one", Unknown{Count: 1, Runes: map[rune]int{'é': 1}}, "1 character outside the vocabulary: 'é' ×1"},
		{"sorted by count then rune", Unknown{Count: 5, Runes: map[rune]int{'—': 1, 'é': 2, 'ä': 2}},
			"5 characters outside the vocabulary: 'ä' ×2, 'é' ×2, '—' ×1"},
		{"control characters quoted", Unknown{Count: 3, Runes: map[rune]int{'\t': 2, '\r': 1}},
			`3 characters outside the vocabulary: '\t' ×2, '\r' ×1`},
		{"at most ten", many,
			"174 characters outside the vocabulary: 'a' ×20, 'b' ×19, 'c' ×18, 'd' ×17, 'e' ×16, 'f' ×15, 'g' ×14, 'h' ×13, 'i' ×12, 'j' ×11, and 2 more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.u.String(); got != tt.want {
				t.Errorf("String() =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestUnknownAdd(t *testing.T) {
	var total Unknown
	total.Add(Unknown{}) // adding nothing keeps the zero value
	if total.Count != 0 || total.Runes != nil {
		t.Errorf("after adding an empty report: %+v", total)
	}
	total.Add(Unknown{Count: 3, Runes: map[rune]int{'é': 2, 'x': 1}})
	total.Add(Unknown{Count: 2, Runes: map[rune]int{'é': 1, 'y': 1}})
	if total.Count != 5 || total.Runes['é'] != 3 || total.Runes['x'] != 1 || total.Runes['y'] != 1 {
		t.Errorf("sum = %+v, want Count 5 with é×3, x×1, y×1", total)
	}
}

func TestASCIIFold(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"plain ASCII stays\n", "plain ASCII stays\n"},
		{"line\r\nline\rline", "line\nline\nline"},
		{"a\tb\u00A0c", "a b c"},
		{"‘single’ “double” «guillemets»", `'single' "double" "guillemets"`},
		{"en–dash em—dash minus−", "en-dash em-dash minus-"},
		{"Phænomena, Æther, cœur, Straße", "Phaenomena, AEther, coeur, Strasse"},
		{"café naïve Ångström Dvořák Łódź", "cafe naive Angstrom Dvorak Lodz"},
		{"e\u0301te\u0301", "ete"},
		{"0´. 7´´. 31 × 31, 3·4, Opticæ § 10", "0'. 7''. 31 x 31, 3.4, Opticae Sect. 10"},
		{"wait…", "wait..."},
		{"kept: 日本 € \xff", "kept: 日本 € \xff"},
	}
	for _, tt := range tests {
		if got := ASCIIFold(tt.in); got != tt.want {
			t.Errorf("ASCIIFold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// goroot finds the Go installation whose testdata holds Newton's Opticks.
// Under js/wasm the test binary reads the host's file system through node,
// so the same path works there.
func goroot(t *testing.T) string {
	t.Helper()
	for _, dir := range []string{os.Getenv("GOROOT"), runtime.GOROOT()} {
		if dir == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "src", "testdata", "Isaac.Newton-Opticks.txt")); err == nil {
			return dir
		}
	}
	t.Fatalf("cannot find GOROOT/src/testdata/Isaac.Newton-Opticks.txt (GOROOT=%q, runtime.GOROOT()=%q)", os.Getenv("GOROOT"), runtime.GOROOT())
	return ""
}

// TestASCIIFoldOpticks checks the job ASCIIFold exists for: after folding,
// the pretraining corpus encodes with the default vocabulary and nothing
// unknown, while unfolded it would not.
func TestASCIIFoldOpticks(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(goroot(t), "src", "testdata", "Isaac.Newton-Opticks.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tok := Default()
	if _, unknown := tok.Encode(string(raw)); unknown.Count == 0 {
		t.Fatalf("the raw Opticks has no characters outside the default vocabulary; this test no longer tests folding")
	}
	folded := ASCIIFold(string(raw))
	ids, unknown := tok.Encode(folded)
	if unknown.Count != 0 {
		t.Errorf("folded Opticks still has %s", unknown)
	}
	if got := tok.Decode(ids); got != folded {
		t.Errorf("the folded Opticks does not survive an Encode/Decode round trip")
	}
	if !strings.Contains(folded, "Phaenomena") {
		t.Errorf("folded Opticks lacks \"Phaenomena\"")
	}
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
