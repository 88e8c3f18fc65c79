package data

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"unicode/utf8"

	"github.com/lora-playground/lora-playground/core/tokenizer"
)

// Batch is B rows of T positions, the unit of one training or validation
// step. All three slices are row-major (B,T): position t of row b is at
// index b*T+t.
type Batch struct {
	B, T    int
	Inputs  []int32   // (B,T) token the model sees at each position
	Targets []int32   // (B,T) token it should predict there
	Weights []float32 // (B,T) 1 if that prediction counts in the loss, else 0
}

// NewBatch allocates a zeroed batch of B rows of T positions. Negative sizes
// are treated as 0.
func NewBatch(B, T int) *Batch {
	B, T = max(B, 0), max(T, 0)
	return &Batch{
		B: B, T: T,
		Inputs:  make([]int32, B*T),
		Targets: make([]int32, B*T),
		Weights: make([]float32, B*T),
	}
}

// Counted returns the number of positions whose prediction counts in the
// loss (whose weight is non-zero): the denominator of the batch's mean loss.
func (b *Batch) Counted() int {
	n := 0
	for _, w := range b.Weights {
		if w != 0 {
			n++
		}
	}
	return n
}

// pcgStream is the second PCG seed word: any constant works, fixing it makes
// a Sampler's order depend on its seed alone.
const pcgStream = 0x4c6f5241 // "LoRA"

// Sampler cuts a tokenized dataset into batches. It is built once per
// dataset split by [NewSampler]; [Sampler.Next] draws random training
// batches, [Sampler.Epoch] makes the ordered validation pass. A Sampler is
// not safe for concurrent use.
type Sampler struct {
	kind Kind
	T    int
	pad  int32 // input/target id of padding positions (weight 0): "\n" when the vocabulary has it
	rng  *rand.Rand

	// KindText: the whole dataset as one token stream.
	stream []int32

	// KindPromptCompletion: example i is tokens[offsets[i]:offsets[i+1]]
	// (at most T+1 tokens), and its completion starts at index completion[i]
	// of that slice.
	tokens     []int32
	offsets    []int
	completion []int
	truncated  int
	order      []int // a shuffled permutation of the examples, walked by next
	next       int
}

// NewSampler tokenizes examples with tok for a model with a context of T
// tokens and returns a sampler whose random order is fixed by seed, together
// with the characters outside tok's vocabulary, summed over all examples.
// Those characters are encoded as <unk> and still trained on; the caller
// should show the report to the learner.
//
// For [KindText] the examples (whose Prompt must be "") are joined with "\n"
// into one token stream, which must hold at least 2 tokens. A stream shorter
// than T+1 tokens is fine: its rows are padded.
//
// For [KindPromptCompletion] each example becomes the tokens of
// Prompt + Completion + "\n", and tok must contain "\n". The completion
// together with its closing newline must fit in T tokens, so that every
// completion token has a predecessor inside the row and is a counted target;
// otherwise NewSampler fails naming the example. Longer examples lose the
// start of their prompt (see [Sampler.Truncated]). An example with an empty
// prompt has nothing before its first completion token, so that one token is
// not a target.
func NewSampler(kind Kind, examples []Example, tok *tokenizer.Tokenizer, T int, seed uint64) (*Sampler, tokenizer.Unknown, error) {
	var unknown tokenizer.Unknown
	switch {
	case tok == nil:
		return nil, unknown, errors.New("data: NewSampler needs a tokenizer")
	case T < 1:
		return nil, unknown, fmt.Errorf("data: the context length T is %d; it must be at least 1", T)
	case !kind.Valid():
		return nil, unknown, fmt.Errorf("data: unknown dataset kind %q; want %q or %q", kind, KindText, KindPromptCompletion)
	case len(examples) == 0:
		return nil, unknown, errors.New("data: the dataset has no examples")
	}
	s := &Sampler{kind: kind, T: T, rng: rand.New(rand.NewPCG(seed, pcgStream))}
	newline, hasNewline := tok.ID('\n')
	s.pad = newline // the <unk> id when there is no newline; its weight is 0 anyway

	// The token buffers are sized up front (one token per character, see
	// tokenizer.Encode): growing them by appending left about four times
	// their size in garbage behind, which in js/wasm stays in the linear
	// memory the run pays for (a 50,000-character text: 0.9 MB of
	// allocations for a 0.2 MB stream).
	if kind == KindText {
		n := len(examples) - 1 // the newlines between examples
		for _, ex := range examples {
			n += utf8.RuneCountInString(ex.Completion)
		}
		s.stream = make([]int32, 0, n)
		for i, ex := range examples {
			if ex.Prompt != "" {
				return nil, unknown, fmt.Errorf("data: example %d has a prompt, but a %q dataset has none; use %q", i+1, KindText, KindPromptCompletion)
			}
			if i > 0 {
				s.stream = tok.AppendEncode(s.stream, "\n", &unknown)
			}
			s.stream = tok.AppendEncode(s.stream, ex.Completion, &unknown)
		}
		if len(s.stream) < 2 {
			return nil, unknown, fmt.Errorf("data: the text is %d characters long; at least 2 are needed for there to be anything to predict", len(s.stream))
		}
		return s, unknown, nil
	}

	if !hasNewline {
		return nil, unknown, errors.New(`data: the vocabulary has no "\n", which ends every completion in a prompt/completion dataset`)
	}
	// An example keeps at most T+1 tokens, but is encoded whole before its
	// prompt is cut: room for the longest excess avoids a reallocation.
	n, excess := 0, 0
	for _, ex := range examples {
		k := utf8.RuneCountInString(ex.Prompt) + utf8.RuneCountInString(ex.Completion) + 1
		n += min(T+1, k)
		excess = max(excess, k-(T+1))
	}
	s.tokens = make([]int32, 0, n+excess)
	s.offsets = make([]int, 1, len(examples)+1)
	s.completion = make([]int, 0, len(examples))
	for i, ex := range examples {
		start := len(s.tokens)
		s.tokens = tok.AppendEncode(s.tokens, ex.Prompt, &unknown)
		promptLen := len(s.tokens) - start
		s.tokens = tok.AppendEncode(s.tokens, ex.Completion, &unknown)
		s.tokens = append(s.tokens, newline)
		completionLen := len(s.tokens) - start - promptLen
		if completionLen > T {
			return nil, unknown, fmt.Errorf("data: example %d (prompt %s): the completion is %d tokens long with its closing newline; with a context of %d tokens it can be at most %d",
				i+1, quoteShort(ex.Prompt), completionLen, T, T)
		}
		if drop := promptLen + completionLen - (T + 1); drop > 0 {
			// Keep the completion whole and the end of the prompt nearest to
			// it, which is what conditions the completion most directly.
			copy(s.tokens[start:], s.tokens[start+drop:])
			s.tokens = s.tokens[:start+T+1]
			promptLen -= drop
			s.truncated++
		}
		s.completion = append(s.completion, promptLen)
		s.offsets = append(s.offsets, len(s.tokens))
	}
	s.order = make([]int, len(examples))
	for i := range s.order {
		s.order[i] = i
	}
	s.shuffle()
	return s, unknown, nil
}

// quoteShort quotes s for an error message, shortened to its first 40
// characters.
func quoteShort(s string) string {
	r := []rune(s)
	if len(r) > 40 {
		return fmt.Sprintf("%q...", string(r[:40]))
	}
	return fmt.Sprintf("%q", s)
}

func (s *Sampler) shuffle() {
	s.rng.Shuffle(len(s.order), func(i, j int) { s.order[i], s.order[j] = s.order[j], s.order[i] })
	s.next = 0
}

// Kind returns the kind of dataset the sampler was built for.
func (s *Sampler) Kind() Kind { return s.kind }

// Tokens returns the size of the dataset in tokens: the length of the token
// stream for [KindText]; for [KindPromptCompletion] the tokens kept of all
// examples (prompt, completion and closing newline, after truncation).
func (s *Sampler) Tokens() int {
	if s.kind == KindText {
		return len(s.stream)
	}
	return len(s.tokens)
}

// Truncated returns how many prompt/completion examples were longer than
// T+1 tokens and lost the start of their prompt; 0 for [KindText].
func (s *Sampler) Truncated() int { return s.truncated }

// Rows returns the number of rows in one [Sampler.Epoch]: the number of
// examples for [KindPromptCompletion]; for [KindText] the number of
// non-overlapping windows of T targets needed to cover the stream.
func (s *Sampler) Rows() int {
	if s.kind == KindText {
		return (len(s.stream) - 1 + s.T - 1) / s.T
	}
	return len(s.completion)
}

// Next fills dst with dst.B random rows and advances the sampler's random
// state, so the sequence of batches is fixed by the seed. It allocates
// nothing.
//
// For [KindText] each row is a window of T+1 consecutive tokens starting at
// a uniformly random position (Inputs are its first T, Targets its last T);
// for [KindPromptCompletion] each row is one example, taken in a shuffled
// order that visits every example once before any repeats.
//
// dst must have been made by NewBatch(B, T) with the sampler's T; as with a
// matrix of the wrong shape in gonum, anything else is a bug in the calling
// code and Next panics.
func (s *Sampler) Next(dst *Batch) {
	if dst == nil || dst.T != s.T || len(dst.Inputs) < dst.B*s.T || len(dst.Targets) < dst.B*s.T || len(dst.Weights) < dst.B*s.T {
		panic(fmt.Sprintf("data: Sampler.Next needs a batch made by NewBatch(B, %d)", s.T))
	}
	T := s.T
	for b := 0; b < dst.B; b++ {
		in, tg, w := dst.Inputs[b*T:(b+1)*T], dst.Targets[b*T:(b+1)*T], dst.Weights[b*T:(b+1)*T]
		if s.kind == KindText {
			start := 0
			if len(s.stream) > T {
				start = s.rng.IntN(len(s.stream) - T)
			}
			s.fillRow(s.stream[start:min(start+T+1, len(s.stream))], 1, in, tg, w)
			continue
		}
		if s.next == len(s.order) {
			s.shuffle()
		}
		s.fillExample(s.order[s.next], in, tg, w)
		s.next++
	}
}

// fillExample writes prompt/completion example i into one row.
func (s *Sampler) fillExample(i int, in, tg []int32, w []float32) {
	seq := s.tokens[s.offsets[i]:s.offsets[i+1]]
	// Position t predicts seq[t+1]; it counts when seq[t+1] is part of the
	// completion, that is when t+1 >= completion start.
	s.fillRow(seq, max(s.completion[i], 1), in, tg, w)
}

// fillRow writes the window seq (at most T+1 tokens) into one row: position
// t has input seq[t] and target seq[t+1], weighted 1 when t+1 >= firstTarget.
// Positions past the window are padding with weight 0.
func (s *Sampler) fillRow(seq []int32, firstTarget int, in, tg []int32, w []float32) {
	n := len(seq) - 1 // number of real positions
	for t := 0; t < len(in); t++ {
		if t < n {
			in[t], tg[t] = seq[t], seq[t+1]
			if t+1 >= firstTarget {
				w[t] = 1
			} else {
				w[t] = 0
			}
			continue
		}
		in[t], tg[t], w[t] = s.pad, s.pad, 0
	}
}

// Epoch returns the deterministic ordered pass over the dataset used for
// validation, in batches of B rows: for [KindText] the stream cut into
// consecutive non-overlapping windows, so that every token after the first
// is a counted target exactly once; for [KindPromptCompletion] every example
// once, in order. The last batch is filled up with padding rows of weight 0,
// so every batch has the shape the model was built for. Epoch does not touch
// the random state used by Next. B < 1 returns nil.
func (s *Sampler) Epoch(B int) []*Batch {
	if B < 1 {
		return nil
	}
	rows := s.Rows()
	T := s.T
	batches := make([]*Batch, 0, (rows+B-1)/B)
	for first := 0; first < rows; first += B {
		batch := NewBatch(B, T)
		for b := 0; b < B; b++ {
			in, tg, w := batch.Inputs[b*T:(b+1)*T], batch.Targets[b*T:(b+1)*T], batch.Weights[b*T:(b+1)*T]
			row := first + b
			switch {
			case row >= rows:
				s.fillRow(nil, 0, in, tg, w)
			case s.kind == KindText:
				start := row * T
				s.fillRow(s.stream[start:min(start+T+1, len(s.stream))], 1, in, tg, w)
			default:
				s.fillExample(row, in, tg, w)
			}
		}
		batches = append(batches, batch)
	}
	return batches
}
