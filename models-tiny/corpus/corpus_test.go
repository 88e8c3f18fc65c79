package corpus

import (
	"strings"
	"testing"

	"github.com/lora-playground/lora-playground/core/tokenizer"
)

func TestOpticksIsCleanAndSplit(t *testing.T) {
	train, val, err := Opticks()
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{"train": train, "val": val} {
		if strings.Contains(strings.ToLower(s), "project gutenberg") {
			t.Errorf("%s still contains licence text", name)
		}
	}
	if !strings.Contains(train, "OPTICKS") && !strings.Contains(train, "Opticks") {
		t.Error("the book's title is missing from the training text")
	}
	n := len(train) + len(val)
	if f := float64(len(val)) / float64(n); f < 0.09 || f > 0.11 {
		t.Errorf("validation share %.3f, want ≈ %.2f", f, ValFraction)
	}
	_, unk := tokenizer.Default().Encode(train + val)
	// A handful of symbols (e.g. Greek letters in formulas) may remain; they
	// must be rare.
	if unk.Count > n/10000 {
		t.Errorf("too many characters outside the vocabulary: %s", unk)
	}
}

func TestStripLicence(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Produced by A and B at\nhttp://example.\n\n\n\nOPTICKS\nbody\n", "OPTICKS\nbody\n"},
		{"*** START OF THE PROJECT GUTENBERG EBOOK X ***\nbody\n*** END OF THE PROJECT GUTENBERG EBOOK X ***\nlicence\n", "body"},
		{"plain text\n", "plain text\n"},
	} {
		got, err := stripLicence(tc.in)
		if err != nil || strings.TrimSpace(got) != strings.TrimSpace(tc.want) {
			t.Errorf("stripLicence(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := stripLicence("The Project Gutenberg eBook, without markers"); err == nil {
		t.Error("licence text without markers was accepted")
	}
}
