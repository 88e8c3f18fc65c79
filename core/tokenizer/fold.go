package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// ASCIIFold rewrites typographic and accented characters as their nearest
// plain-ASCII spelling. It exists for one job only: preparing the
// pretraining corpus (Newton's Opticks and similar texts) for a model whose
// vocabulary is [Default], so that "Phænomena" is learnt as "Phaenomena"
// instead of as "Ph<unk>nomena". It is deliberately not applied to a
// learner's own data, which is never changed behind their back; there,
// unknown characters are reported by [Tokenizer.Encode] instead.
//
// The rewrites are:
//
//   - "\r\n" and a lone "\r" → "\n"; tab and no-break space → " "
//   - curly single quotes, prime and acute accent (‘ ’ ‚ ‛ ′ ´) → "'"
//   - curly double quotes, double prime and guillemets (“ ” „ ‟ ″ « ») → "\""
//   - en dash, em dash, figure dash, horizontal bar, minus sign → "-"
//   - ellipsis "…" → "..."; multiplication sign "×" → "x"; middle dot "·"
//     (Newton's decimal point) → "."; section sign "§" → "Sect."
//   - ligatures and letters without a base letter: æ→ae, Æ→AE, œ→oe,
//     Œ→OE, ß→ss, þ→th, Þ→Th, ð→d, Ð→D, ø→o, Ø→O, ł→l, Ł→L, đ→d, Đ→D
//   - accented Latin letters (Latin-1 Supplement and Latin Extended-A, e.g.
//     é, Ê, ç, ñ, ů) → their base letter; combining accents (U+0300–U+036F)
//     are removed, so a decomposed "e\u0301" becomes "e" as well
//
// Every other character, and every byte that is not valid UTF-8, is kept
// unchanged, so that whatever cannot be folded still shows up in the
// [Unknown] report of the encoded corpus instead of disappearing.
func ASCIIFold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\r':
			b.WriteByte('\n')
			i++
			if i < len(s) && s[i] == '\n' {
				i++
			}
			continue
		case c == '\t':
			b.WriteByte(' ')
			i++
			continue
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteByte(c) // keep the invalid byte for the Unknown report
			i++
			continue
		}
		i += size
		if r >= 0x0300 && r <= 0x036F {
			continue // combining diacritical mark: the base letter came before it
		}
		if folded, ok := asciiFolds[r]; ok {
			b.WriteString(folded)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// asciiFolds maps each foldable character to its ASCII spelling. It is built
// from the readable table below once, at start-up.
var asciiFolds = func() map[rune]string {
	m := map[rune]string{
		'‘': "'", '’': "'", '‚': "'", '‛': "'", '′': "'", '´': "'",
		'“': "\"", '”': "\"", '„': "\"", '‟': "\"", '″': "\"", '«': "\"", '»': "\"",
		'–': "-", '—': "-", '‒': "-", '―': "-", '−': "-",
		'\u00A0': " ", '…': "...", '×': "x", '·': ".", '§': "Sect.",
		'æ': "ae", 'Æ': "AE", 'œ': "oe", 'Œ': "OE", 'ß': "ss",
		'þ': "th", 'Þ': "Th", 'ð': "d", 'Ð': "D",
		'ø': "o", 'Ø': "O", 'ł': "l", 'Ł': "L", 'đ': "d", 'Đ': "D",
	}
	// Accented letters grouped by the base letter they fold to.
	for base, accented := range map[string]string{
		"A": "ÀÁÂÃÄÅĀĂĄ", "a": "àáâãäåāăą",
		"C": "ÇĆĈĊČ", "c": "çćĉċč",
		"D": "Ď", "d": "ď",
		"E": "ÈÉÊËĒĔĖĘĚ", "e": "èéêëēĕėęě",
		"G": "ĜĞĠĢ", "g": "ĝğġģ",
		"H": "ĤĦ", "h": "ĥħ",
		"I": "ÌÍÎÏĨĪĬĮİ", "i": "ìíîïĩīĭįı",
		"J": "Ĵ", "j": "ĵ",
		"K": "Ķ", "k": "ķĸ",
		"L": "ĹĻĽĿ", "l": "ĺļľŀ",
		"N": "ÑŃŅŇŊ", "n": "ñńņňŉŋ",
		"O": "ÒÓÔÕÖŌŎŐ", "o": "òóôõöōŏő",
		"R": "ŔŖŘ", "r": "ŕŗř",
		"S": "ŚŜŞŠ", "s": "śŝşšſ",
		"T": "ŢŤŦ", "t": "ţťŧ",
		"U": "ÙÚÛÜŨŪŬŮŰŲ", "u": "ùúûüũūŭůűų",
		"W": "Ŵ", "w": "ŵ",
		"Y": "ÝŶŸ", "y": "ýÿŷ",
		"Z": "ŹŻŽ", "z": "źżž",
	} {
		for _, r := range accented {
			m[r] = base
		}
	}
	return m
}()
