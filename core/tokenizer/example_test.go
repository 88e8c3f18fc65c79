package tokenizer_test

import (
	"fmt"

	"github.com/lora-playground/lora-playground/core/tokenizer"
)

func Example() {
	tok := tokenizer.Default()
	ids, unknown := tok.Encode("Light—and Colours")
	fmt.Println(tok.Size(), "tokens in the vocabulary")
	fmt.Println(ids[:5])
	fmt.Println(unknown)
	fmt.Printf("%+q\n", tok.Decode(ids)) // %+q shows U+FFFD as an escape
	// Output:
	// 97 tokens in the vocabulary
	// [46 75 73 74 86]
	// 1 character outside the vocabulary: '—' ×1
	// "Light\ufffdand Colours"
}

func ExampleNew() {
	_, err := tokenizer.New([]string{"<unk>", "a", "ab"})
	fmt.Println(err)
	tok, err := tokenizer.New([]string{"<unk>", "\n", "a", "b", "é"})
	fmt.Println(tok.Size(), err)
	// Output:
	// tokenizer: vocabulary entry 2 is "ab", which is 2 characters; every entry after "<unk>" must be exactly one character
	// 5 <nil>
}

func ExampleASCIIFold() {
	fmt.Println(tokenizer.ASCIIFold("the Phænomena of “Light” — 31 × 31"))
	// Output: the Phaenomena of "Light" - 31 x 31
}
