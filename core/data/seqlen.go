package data

import "unicode/utf8"

// AutoSeqLen chooses the sequence length T for training on examples with a
// model of context nCtx. Running text uses the whole context. A
// prompt/completion row is padded to T+1 tokens, and padding costs as much
// compute as text, so T is the longest example (prompt + completion + "\n",
// one token per character) rounded up to a multiple of 8, at least 8 and at
// most nCtx: the reverse task's rows are about 30 characters, so it trains
// on T = 32 rather than 128, four times less work per step for the same
// loss.
func AutoSeqLen(kind Kind, nCtx int, splits ...[]Example) int {
	if kind == KindText {
		return nCtx
	}
	longest := 0
	for _, split := range splits {
		for _, e := range split {
			longest = max(longest, utf8.RuneCountInString(e.Prompt)+utf8.RuneCountInString(e.Completion)+1)
		}
	}
	T := (longest - 1 + 7) / 8 * 8
	return max(8, min(T, nCtx))
}
