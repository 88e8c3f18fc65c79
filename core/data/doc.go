// Package data reads the datasets a learner fine-tunes on and cuts them into
// the batches a training step consumes.
//
// # Two kinds of dataset
//
// A language model is trained to predict the next token. What differs
// between datasets is which predictions count:
//
//   - [KindText]: plain text, such as a poem collection or a play. Every
//     token is a target, so the model learns to continue text in that
//     style. A .txt file, or a .jsonl file of {"text": "..."} lines, is read
//     as this kind.
//   - [KindPromptCompletion]: pairs such as ("reverse: horse =", " esroh").
//     The model should learn to produce the completion given the prompt, not
//     to produce prompts, so only the predictions of completion tokens count
//     in the loss. A .jsonl file of {"prompt": "...", "completion": "..."}
//     lines is read as this kind. This masking is how instruction tuning
//     and the LoRA paper's E2E experiments are set up.
//
// # Batches
//
// A [Batch] holds B rows of T positions. At each position the model sees
// Inputs[b*T+t] and is trained to predict Targets[b*T+t], and Weights says
// whether that prediction counts (1) or not (0). The loss of a batch is
//
//	sum over positions of Weights * crossentropy(logits, Targets) / sum of Weights
//
// Weights make one loss function serve both kinds of dataset, and let short
// rows be padded to the fixed shape the model's buffers expect.
//
// A [Sampler] hands out training batches in a random but seeded order, so a
// run can be repeated exactly, and, through [Sampler.Epoch], the fixed
// ordered pass over a validation set that makes validation losses of
// different runs comparable.
//
// Nothing in this package rewrites a learner's text: characters outside the
// model's vocabulary are mapped to <unk> and reported (see
// [tokenizer.Unknown]), never dropped or replaced.
package data
