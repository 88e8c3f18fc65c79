package tokenizer

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Unk is the vocabulary's entry 0, the token that stands for every character
// the vocabulary does not contain. It decodes as U+FFFD, the Unicode
// replacement character "�".
const Unk = "<unk>"

// unkID is the id of [Unk]; it is always 0.
const unkID = 0

// Tokenizer maps characters to token ids and back. It is immutable after
// [New] and safe for concurrent use.
type Tokenizer struct {
	vocab []string // id → entry, as given to New
	runes []rune   // id → rune; runes[0] = utf8.RuneError, which <unk> decodes as

	// ascii is a lookup table for the common case; 0 (the <unk> id) means
	// "not in the vocabulary", which is unambiguous because no character can
	// have id 0.
	ascii [utf8.RuneSelf]int32
	other map[rune]int32 // ids of the non-ASCII characters
}

// New returns a tokenizer for vocab, where vocab[i] is the text of token i.
// vocab[0] must be [Unk] and every other entry exactly one character
// (Unicode code point), without duplicates. U+FFFD is refused as an entry
// because <unk> already decodes as it, so a round trip could not tell the
// two apart.
//
// New copies vocab; the caller may reuse it.
func New(vocab []string) (*Tokenizer, error) {
	if len(vocab) == 0 {
		return nil, fmt.Errorf("tokenizer: the vocabulary is empty; entry 0 must be %q", Unk)
	}
	if vocab[0] != Unk {
		return nil, fmt.Errorf("tokenizer: vocabulary entry 0 is %q; it must be %q", vocab[0], Unk)
	}
	if len(vocab) > 1<<31-1 {
		return nil, fmt.Errorf("tokenizer: the vocabulary has %d entries, more than an int32 id can address", len(vocab))
	}
	t := &Tokenizer{
		vocab: append([]string(nil), vocab...),
		runes: make([]rune, len(vocab)),
		other: make(map[rune]int32),
	}
	t.runes[unkID] = utf8.RuneError
	seen := make(map[rune]int, len(vocab))
	for i := 1; i < len(vocab); i++ {
		entry := vocab[i]
		if !utf8.ValidString(entry) {
			return nil, fmt.Errorf("tokenizer: vocabulary entry %d (%q) is not valid UTF-8", i, entry)
		}
		if n := utf8.RuneCountInString(entry); n != 1 {
			return nil, fmt.Errorf("tokenizer: vocabulary entry %d is %q, which is %d characters; every entry after %q must be exactly one character", i, entry, n, Unk)
		}
		r, _ := utf8.DecodeRuneInString(entry)
		if r == utf8.RuneError {
			return nil, fmt.Errorf("tokenizer: vocabulary entry %d is U+FFFD, the character %q decodes as; it cannot also be a token", i, Unk)
		}
		if j, dup := seen[r]; dup {
			return nil, fmt.Errorf("tokenizer: vocabulary entries %d and %d are both %q", j, i, entry)
		}
		seen[r] = i
		t.runes[i] = r
		if r < utf8.RuneSelf {
			t.ascii[r] = int32(i)
		} else {
			t.other[r] = int32(i)
		}
	}
	return t, nil
}

// DefaultVocab returns the vocabulary of [Default]: [Unk], "\n", then the 95
// printable ASCII characters from " " (32) to "~" (126) in order, 97 entries
// in all. Newline is in it because text is made of lines; tab and carriage
// return are not, because they add nothing a model of prose needs.
func DefaultVocab() []string {
	vocab := make([]string, 0, 97)
	vocab = append(vocab, Unk, "\n")
	for c := byte(32); c <= 126; c++ {
		vocab = append(vocab, string(rune(c)))
	}
	return vocab
}

// Default returns the tokenizer of [DefaultVocab], the vocabulary of every
// model that LoRA Playground pretrains.
func Default() *Tokenizer {
	t, err := New(DefaultVocab())
	if err != nil {
		// DefaultVocab is a constant of this package; a failure here is a
		// bug in this file, not bad input.
		panic(err)
	}
	return t
}

// Vocab returns a copy of the vocabulary: entry i is the text of token i.
// This is the list stored in a model's config.json.
func (t *Tokenizer) Vocab() []string { return append([]string(nil), t.vocab...) }

// Size returns the number of tokens in the vocabulary, which is the size of
// the model's embedding table and output layer.
func (t *Tokenizer) Size() int { return len(t.vocab) }

// UnkID returns the id of [Unk], which is always 0.
func (t *Tokenizer) UnkID() int32 { return unkID }

// ID returns the id of the character r, and false (with the <unk> id) when r
// is not in the vocabulary.
func (t *Tokenizer) ID(r rune) (int32, bool) {
	if r >= 0 && r < utf8.RuneSelf {
		id := t.ascii[r]
		return id, id != unkID
	}
	id, ok := t.other[r]
	return id, ok
}

// Encode returns the token ids of s, one per character, together with a
// report of the characters that are not in the vocabulary. Each of those
// becomes the <unk> id, so len(ids) always equals the number of characters
// in s and positions in the text and in the ids line up. Bytes of s that are
// not valid UTF-8 become <unk> too, one per byte, and are reported under
// U+FFFD.
func (t *Tokenizer) Encode(s string) ([]int32, Unknown) {
	ids := make([]int32, 0, len(s))
	var unknown Unknown
	ids = t.AppendEncode(ids, s, &unknown)
	return ids, unknown
}

// AppendEncode appends the token ids of s to dst and returns the extended
// slice, like [Tokenizer.Encode], adding the characters outside the
// vocabulary to *unknown (which may be nil to ignore them). It lets a caller
// encode many pieces into one buffer and one report.
func (t *Tokenizer) AppendEncode(dst []int32, s string, unknown *Unknown) []int32 {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			id := t.ascii[c]
			if id == unkID {
				unknown.add(rune(c))
			}
			dst = append(dst, id)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		id, ok := t.other[r]
		if !ok || (r == utf8.RuneError && size == 1) {
			// An invalid byte decodes as RuneError with size 1. New refuses
			// U+FFFD as an entry, so !ok already covers it; the second test
			// keeps that true should the rule ever change.
			id = unkID
			unknown.add(r)
		}
		dst = append(dst, id)
	}
	return dst
}

// Decode returns the text of ids. The <unk> id, and any id outside
// [0, Size()) (which no Encode produces, but a corrupted or mismatched model
// could), decode as U+FFFD "�" rather than failing, so a model's output can
// always be shown.
func (t *Tokenizer) Decode(ids []int32) string {
	var b strings.Builder
	b.Grow(len(ids))
	for _, id := range ids {
		if id < 0 || int(id) >= len(t.runes) {
			b.WriteRune(utf8.RuneError)
			continue
		}
		b.WriteRune(t.runes[id])
	}
	return b.String()
}

// Unknown reports the characters of a text that are not in a vocabulary.
// The zero value means "none".
type Unknown struct {
	// Count is the number of characters that were mapped to <unk>.
	Count int
	// Runes counts them by character; invalid UTF-8 bytes are counted
	// under U+FFFD. It is nil when Count is 0.
	Runes map[rune]int
}

func (u *Unknown) add(r rune) {
	if u == nil {
		return
	}
	if u.Runes == nil {
		u.Runes = make(map[rune]int)
	}
	u.Count++
	u.Runes[r]++
}

// Add adds the counts of other to u, to sum the reports of several texts.
func (u *Unknown) Add(other Unknown) {
	for r, n := range other.Runes {
		if u.Runes == nil {
			u.Runes = make(map[rune]int, len(other.Runes))
		}
		u.Runes[r] += n
	}
	u.Count += other.Count
}

// maxListed is how many distinct characters String names before it says
// "and N more": enough to show a learner what kind of text caused the
// problem, short enough for one line of a UI.
const maxListed = 10

// String describes the report in one line for a learner, for example
//
//	3 characters outside the vocabulary: 'é' ×2, '—' ×1
//
// listing the most frequent characters first (ties in code point order), at
// most 10 of them followed by "and N more". It returns "" when Count is 0,
// so a caller can write if msg := u.String(); msg != "" { show(msg) }.
// Characters are quoted as Go rune literals, so a tab shows as '\t'.
func (u Unknown) String() string {
	if u.Count == 0 {
		return ""
	}
	type entry struct {
		r rune
		n int
	}
	entries := make([]entry, 0, len(u.Runes))
	for r, n := range u.Runes {
		entries = append(entries, entry{r, n})
	}
	sort.Slice(entries, func(i, j int) bool {
		if entries[i].n != entries[j].n {
			return entries[i].n > entries[j].n
		}
		return entries[i].r < entries[j].r
	})
	var b strings.Builder
	noun := "characters"
	if u.Count == 1 {
		noun = "character"
	}
	fmt.Fprintf(&b, "%d %s outside the vocabulary: ", u.Count, noun)
	for i, e := range entries {
		if i == maxListed {
			fmt.Fprintf(&b, ", and %d more", len(entries)-maxListed)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.QuoteRune(e.r))
		b.WriteString(" ×")
		b.WriteString(strconv.Itoa(e.n))
	}
	return b.String()
}
