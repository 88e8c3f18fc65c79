package data

import (
	"math"
	"strings"
	"unicode/utf8"
)

// SplitText holds out the last valFraction of text (measured in bytes) for
// validation and returns the rest for training. Holding out the end, rather
// than random lines, keeps the two parts from sharing sentences that run
// across lines, so the validation loss measures generalisation.
//
// The cut is moved to the nearest line boundary within half the validation
// size of the exact point, so no line is split between the two parts; when
// there is none (for example a 20-character paste with no newline), it is
// made mid-line, at a character boundary. The newline at the cut ends train.
// train + val == text always holds. valFraction <= 0 (or NaN) returns
// (text, ""); valFraction >= 1 returns ("", text).
func SplitText(text string, valFraction float64) (train, val string) {
	if !(valFraction > 0) || len(text) == 0 {
		return text, ""
	}
	if valFraction >= 1 {
		return "", text
	}
	valLen := int(math.Round(valFraction * float64(len(text))))
	if valLen == 0 {
		return text, ""
	}
	ideal := len(text) - valLen
	isLineCut := func(c int) bool { return c > 0 && c < len(text) && text[c-1] == '\n' }
	for d := 0; d <= valLen/2; d++ {
		if isLineCut(ideal - d) {
			return text[:ideal-d], text[ideal-d:]
		}
		if isLineCut(ideal + d) {
			return text[:ideal+d], text[ideal+d:]
		}
	}
	cut := ideal
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut], text[cut:]
}

// SplitExamples holds out the last valFraction of a dataset for validation.
// Text examples are joined with "\n" into one text and cut by SplitText (at
// a line boundary); prompt/completion examples are split by count, keeping
// at least one for validation when there are two or more. The result's val
// is empty when nothing could be held out.
func SplitExamples(kind Kind, examples []Example, valFraction float64) (train, val []Example) {
	if kind == KindText {
		var b strings.Builder
		for i, e := range examples {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(e.Completion)
		}
		tr, va := SplitText(b.String(), valFraction)
		if tr != "" {
			train = []Example{{Completion: tr}}
		}
		if va != "" {
			val = []Example{{Completion: va}}
		}
		return train, val
	}
	n := int(float64(len(examples)) * valFraction)
	if valFraction > 0 && n == 0 && len(examples) > 1 {
		n = 1
	}
	return examples[:len(examples)-n], examples[len(examples)-n:]
}
