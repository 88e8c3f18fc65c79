// Package datasets generates the ready-made fine-tuning tasks of LoRA
// Playground, which are committed beside this file, one folder per task:
//
//	e2e/      restaurant attributes → one English sentence (prompt/completion)
//	verse/    rhyming stanzas and stage dialogue (text)
//	reverse/  "reverse: horse =" → " esroh" (prompt/completion, exact match)
//
// Each folder holds train.jsonl, val.jsonl and task.json (see data.Task).
// The tasks are generated from templates and word lists with fixed seeds, so
// they are small, free of licensing questions, and reproducible byte for
// byte: `go generate ./assets/...` (or `go run ./assets/datasets/gen` from
// the repository root) rewrites them, and a test in core/data checks that
// doing so changes nothing.
//
// Each task is built to show something about fine-tuning a model pretrained
// on Newton's Opticks:
//
//   - e2e follows the E2E NLG Challenge (Novikova et al. 2017), one of the
//     benchmarks of the LoRA paper: the model must learn a new input format
//     and realise every attribute. Validation restaurants (names) never
//     occur in training, so the validation loss measures generalisation to
//     new inputs rather than memorisation.
//   - verse is a new style: short lines, rhyme and speaker tags, visibly
//     unlike 18th-century scientific prose, so a learner sees the adapter
//     change the model's voice within a few hundred steps.
//   - reverse is a small skill with one right answer, scored by exact
//     match; its validation words never occur in training, so a high score
//     means the model learnt to reverse, not a lookup table.
//
// All generated text is printable ASCII plus newline, the vocabulary of
// tokenizer.Default. Every prompt/completion example, with the newline the
// data format appends, fits in 128 characters, the context of the shipped
// base models, so no prompt is ever cut; verse pieces are at most 400
// characters.
//
//go:generate go run ./gen -out .
package datasets
