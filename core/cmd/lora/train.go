package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lora-playground/lora-playground/core/data"
	"github.com/lora-playground/lora-playground/core/lora"
	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/peft"
	"github.com/lora-playground/lora-playground/core/sample"
	"github.com/lora-playground/lora-playground/core/train"
)

// loraFlags registers the adapter flags shared by train and bench.
type loraFlags struct {
	method, targets, init, rankPattern *string
	rank                               *int
	alpha, dropout                     *float64
	rslora                             *bool
}

func addLoRAFlags(fs interface {
	String(string, string, string) *string
	Int(string, int, string) *int
	Float64(string, float64, string) *float64
	Bool(string, bool, string) *bool
}) loraFlags {
	return loraFlags{
		method:      fs.String("method", "lora", "lora, adaptive (AdaLoRA: rank per matrix chosen while training), full, bias or none"),
		rank:        fs.Int("rank", 8, "LoRA rank r"),
		alpha:       fs.Float64("alpha", 16, "LoRA alpha (scale alpha/r)"),
		dropout:     fs.Float64("dropout", 0, "dropout on the adapter input"),
		targets:     fs.String("targets", "q_proj,v_proj", "comma-separated modules: "+strings.Join(lora.Modules, ",")),
		rslora:      fs.Bool("rslora", false, "scale alpha/sqrt(r) instead of alpha/r"),
		init:        fs.String("init", "default", "A's initialisation: default (Kaiming-uniform) or gaussian"),
		rankPattern: fs.String("rank-pattern", "", "per-module ranks, e.g. h.0.attn.q_proj=4,v_proj=2"),
	}
}

func (f loraFlags) config() (train.Method, lora.Config, error) {
	c := lora.Config{Rank: *f.rank, Alpha: *f.alpha, Dropout: *f.dropout, UseRSLoRA: *f.rslora, Init: lora.Init(*f.init)}
	for _, t := range strings.Split(*f.targets, ",") {
		if t = strings.TrimSpace(t); t != "" {
			c.Targets = append(c.Targets, t)
		}
	}
	if *f.rankPattern != "" {
		c.RankPattern = map[string]int{}
		for _, kv := range strings.Split(*f.rankPattern, ",") {
			k, v, ok := strings.Cut(kv, "=")
			r, err := strconv.Atoi(v)
			if !ok || err != nil {
				return "", c, usageError{fmt.Sprintf("--rank-pattern entry %q: want module=rank", kv)}
			}
			c.RankPattern[strings.TrimSpace(k)] = r
		}
	}
	m := train.Method(*f.method)
	if m == train.MethodLoRA {
		if err := c.Validate(); err != nil {
			return m, c, usageError{err.Error()}
		}
	}
	return m, c, nil
}

// trainReport is what train prints.
type trainReport struct {
	Method          string   `json:"method"`
	Rank            int      `json:"rank,omitempty"`
	Targets         []string `json:"targets,omitempty"`
	TrainableParams int      `json:"trainable_params"`
	TotalParams     int      `json:"total_params"`
	OptimizerBytes  int      `json:"optimizer_bytes"`
	Steps           int      `json:"steps"`
	TrainLoss       float64  `json:"train_loss"`
	ValLossBefore   float64  `json:"val_loss_before"`
	ValLossAfter    float64  `json:"val_loss_after"`
	AccuracyBefore  *float64 `json:"accuracy_before,omitempty"`
	AccuracyAfter   *float64 `json:"accuracy_after,omitempty"`
	WallSeconds     float64  `json:"wall_seconds"`
	TokensPerSec    float64  `json:"tokens_per_sec"`
	UnknownChars    int      `json:"unknown_chars"`
	Out             string   `json:"out,omitempty"`
	// Adaptive is the rank allocation of --method adaptive.
	Adaptive *adaptiveReport `json:"adaptive,omitempty"`
}

func cmdTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", stderr)
	modelDir := fs.String("model", "", "base model directory (config.json + model.safetensors)")
	dataPath := fs.String("data", "", "task directory, or a .txt / .jsonl file")
	valFrac := fs.Float64("val-frac", 0.1, "held-out share when --data is a single file")
	lf := addLoRAFlags(fs)
	af := addAdaptiveFlags(fs)
	steps := fs.Int("steps", 200, "optimisation steps")
	lr := fs.Float64("lr", 3e-3, "peak learning rate")
	warmup := fs.Int("warmup", -1, "warmup steps (default: 10% of steps)")
	batch := fs.Int("batch", 8, "sequences per step")
	seq := fs.Int("seq", 0, "tokens per sequence (default: the model's context)")
	wd := fs.Float64("wd", 0.01, "AdamW weight decay")
	clip := fs.Float64("clip", 1, "gradient-norm clip (0: off)")
	seed := fs.Uint64("seed", 1, "seed for adapter init, batches and dropout")
	accLimit := fs.Int("accuracy-examples", 200, "validation examples for exact-match accuracy (tasks with that metric)")
	out := fs.String("out", "", "output: the adapter directory, or a .zip archive of it (lora); the whole model directory (full, bias)")
	asJSON := fs.Bool("json", false, "print a JSON report")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := parse(fs, args); err != nil {
		return err
	}
	for _, r := range [][2]string{{"model", *modelDir}, {"data", *dataPath}} {
		if err := required(r[0], r[1]); err != nil {
			return err
		}
	}
	method, lcfg, err := lf.config()
	if err != nil {
		return err
	}
	if *out == "" && method != train.MethodNone {
		return usageError{"--out is required (where to save the result)"}
	}
	m, err := model.Load(*modelDir)
	if err != nil {
		return err
	}
	tok, err := m.Config.NewTokenizer()
	if err != nil {
		return err
	}
	ds, err := loadDataset(*dataPath, *valFrac)
	if err != nil {
		return err
	}
	if len(ds.Val) == 0 {
		return fmt.Errorf("%s: nothing left for validation; use a larger file or --val-frac", *dataPath)
	}
	cfg := train.DefaultConfig()
	cfg.Method, cfg.LoRA = method, lcfg
	cfg.LR, cfg.Steps, cfg.Batch, cfg.WeightDecay, cfg.GradClip, cfg.Seed = *lr, *steps, *batch, *wd, *clip, *seed
	cfg.WarmupSteps = *warmup
	if cfg.WarmupSteps < 0 {
		cfg.WarmupSteps = *steps / 10
	}
	cfg.SeqLen = *seq
	if cfg.SeqLen == 0 {
		cfg.SeqLen = m.Config.NCtx
	}
	if method == train.MethodAdaptive {
		if cfg.Adaptive, err = af.config(lcfg, *steps); err != nil {
			return err
		}
	}
	if err := cfg.Validate(m.Config); err != nil {
		return usageError{err.Error()}
	}
	trainS, unk, err := data.NewSampler(ds.Kind, ds.Train, tok, cfg.SeqLen, cfg.Seed)
	if err != nil {
		return err
	}
	valS, unkVal, err := data.NewSampler(ds.Kind, ds.Val, tok, cfg.SeqLen, cfg.Seed+1)
	if err != nil {
		return err
	}
	unk.Add(unkVal)
	if unk.Count > 0 {
		fmt.Fprintf(stderr, "note: %s; they are trained as <unk>\n", unk)
	}
	tr, err := train.New(m, cfg, trainS, valS)
	if err != nil {
		return err
	}
	rep := trainReport{Method: string(method), TrainableParams: tr.TrainableParams(), TotalParams: m.W.NumParams(m.Config),
		OptimizerBytes: tr.OptimizerBytes(), Steps: *steps, UnknownChars: unk.Count, Out: *out}
	if method == train.MethodLoRA || method == train.MethodAdaptive {
		rep.Rank, rep.Targets = lcfg.Rank, lcfg.Targets
		rep.TotalParams += rep.TrainableParams
	}
	if rep.ValLossBefore, err = tr.Evaluate(); err != nil {
		return err
	}
	exact := ds.Task != nil && ds.Task.Metric == data.MetricExactMatch
	if exact {
		a, err := sample.ExactMatch(m, tok, ds.Val, *accLimit)
		if err != nil {
			return err
		}
		rep.AccuracyBefore = &a
	}
	bar := newProgress(stderr, *steps, "train", !*quiet && !*asJSON)
	start := time.Now()
	var smooth float64
	tokens := 0
	for i := 0; i < *steps; i++ {
		r, err := tr.Step()
		if err != nil {
			return err
		}
		tokens += r.Tokens
		if i == 0 {
			smooth = r.Loss
		}
		smooth = 0.9*smooth + 0.1*r.Loss
		bar.Describe(fmt.Sprintf("train loss %.3f", smooth))
		bar.Add(1)
	}
	bar.Finish()
	if !*quiet && !*asJSON {
		fmt.Fprintln(stderr)
	}
	rep.WallSeconds = time.Since(start).Seconds()
	rep.TokensPerSec = float64(tokens) / rep.WallSeconds
	rep.TrainLoss = smooth
	if rep.ValLossAfter, err = tr.Evaluate(); err != nil {
		return err
	}
	if exact {
		a, err := sample.ExactMatch(m, tok, ds.Val, *accLimit)
		if err != nil {
			return err
		}
		rep.AccuracyAfter = &a
	}
	if al := tr.Adaptive(); al != nil {
		rep.Rank, rep.Adaptive = 0, newAdaptiveReport(al)
		err = saveAdaptive(tr, m.Config.Name, *out)
	} else {
		err = saveResult(m, method, lcfg, *out)
	}
	if err != nil {
		return err
	}
	return emit(stdout, *asJSON, rep, func() {
		fmt.Fprintf(stdout, "%s: %d trainable of %d parameters (%.3f%%), %d steps in %.1f s (%.0f tokens/s)\n",
			rep.Method, rep.TrainableParams, rep.TotalParams, 100*float64(rep.TrainableParams)/float64(rep.TotalParams), rep.Steps, rep.WallSeconds, rep.TokensPerSec)
		fmt.Fprintf(stdout, "validation loss %.4f → %.4f nats/token (perplexity %.2f → %.2f)\n",
			rep.ValLossBefore, rep.ValLossAfter, math.Exp(rep.ValLossBefore), math.Exp(rep.ValLossAfter))
		if exact {
			fmt.Fprintf(stdout, "exact-match accuracy %.1f%% → %.1f%%\n", 100**rep.AccuracyBefore, 100**rep.AccuracyAfter)
		}
		if rep.Adaptive != nil {
			rep.Adaptive.print(stdout)
		}
		if rep.Out != "" {
			fmt.Fprintf(stdout, "saved to %s\n", rep.Out)
		}
	})
}

func saveResult(m *model.Model, method train.Method, lcfg lora.Config, out string) error {
	switch method {
	case train.MethodNone:
		return nil
	case train.MethodLoRA:
		a, err := m.ExportAdapter(lcfg)
		if err != nil {
			return err
		}
		if strings.HasSuffix(out, ".zip") { // one archive holding PEFT's two files
			b, err := peft.EncodeArchive(a)
			if err != nil {
				return err
			}
			return os.WriteFile(out, b, 0o644)
		}
		return peft.SaveDir(out, a)
	default:
		if err := os.MkdirAll(out, 0o755); err != nil {
			return err
		}
		return m.Save(out, map[string]string{"fine_tuned_with": string(method)})
	}
}
