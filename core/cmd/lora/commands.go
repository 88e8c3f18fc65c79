package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/lora-playground/lora-playground/core/data"
	"github.com/lora-playground/lora-playground/core/kernels"
	"github.com/lora-playground/lora-playground/core/memory"
	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/params"
	"github.com/lora-playground/lora-playground/core/sample"
	"github.com/lora-playground/lora-playground/core/tokenizer"
	"github.com/lora-playground/lora-playground/core/train"
)

func cmdEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", stderr)
	modelDir := fs.String("model", "", "model directory")
	adapter := fs.String("adapter", "", "PEFT adapter directory or .zip (optional)")
	dataPath := fs.String("data", "", "task directory (its validation split is scored) or a .txt / .jsonl file (scored whole)")
	batch := fs.Int("batch", 8, "sequences per forward pass")
	accLimit := fs.Int("accuracy-examples", 0, "score exact-match accuracy on this many examples (tasks with that metric; 0: all)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required("model", *modelDir); err != nil {
		return err
	}
	if err := required("data", *dataPath); err != nil {
		return err
	}
	if *batch < 1 {
		return usageError{"--batch must be at least 1"}
	}
	m, err := loadModel(*modelDir, *adapter)
	if err != nil {
		return err
	}
	tok, err := m.Config.NewTokenizer()
	if err != nil {
		return err
	}
	ds, err := loadDataset(*dataPath, 0)
	if err != nil {
		return err
	}
	examples := ds.Val
	if ds.Task == nil {
		examples = ds.Train
	}
	s, unk, err := data.NewSampler(ds.Kind, examples, tok, m.Config.NCtx, 0)
	if err != nil {
		return err
	}
	if unk.Count > 0 {
		fmt.Fprintf(stderr, "note: %s; scored as <unk>\n", unk)
	}
	loss, err := train.EvalLoss(m, model.NewActivations(m.Config, *batch, m.Config.NCtx), s, *batch)
	if err != nil {
		return err
	}
	rep := struct {
		Loss         float64  `json:"loss"`
		Perplexity   float64  `json:"perplexity"`
		Tokens       int      `json:"tokens"`
		Accuracy     *float64 `json:"accuracy,omitempty"`
		UnknownChars int      `json:"unknown_chars"`
	}{Loss: loss, Perplexity: math.Exp(loss), Tokens: s.Tokens(), UnknownChars: unk.Count}
	if ds.Task != nil && ds.Task.Metric == data.MetricExactMatch {
		a, err := sample.ExactMatch(m, tok, examples, *accLimit)
		if err != nil {
			return err
		}
		rep.Accuracy = &a
	}
	return emit(stdout, *asJSON, rep, func() {
		fmt.Fprintf(stdout, "loss %.4f nats/token, perplexity %.3f over %d tokens\n", rep.Loss, rep.Perplexity, rep.Tokens)
		if rep.Accuracy != nil {
			fmt.Fprintf(stdout, "exact-match accuracy %.1f%%\n", 100**rep.Accuracy)
		}
	})
}

func cmdGenerate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("generate", stderr)
	modelDir := fs.String("model", "", "model directory")
	adapter := fs.String("adapter", "", "PEFT adapter directory or .zip (optional)")
	merged := fs.Bool("merged", false, "merge the adapter into the weights before generating")
	prompt := fs.String("prompt", "", "text to continue")
	tokens := fs.Int("tokens", 200, "characters to generate")
	seed := fs.Uint64("seed", 1, "sampling seed")
	temp := fs.Float64("temperature", 0.8, "sampling temperature (0: greedy)")
	topK := fs.Int("top-k", 0, "sample only from the k most likely characters (0: all)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required("model", *modelDir); err != nil {
		return err
	}
	if err := required("prompt", *prompt); err != nil {
		return err
	}
	if *merged && *adapter == "" {
		return usageError{"--merged needs --adapter"}
	}
	m, err := loadModel(*modelDir, *adapter)
	if err != nil {
		return err
	}
	if *merged {
		if err := m.Merge(); err != nil {
			return err
		}
	}
	tok, err := m.Config.NewTokenizer()
	if err != nil {
		return err
	}
	ids, unk := tok.Encode(*prompt)
	if unk.Count > 0 {
		fmt.Fprintf(stderr, "note: the prompt has %s; they are read as <unk>\n", unk)
	}
	out, err := sample.Generate(m, ids, sample.Options{MaxTokens: *tokens, Temperature: *temp, TopK: *topK, Seed: *seed})
	if err != nil {
		return err
	}
	text := tok.Decode(out)
	return emit(stdout, *asJSON, map[string]any{"prompt": *prompt, "completion": text, "unknown_chars": unk.Count, "merged": *merged},
		func() { fmt.Fprintln(stdout, *prompt+text) })
}

func cmdMerge(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("merge", stderr)
	modelDir := fs.String("model", "", "base model directory")
	adapter := fs.String("adapter", "", "PEFT adapter directory or .zip")
	out := fs.String("out", "", "directory for the merged model")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	for _, r := range [][2]string{{"model", *modelDir}, {"adapter", *adapter}, {"out", *out}} {
		if err := required(r[0], r[1]); err != nil {
			return err
		}
	}
	m, err := loadModel(*modelDir, *adapter)
	if err != nil {
		return err
	}
	// Measure what merging changes: logits on a probe sequence before and
	// after, and the parameter count (which must not change).
	c := m.Config
	probe := make([]int32, c.NCtx)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range probe {
		probe[i] = int32(1 + r.IntN(c.VocabSize-1))
	}
	acts := model.NewActivations(c, 1, c.NCtx)
	if _, err := m.Forward(acts, probe, nil, nil, 1, c.NCtx, nil); err != nil {
		return err
	}
	before := append([]float32(nil), acts.Logits...)
	nBefore := m.W.NumParams(c)
	if err := m.Merge(); err != nil {
		return err
	}
	if _, err := m.Forward(acts, probe, nil, nil, 1, c.NCtx, nil); err != nil {
		return err
	}
	var maxDiff float64
	for i, v := range acts.Logits {
		maxDiff = math.Max(maxDiff, math.Abs(float64(v-before[i])))
	}
	if err := m.Save(*out, map[string]string{"merged_adapter": *adapter}); err != nil {
		return err
	}
	rep := map[string]any{"out": *out, "max_abs_logit_diff": maxDiff, "params_before": nBefore, "params_after": m.W.NumParams(c)}
	return emit(stdout, *asJSON, rep, func() {
		fmt.Fprintf(stdout, "merged into %s: max |logit difference| merged vs unmerged %.3g; parameters %d → %d (no layer changed size)\n",
			*out, maxDiff, nBefore, m.W.NumParams(c))
	})
}

func cmdParams(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("params", stderr)
	preset := fs.String("preset", "", "published architecture: "+presetNames())
	modelDir := fs.String("model", "", "or a model directory")
	method := fs.String("method", "lora", "lora, full, bias or none")
	rank := fs.Int("rank", 8, "LoRA rank")
	targets := fs.String("targets", "q_proj,v_proj", "LoRA target modules")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	var arch params.Arch
	switch {
	case *preset != "" && *modelDir != "":
		return usageError{"give --preset or --model, not both"}
	case *preset != "":
		a, err := params.Preset(*preset)
		if err != nil {
			return usageError{err.Error()}
		}
		arch = a
	case *modelDir != "":
		m, err := model.Load(*modelDir)
		if err != nil {
			return err
		}
		c := m.Config
		arch = params.Arch{Name: c.Name, VocabSize: c.VocabSize, NCtx: c.NCtx, NEmbd: c.NEmbd, NHead: c.NHead, NLayer: c.NLayer}
	default:
		return usageError{"--preset or --model is required"}
	}
	l := params.LoRA{Rank: *rank}
	for _, t := range strings.Split(*targets, ",") {
		if t = strings.TrimSpace(t); t != "" {
			l.Targets = append(l.Targets, t)
		}
	}
	cnt, err := params.Calculate(arch, params.Method(*method), l)
	if err != nil {
		return usageError{err.Error()}
	}
	rep := map[string]any{"arch": arch, "method": *method, "count": cnt}
	return emit(stdout, *asJSON, rep, func() {
		fmt.Fprintf(stdout, "%s, %s", arch.Name, *method)
		if *method == "lora" {
			fmt.Fprintf(stdout, " r=%d on %s", *rank, strings.Join(l.Targets, ","))
		}
		fmt.Fprintf(stdout, "\n  trainable  %15d  (%s, %.4f%% of %s total)\n", cnt.Trainable, human(cnt.Trainable), 100*float64(cnt.Trainable)/float64(cnt.Total), human(cnt.Total))
		fmt.Fprintf(stdout, "  frozen     %15d\n", cnt.Frozen)
		fmt.Fprintf(stdout, "  trainable weights %s, gradients %s, AdamW state %s (float32)\n", bytesH(cnt.TrainableBytes), bytesH(cnt.GradientBytes), bytesH(cnt.OptimizerBytes))
	})
}

func presetNames() string {
	var n []string
	for _, p := range params.Presets() {
		n = append(n, p.Name)
	}
	return strings.Join(n, ", ")
}

func human(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

func bytesH(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// BenchConfig is the reference configuration of the speed targets: V=97,
// T=64, C=128, 4 heads, 2 layers (≈417K parameters), batch 8.
var benchModel = model.Config{Name: "bench/reference", VocabSize: 97, NCtx: 64, NEmbd: 128, NHead: 4, NLayer: 2}

func cmdBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	lf := addLoRAFlags(fs)
	steps := fs.Int("steps", 30, "timed steps")
	warm := fs.Int("warmup-steps", 5, "untimed steps first (the wasm engine starts in its baseline tier)")
	profSteps := fs.Int("profile-steps", 5, "after the timed steps, this many steps with the per-phase profile on (0: none)")
	cacheT := fs.Bool("transpose-cache", false, "keep the transposes of frozen weights (more memory, fewer transposes)")
	batch := fs.Int("batch", 8, "sequences per step")
	modelDir := fs.String("model", "", "model directory (default: the reference shape, randomly initialised)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	method, lcfg, err := lf.config()
	if err != nil {
		return err
	}
	memBefore := memory.Read() // before the model, data and trainer exist
	if *steps < 1 || *warm < 0 || *profSteps < 0 {
		return usageError{"--steps must be at least 1, --warmup-steps and --profile-steps non-negative"}
	}
	var m *model.Model
	if *modelDir != "" {
		if m, err = model.Load(*modelDir); err != nil {
			return err
		}
	} else {
		tok := tokenizer.Default()
		c := benchModel
		c.Tokenizer = model.TokenizerConfig{Type: "char", Vocab: tok.Vocab()}
		if m, err = model.New(c); err != nil {
			return err
		}
		m.InitGPT2(rand.New(rand.NewPCG(1, 1)))
	}
	// Random printable text: the speed of a step does not depend on content.
	r := rand.New(rand.NewPCG(2, 2))
	var b strings.Builder
	b.Grow(50000) // growing it would leave garbage in the memory being measured
	for i := 0; i < 50000; i++ {
		b.WriteByte(byte(32 + r.IntN(95)))
	}
	tok, err := m.Config.NewTokenizer()
	if err != nil {
		return err
	}
	s, _, err := data.NewSampler(data.KindText, []data.Example{{Completion: b.String()}}, tok, m.Config.NCtx, 1)
	if err != nil {
		return err
	}
	cfg := train.DefaultConfig()
	cfg.Method, cfg.LoRA, cfg.Batch, cfg.SeqLen = method, lcfg, *batch, m.Config.NCtx
	cfg.Steps, cfg.WarmupSteps = *steps+*warm+*profSteps, 0
	tr, err := train.New(m, cfg, s, nil)
	if err != nil {
		return err
	}
	m.SetTransposeCache(*cacheT)
	if _, err := tr.Run(*warm, 0); err != nil {
		return err
	}
	start := time.Now()
	if _, err := tr.Run(*steps, 0); err != nil {
		return err
	}
	el := time.Since(start)
	mem := memory.Read() // after the run: wasm linear memory is then its peak
	prof, err := profileSteps(tr, *profSteps)
	if err != nil {
		return err
	}
	msPerStep := el.Seconds() * 1000 / float64(*steps)
	tokPerSec := float64(*steps**batch*m.Config.NCtx) / el.Seconds()
	rep := map[string]any{
		"runtime": runtimeName(), "method": string(method), "rank": lcfg.Rank, "targets": lcfg.Targets,
		"batch": *batch, "seq": m.Config.NCtx, "params": m.W.NumParams(m.Config), "trainable": tr.TrainableParams(),
		"steps": *steps, "ms_per_step": msPerStep, "tokens_per_sec": tokPerSec, "memory": mem,
		"memory_before": memBefore, "simd": kernels.SIMD, "transpose_cache": *cacheT,
	}
	if *profSteps > 0 {
		rep["profile_ms_per_step"] = prof.JSON()
	}
	if method != train.MethodLoRA {
		delete(rep, "rank")
		delete(rep, "targets")
	}
	return emit(stdout, *asJSON, rep, func() {
		fmt.Fprintf(stdout, "%s %s: %.1f ms/step, %.0f tokens/s (batch %d × %d, %d params, %d trainable)\n",
			benchRuntime(), method, msPerStep, tokPerSec, *batch, m.Config.NCtx, m.W.NumParams(m.Config), tr.TrainableParams())
		printMemory(stdout, memBefore, mem)
		if *profSteps > 0 {
			prof.WriteTable(stdout)
		}
	})
}
