package data_test

import (
	"fmt"
	"strings"

	"github.com/lora-playground/lora-playground/core/data"
	"github.com/lora-playground/lora-playground/core/tokenizer"
)

func ExampleParseJSONL() {
	good := `{"prompt": "reverse: horse =", "completion": " esroh"}

{"prompt": "reverse: light =", "completion": " thgil"}
`
	examples, kind, err := data.ParseJSONL(strings.NewReader(good), 16<<20)
	fmt.Println(len(examples), kind, err)

	typo := good + `{"prompt": "reverse: prism =", "completon": " msirp"}`
	_, _, err = data.ParseJSONL(strings.NewReader(typo), 16<<20)
	fmt.Println(err)
	// Output:
	// 2 prompt_completion <nil>
	// line 4: unexpected field "completon"; a line has either "text" or "prompt" and "completion"
}

// A prompt/completion row: the model reads Inputs, is trained to predict
// Targets, and only the completion's predictions (weight 1) count.
func ExampleNewSampler() {
	tok := tokenizer.Default()
	examples := []data.Example{{Prompt: "reverse: cat =", Completion: " tac"}}
	sampler, unknown, err := data.NewSampler(data.KindPromptCompletion, examples, tok, 20, 1)
	if err != nil {
		panic(err)
	}
	batch := data.NewBatch(1, 20)
	sampler.Next(batch)
	fmt.Printf("inputs  %q\n", tok.Decode(batch.Inputs))
	fmt.Printf("targets %q\n", tok.Decode(batch.Targets))
	fmt.Println("weights", batch.Weights)
	fmt.Printf("unknown characters: %q\n", unknown)
	// Output:
	// inputs  "reverse: cat = tac\n\n"
	// targets "everse: cat = tac\n\n\n"
	// weights [0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 1 1 1 0 0]
	// unknown characters: ""
}

// A text dataset, with a character the vocabulary lacks: it is reported and
// kept as <unk>, not dropped.
func ExampleSampler_Epoch() {
	tok := tokenizer.Default()
	sampler, unknown, err := data.NewSampler(data.KindText, []data.Example{{Completion: "Light—is refracted."}}, tok, 8, 1)
	if err != nil {
		panic(err)
	}
	fmt.Println(unknown)
	for i, batch := range sampler.Epoch(2) {
		for b := 0; b < batch.B; b++ {
			row := batch.Targets[b*batch.T : (b+1)*batch.T]
			fmt.Printf("batch %d row %d: %+q, %d targets count\n", i, b, tok.Decode(row), int(sum(batch.Weights[b*batch.T:(b+1)*batch.T])))
		}
	}
	// Output:
	// 1 character outside the vocabulary: '—' ×1
	// batch 0 row 0: "ight\ufffdis ", 8 targets count
	// batch 0 row 1: "refracte", 8 targets count
	// batch 1 row 0: "d.\n\n\n\n\n\n", 2 targets count
	// batch 1 row 1: "\n\n\n\n\n\n\n\n", 0 targets count
}

func sum(w []float32) float32 {
	var s float32
	for _, x := range w {
		s += x
	}
	return s
}

func ExampleSplitText() {
	train, val := data.SplitText("First line.\nSecond line.\nThird line.\nFourth.\n", 0.25)
	fmt.Printf("%q\n%q\n", train, val)
	// Output:
	// "First line.\nSecond line.\nThird line.\n"
	// "Fourth.\n"
}

func ExampleStripGutenberg() {
	book := "The Project Gutenberg EBook of Opticks\n" +
		"*** START OF THIS PROJECT GUTENBERG EBOOK OPTICKS ***\n\n" +
		"OPTICKS:\nOR, A TREATISE\n\n" +
		"*** END OF THIS PROJECT GUTENBERG EBOOK OPTICKS ***\nlicence...\n"
	body, err := data.StripGutenberg(book)
	fmt.Printf("%q %v\n", body, err)
	_, err = data.StripGutenberg("OPTICKS:\nOR, A TREATISE\n")
	fmt.Println(err)
	// Output:
	// "OPTICKS:\nOR, A TREATISE" <nil>
	// no "*** START OF ..." line: this does not look like a Project Gutenberg e-book with its licence header
}

func ExampleLoadTask() {
	task, train, val, err := data.LoadTask("../../assets/datasets/reverse", 1<<20)
	if err != nil {
		panic(err)
	}
	fmt.Println(task.Title, "-", task.Metric)
	fmt.Println(len(train), "train,", len(val), "val")
	fmt.Printf("%q -> %q\n", val[0].Prompt, val[0].Completion)
	// Output:
	// Reverse a word - exact_match
	// 3000 train, 300 val
	// "reverse: nesting =" -> " gnitsen"
}
