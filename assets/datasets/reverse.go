package datasets

import (
	_ "embed"
	"fmt"
	"strings"

	"github.com/lora-playground/lora-playground/core/data"
)

// reverseWords holds 3,300 common English words of 3 to 7 lowercase letters,
// one per line. They were chosen once, offline, as the words of Debian's
// American English dictionary (package wamerican) that occur most often in
// at least two of Newton's Opticks, the comments of Go's standard library and
// the documentation on a Debian system, less abbreviations, names and
// unpleasant words. The list is committed so generation needs nothing but
// this repository.
//
//go:embed reverse_words.txt
var reverseWords string

const (
	reverseTrain = 3000
	reverseVal   = 300
)

func buildReverse() (task, error) {
	words := strings.Fields(reverseWords)
	if len(words) < reverseTrain+reverseVal {
		return task{}, fmt.Errorf("reverse: %d words in reverse_words.txt, need %d", len(words), reverseTrain+reverseVal)
	}
	seen := make(map[string]bool, len(words))
	for _, w := range words {
		if len(w) < 3 || len(w) > 7 || strings.Trim(w, "abcdefghijklmnopqrstuvwxyz") != "" || seen[w] {
			return task{}, fmt.Errorf("reverse: %q is not a new word of 3 to 7 lowercase letters", w)
		}
		seen[w] = true
	}
	rng := newRand(3)
	rng.Shuffle(len(words), func(i, j int) { words[i], words[j] = words[j], words[i] })
	// Disjoint slices of one shuffled list: no validation word is trained on.
	val, train := words[:reverseVal], words[reverseVal:reverseVal+reverseTrain]
	t := task{info: data.Task{
		Name:        "reverse",
		Title:       "Reverse a word",
		Description: `Spell a word backwards ("reverse: horse =" gives " esroh"); validation words never appear in training.`,
		Kind:        data.KindPromptCompletion,
		Metric:      data.MetricExactMatch,
	}}
	for _, w := range train {
		t.train = append(t.train, reverseExample(w))
	}
	for _, w := range val {
		t.val = append(t.val, reverseExample(w))
	}
	return t, nil
}

// reverseExample is the prompt "reverse: horse =" with completion " esroh".
// The space opening the completion keeps the answer's first letter apart
// from the "=", so every answer letter is a fresh prediction.
func reverseExample(word string) data.Example {
	b := []byte(word)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return data.Example{Prompt: "reverse: " + word + " =", Completion: " " + string(b)}
}
