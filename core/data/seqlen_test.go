package data

import "testing"

func TestAutoSeqLen(t *testing.T) {
	pc := func(p, c string) Example { return Example{Prompt: p, Completion: c} }
	for _, tc := range []struct {
		name   string
		kind   Kind
		splits [][]Example
		nCtx   int
		want   int
	}{
		{"text uses the context", KindText, [][]Example{{{Completion: "abc"}}}, 128, 128},
		// "reverse: light =" + " thgil" + "\n" = 16 + 6 + 1 = 23 tokens → T = 22 rounded up to 24.
		{"rounded up to 8", KindPromptCompletion, [][]Example{{pc("reverse: light =", " thgil")}}, 128, 24},
		{"the longest of both splits", KindPromptCompletion, [][]Example{{pc("a", "b")}, {pc("0123456789012345678901234567890", "x")}}, 128, 32},
		{"at least 8", KindPromptCompletion, [][]Example{{pc("a", "b")}}, 128, 8},
		{"at most the context", KindPromptCompletion, [][]Example{{pc(string(make([]byte, 300)), "b")}}, 128, 128},
		{"characters, not bytes", KindPromptCompletion, [][]Example{{pc("ééééééééé", "é")}}, 128, 16},
	} {
		if got := AutoSeqLen(tc.kind, tc.nCtx, tc.splits...); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}
