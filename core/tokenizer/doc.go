// Package tokenizer turns text into the integer ids a language model reads
// and back again, one character (Unicode code point) per token.
//
// Production models such as GPT-2 use byte-pair encoding, whose vocabulary of
// ~50,000 sub-word pieces is learnt from a large corpus. The models in LoRA
// Playground are tiny and are trained in a browser tab, so they use the
// simplest tokenizer that works: every character is its own token. The cost
// is that sequences are longer (one token per letter instead of roughly one
// per word); the benefits are that the vocabulary is small (97 entries for
// printable ASCII, so the embedding and output layers stay small), nothing
// has to be learnt before the model can be trained, and every token the model
// produces can be shown to a learner as a plain character.
//
// The vocabulary is part of the model: it is stored with the weights (in
// config.json, as a JSON list of strings) and a model can only be used with
// the vocabulary it was trained with, because id 42 means whatever character
// sat at position 42 during training. Entry 0 is always the special token
// "<unk>" (see [Unk]); every other entry is exactly one character.
//
// # Unknown characters are counted, never dropped
//
// A learner who pastes text containing "é" or "—" into a model whose
// vocabulary is printable ASCII must be told so, not have the characters
// silently vanish or be silently rewritten: that would make the model's
// behaviour on their data inexplicable. [Tokenizer.Encode] therefore maps
// every character outside the vocabulary to the <unk> id and returns an
// [Unknown] report that says which characters those were and how often they
// occurred, ready to be shown in the UI.
//
// The one place where text is deliberately rewritten is the preparation of
// the pretraining corpus, where [ASCIIFold] maps typographic characters
// (curly quotes, dashes, "æ", accented letters) onto ASCII before the base
// model is trained. It is never applied to a learner's own data.
package tokenizer
