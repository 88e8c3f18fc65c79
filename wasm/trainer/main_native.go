//go:build !(js && wasm)

package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lora-playground/lora-playground/wasm/protocol"
)

// Natively, the trainer runs the worker's session against a built site
// folder and reports what a browser would see, measured: chunk sizes,
// tokens per second, evaluation, merge and a sample. It is the worker minus
// JavaScript, for comparing native and wasm speed and for debugging the
// protocol without a browser:
//
//	go run ./wasm/trainer -site dist -model nano -task reverse -steps 100
func main() {
	site := flag.String("site", "dist", "the built static site (holds models/ and datasets/)")
	modelName := flag.String("model", "nano", "base model")
	task := flag.String("task", "reverse", "task")
	steps := flag.Int("steps", 100, "steps to train")
	rank := flag.Int("rank", 8, "LoRA rank")
	flag.Parse()

	s := NewSession(FetchFunc(func(p string) ([]byte, error) {
		if strings.Contains(p, "..") {
			return nil, fmt.Errorf("refusing %q", p)
		}
		return os.ReadFile(filepath.Join(*site, filepath.FromSlash(p)))
	}))
	id := 0
	do := func(r protocol.Request) protocol.Message {
		id++
		r.V, r.ID = protocol.Version, id
		start := time.Now()
		for _, m := range s.Handle(r) {
			if m.Re == id {
				report(r.Type, m, time.Since(start))
				return m
			}
		}
		for s.Busy() {
			for _, m := range s.Tick() {
				if m.Re == id {
					report(r.Type, m, time.Since(start))
					return m
				}
				if m.Type == protocol.TypeError {
					fmt.Fprintln(os.Stderr, "error:", m.Message)
				}
			}
		}
		fmt.Fprintf(os.Stderr, "%s: no reply\n", r.Type)
		os.Exit(1)
		return protocol.Message{}
	}
	cfg := &protocol.RunConfig{Model: *modelName, Task: *task, Method: "lora", Rank: *rank, Alpha: 2 * float64(*rank),
		Targets: []string{"q_proj", "v_proj"}, LR: 3e-3, Batch: 8, Seed: 1, Steps: *steps, EvalEvery: -1}
	do(protocol.Request{Type: protocol.TypeConfigure, Config: cfg})
	do(protocol.Request{Type: protocol.TypeEvaluate})
	do(protocol.Request{Type: protocol.TypeStep, N: *steps})
	do(protocol.Request{Type: protocol.TypeEvaluate})
	do(protocol.Request{Type: protocol.TypeSample, Prompt: "reverse: light =", Tokens: 12})
	do(protocol.Request{Type: protocol.TypeSnapshot})
	do(protocol.Request{Type: protocol.TypeInspect, Module: "h.0.attn.q_proj"})
	do(protocol.Request{Type: protocol.TypeMerge})
	do(protocol.Request{Type: protocol.TypeExport})
	do(protocol.Request{Type: protocol.TypeSaveState})
}

// tokensPerStep is batch × sequence length of the configured run.
var tokensPerStep int

func report(typ string, m protocol.Message, took time.Duration) {
	ms := float64(took.Microseconds()) / 1e3
	switch {
	case m.Type == protocol.TypeError:
		fmt.Fprintf(os.Stderr, "%-9s error: %s\n", typ, m.Message)
		os.Exit(1)
	case m.Status != nil && m.Type != protocol.TypeMerge:
		st := m.Status
		tokensPerStep = st.Config.Batch * st.Config.SeqLen
		fmt.Printf("%-9s %8.1f ms  model %s (%d params), %s: %d train / %d val examples, %d trainable\n",
			typ, ms, st.Model.Name, st.Model.Params, st.Data.Task, st.Data.TrainExamples, st.Data.ValExamples, st.TrainableParams)
	case m.Eval != nil:
		fmt.Printf("%-9s %8.1f ms  step %d: val loss %.4f over %d rows, %s %.3f\n", typ, ms, m.Eval.Step, m.Eval.ValLoss, m.Eval.Rows, m.Eval.Metric, m.Eval.Accuracy)
	case m.Progress != nil:
		fmt.Printf("%-9s %8.1f ms  step %d: loss %.4f, %.0f tokens/s over the request\n", typ, ms, m.Progress.Step, m.Progress.Loss,
			float64(tokensPerStep*m.Progress.Step)/took.Seconds())
	case m.Sample != nil:
		fmt.Printf("%-9s %8.1f ms  base %q | adapted %q\n", typ, ms, m.Sample.Base, m.Sample.Adapted)
	case m.Merge != nil:
		fmt.Printf("%-9s %8.1f ms  max |logit diff| %.3g over %d tokens, %d layers same shape\n", typ, ms, m.Merge.MaxLogitDiff, m.Merge.ProbeTokens, len(m.Merge.Shapes))
	case m.Snapshot != nil:
		fmt.Printf("%-9s %8.1f ms  %d ΔW, %d bytes\n", typ, ms, len(m.Snapshot.Deltas), len(m.Data))
	case m.Inspect != nil:
		fmt.Printf("%-9s %8.1f ms  %s rank(ΔW) = %d ≤ r = %d\n", typ, ms, m.Inspect.Module, m.Inspect.NumericalRank, m.Inspect.Rank)
	default:
		fmt.Printf("%-9s %8.1f ms  %d payload bytes\n", typ, ms, len(m.Data))
	}
}
