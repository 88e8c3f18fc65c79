package main

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/lora-playground/lora-playground/core/model"
)

// errDeadline is returned by generate when the time cap is reached.
var errDeadline = errors.New("time limit reached")

// generate continues prompt by n tokens exactly as core/sample.Generate does
// with TopK 0 (same seed, same tokens: TestGenerateMatchesSample checks it),
// so the server's text for a seed is the text the playground shows locally.
// It exists because sample.Generate cannot be stopped: Go on wasm has no
// preemption, so the only way to bound its time is to check a clock between
// tokens. After each token, over(produced) is asked whether to stop; when it
// says yes, generate returns the tokens so far and errDeadline.
func generate(m *model.Model, prompt []int32, n int, temperature float64, seed uint64, over func(int) bool) ([]int32, error) {
	if len(prompt) == 0 {
		return nil, fmt.Errorf("the prompt is empty")
	}
	ctx := m.Config.NCtx
	d := model.NewDecoder(m)
	// The stream constant is sample.Generate's, so that seeds agree.
	rng := rand.New(rand.NewPCG(seed, 0x73616d70))
	hist := append([]int32(nil), prompt...)
	start := max(0, len(hist)-ctx)
	for _, t := range hist[start:] {
		if err := d.Feed(t); err != nil {
			return nil, err
		}
	}
	probs := make([]float64, m.Config.VocabSize)
	out := make([]int32, 0, n)
	for len(out) < n {
		if over(len(out)) {
			return out, errDeadline
		}
		next := pick(d.Logits, probs, temperature, rng)
		out = append(out, next)
		hist = append(hist, next)
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

// pick chooses the next token: the argmax at temperature 0, else a draw
// from softmax(logits/temperature), as core/sample does.
func pick(logits []float32, probs []float64, temperature float64, rng *rand.Rand) int32 {
	if temperature == 0 {
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
	var sum float64
	for i, l := range logits {
		probs[i] = math.Exp((float64(l) - maxv) / temperature)
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

// deadlineCheck returns an over function for generate that stops once now()
// passes deadline.
func deadlineCheck(now func() time.Time, deadline time.Time) func(int) bool {
	return func(int) bool { return now().After(deadline) }
}
