package data

import (
	"math"
	"strings"
	"testing"
)

func TestSplitText(t *testing.T) {
	lines := "aaaa\nbbbb\ncccc\ndddd\neeee\n" // 25 bytes, lines of 5
	tests := []struct {
		name      string
		text      string
		fraction  float64
		wantTrain string
		wantVal   string
	}{
		{"zero", lines, 0, lines, ""},
		{"negative", lines, -0.5, lines, ""},
		{"NaN", lines, math.NaN(), lines, ""},
		{"all", lines, 1, "", lines},
		{"empty text", "", 0.5, "", ""},
		{"exact line boundary", lines, 0.2, "aaaa\nbbbb\ncccc\ndddd\n", "eeee\n"},
		{"moved forward to a line", lines, 0.28, "aaaa\nbbbb\ncccc\ndddd\n", "eeee\n"},
		{"moved back to a line", lines, 0.16, "aaaa\nbbbb\ncccc\ndddd\n", "eeee\n"},
		{"nearest line wins", lines, 0.36, "aaaa\nbbbb\ncccc\n", "dddd\neeee\n"},
		{"no newline: mid-line", "abcdefghijklmnopqrst", 0.1, "abcdefghijklmnopqr", "st"},
		{"character boundary kept", "aé", 0.34, "a", "é"},
		{"tiny fraction", "abc", 0.01, "abc", ""},
		{"far newline ignored", "a\n" + strings.Repeat("x", 98), 0.1, "a\n" + strings.Repeat("x", 88), strings.Repeat("x", 10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			train, val := SplitText(tt.text, tt.fraction)
			if train != tt.wantTrain || val != tt.wantVal {
				t.Errorf("SplitText(%q, %v) = %q, %q; want %q, %q", tt.text, tt.fraction, train, val, tt.wantTrain, tt.wantVal)
			}
		})
	}
}

// TestSplitTextProperties checks, over many fractions, that nothing is lost
// and that the held-out size stays near the fraction asked for.
func TestSplitTextProperties(t *testing.T) {
	text := strings.Repeat("The quick brown fox jumps over the lazy dog.\nShort line.\n", 40)
	for f := 0.01; f < 1; f += 0.01 {
		train, val := SplitText(text, f)
		if train+val != text {
			t.Fatalf("SplitText(_, %.2f): train+val != text", f)
		}
		if got := float64(len(val)) / float64(len(text)); math.Abs(got-f) > f/2+1e-9 {
			t.Errorf("SplitText(_, %.2f) held out %.3f", f, got)
		}
		if !strings.HasSuffix(train, "\n") {
			t.Errorf("SplitText(_, %.2f) cut mid-line although lines are short: train ends %q", f, train[len(train)-10:])
		}
	}
}

func TestSplitExamples(t *testing.T) {
	pc := []Example{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}, {"e", "5"}}
	tr, va := SplitExamples(KindPromptCompletion, pc, 0.1)
	if len(tr) != 4 || len(va) != 1 || va[0].Prompt != "e" {
		t.Errorf("prompt/completion 10%% of 5: train %v, val %v; want the last one held out", tr, va)
	}
	tr, va = SplitExamples(KindPromptCompletion, pc[:1], 0.1)
	if len(tr) != 1 || len(va) != 0 {
		t.Errorf("a single example must stay in training: %v / %v", tr, va)
	}
	text := []Example{{Completion: strings.Repeat("line one\n", 9)}, {Completion: "the end\n"}}
	tr, va = SplitExamples(KindText, text, 0.1)
	if len(tr) != 1 || len(va) != 1 || tr[0].Completion+va[0].Completion != text[0].Completion+"\n"+text[1].Completion {
		t.Errorf("text split lost or changed characters: %q + %q", tr, va)
	}
}
