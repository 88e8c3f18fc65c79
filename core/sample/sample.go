// Package sample generates text from a model: temperature sampling with an
// optional top-k filter, or greedy decoding at temperature 0, all seeded so
// that the same prompt, seed and weights give the same text.
package sample

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/lora-playground/lora-playground/core/data"
	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/tokenizer"
)

// Options controls generation.
type Options struct {
	MaxTokens   int     // tokens to generate
	Temperature float64 // 0 is greedy (argmax); 1 samples the model's distribution
	TopK        int     // keep only the k most likely tokens; 0 keeps all
	Seed        uint64
	// StopToken ends generation after it is produced, when StopAt is set.
	StopToken int32
	StopAt    bool
	// Continue, when set, is asked before each new token with the number
	// produced so far; a non-nil error ends generation and Generate returns
	// the tokens so far with that error. Go on wasm cannot be preempted, so
	// this is how a server bounds the time one request may take.
	Continue func(produced int) error
}

// Validate reports unusable options.
func (o Options) Validate() error {
	switch {
	case o.MaxTokens < 0 || o.MaxTokens > 100000:
		return fmt.Errorf("sample: max tokens must be between 0 and 100000, got %d", o.MaxTokens)
	case math.IsNaN(o.Temperature) || math.IsInf(o.Temperature, 0) || o.Temperature < 0:
		return fmt.Errorf("sample: temperature must be a non-negative number, got %v", o.Temperature)
	case o.TopK < 0:
		return fmt.Errorf("sample: top-k must be non-negative, got %d", o.TopK)
	}
	return nil
}

// Generate continues prompt and returns only the new tokens. When the
// context fills up, the window slides: the decoder restarts on the last half
// of the context.
func Generate(m *model.Model, prompt []int32, o Options) ([]int32, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if len(prompt) == 0 {
		return nil, fmt.Errorf("sample: the prompt is empty")
	}
	ctx := m.Config.NCtx
	d := model.NewDecoder(m)
	rng := rand.New(rand.NewPCG(o.Seed, 0x73616d70))
	hist := append([]int32(nil), prompt...)
	start := 0
	if len(hist) > ctx {
		start = len(hist) - ctx
	}
	for _, t := range hist[start:] {
		if err := d.Feed(t); err != nil {
			return nil, err
		}
	}
	probs := make([]float64, m.Config.VocabSize)
	out := make([]int32, 0, o.MaxTokens)
	for len(out) < o.MaxTokens {
		if o.Continue != nil {
			if err := o.Continue(len(out)); err != nil {
				return out, err
			}
		}
		next := pick(d.Logits, probs, o, rng)
		out = append(out, next)
		hist = append(hist, next)
		if o.StopAt && next == o.StopToken {
			break
		}
		if d.Len() == ctx {
			d.Reset()
			for _, t := range hist[len(hist)-ctx/2 : len(hist)-1] {
				if err := d.Feed(t); err != nil {
					return nil, err
				}
			}
		}
		if err := d.Feed(next); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// pick chooses the next token from logits.
func pick(logits []float32, probs []float64, o Options, rng *rand.Rand) int32 {
	if o.Temperature == 0 {
		best := 0
		for i, l := range logits {
			if l > logits[best] {
				best = i
			}
		}
		return int32(best)
	}
	maxv := math.Inf(-1)
	for _, l := range logits {
		maxv = math.Max(maxv, float64(l))
	}
	cut := math.Inf(-1)
	if o.TopK > 0 && o.TopK < len(logits) {
		s := make([]float64, len(logits))
		for i, l := range logits {
			s[i] = float64(l)
		}
		sort.Sort(sort.Reverse(sort.Float64Slice(s)))
		cut = s[o.TopK-1]
	}
	var sum float64
	for i, l := range logits {
		if float64(l) < cut {
			probs[i] = 0
			continue
		}
		probs[i] = math.Exp((float64(l) - maxv) / o.Temperature)
		sum += probs[i]
	}
	u := rng.Float64() * sum
	for i, p := range probs {
		u -= p
		if u < 0 && p > 0 {
			return int32(i)
		}
	}
	for i := len(probs) - 1; i >= 0; i-- { // rounding left u ≥ 0: take the last kept token
		if probs[i] > 0 {
			return int32(i)
		}
	}
	return 0
}

// ExactMatch is the share of examples whose greedy completion of the prompt
// equals the reference completion exactly (the data format ends every
// completion with "\n", which stops generation). At most limit examples
// are scored (all when limit ≤ 0).
func ExactMatch(m *model.Model, tok Tokenizer, examples []data.Example, limit int) (float64, error) {
	if limit <= 0 || limit > len(examples) {
		limit = len(examples)
	}
	if limit == 0 {
		return 0, fmt.Errorf("sample: no examples to score")
	}
	nl, ok := tok.ID('\n')
	if !ok {
		return 0, fmt.Errorf("sample: the vocabulary has no newline to end completions")
	}
	right := 0
	for _, ex := range examples[:limit] {
		prompt, _ := tok.Encode(ex.Prompt)
		want, _ := tok.Encode(ex.Completion)
		hit, err := Match(m, prompt, want, nl)
		if err != nil {
			return 0, err
		}
		if hit {
			right++
		}
	}
	return float64(right) / float64(limit), nil
}

// Match reports whether greedy decoding from prompt gives exactly want and
// then the token nl: ExactMatch's test of one example, on tokens, so that a
// worker without the examples' text (a shard) can score it.
func Match(m *model.Model, prompt, want []int32, nl int32) (bool, error) {
	got, err := Generate(m, prompt, Options{MaxTokens: len(want) + 1, StopToken: nl, StopAt: true})
	if err != nil {
		return false, err
	}
	return len(got) == len(want)+1 && got[len(want)] == nl && slices.Equal(got[:len(want)], want), nil
}

// Tokenizer is what ExactMatch needs of a tokenizer.
type Tokenizer interface {
	Encode(string) ([]int32, tokenizer.Unknown)
	ID(rune) (int32, bool)
}
