// Command lora trains, evaluates, samples, merges and sizes LoRA adapters on
// the playground's GPT-2-style models, natively or under node as js/wasm.
//
//	lora train    --model DIR --data FILE|TASKDIR --method lora|full|bias|none --rank 8 --alpha 16 --targets q_proj,v_proj --steps N --out DIR
//	lora eval     --model DIR [--adapter DIR] --data FILE|TASKDIR
//	lora generate --model DIR [--adapter DIR] [--merged] --prompt TEXT --tokens N --seed S
//	lora merge    --model DIR --adapter DIR --out DIR
//	lora params   --preset gpt3-175b|gpt2-medium|... | --model DIR  [--method lora --rank R --targets q_proj,v_proj]
//	lora bench    [--method lora] [--steps N]
//	lora analyze  subspace --a1 X.zip --a2 Y.zip [--module h.0.attn.q_proj] | amplify --adapter X.zip [--base nano]
//	lora combine  --a X.zip --b Y.zip --weights 0.5,0.5 --method cat|linear --out Z.zip
//	lora experiment targets|ranks --base nano --task e2e --steps N
//
// Every subcommand takes --json to print one JSON object on stdout for
// scripts. Progress goes to stderr. A bad flag or file prints one line on
// stderr and exits non-zero.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// usageError is a problem with the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"train", "fine-tune a model (LoRA, full, bias-only or none) and save the result", cmdTrain},
	{"eval", "mean cross-entropy and perplexity of a model (and adapter) on a dataset", cmdEval},
	{"generate", "sample text from a model, optionally with an adapter (merged or not)", cmdGenerate},
	{"merge", "fold an adapter into the base weights and save the merged model", cmdMerge},
	{"params", "trainable/total parameters and memory for a method on a model or preset", cmdParams},
	{"bench", "training speed on the reference configuration", cmdBench},
	{"experiment", "the paper's Table 5 (targets: which weights) or Table 6 (ranks: rank sweep) on one task and seed", cmdExperiment},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(args[1:], stdout, stderr)
			if err == nil {
				return 0
			}
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			fmt.Fprintf(stderr, "lora %s: %s\n", c.name, oneLine(err.Error()))
			var ue usageError
			if errors.As(err, &ue) {
				return 2
			}
			return 1
		}
	}
	fmt.Fprintf(stderr, "lora: unknown command %q; run 'lora help'\n", args[0])
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: lora <command> [flags]   (every command takes --json)")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// newFlags makes a FlagSet whose parse errors come back as usage errors
// instead of printing the whole flag list.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("lora "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	_ = stderr
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stderr)
			fs.PrintDefaults()
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

func required(name, v string) error {
	if v == "" {
		return usageError{"--" + name + " is required"}
	}
	return nil
}

// emit prints v as indented JSON (with --json) or calls text.
func emit(stdout io.Writer, asJSON bool, v any, text func()) error {
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text()
	return nil
}
