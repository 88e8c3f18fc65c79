// Command pretrain reproduces the base models shipped in models-tiny/ from
// scratch: a character-level GPT-2-style decoder trained on Newton's Opticks
// (see package corpus) with full training, AdamW and a warmup + cosine
// schedule. The run is deterministic for a given seed, shows a progress bar,
// writes a checkpoint every --checkpoint-every steps and resumes from it.
//
//	go run ./models-tiny/pretrain --size tiny            # writes models-tiny/tiny/
//	go run ./models-tiny/pretrain --size nano --steps 5 --out /tmp/nano   # a smoke run
//
// At the end it writes model.safetensors, config.json and MODEL_CARD.md with
// the measured losses, wall time and sample generations.
package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/lora-playground/lora-playground/core/data"
	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/tokenizer"
	"github.com/lora-playground/lora-playground/core/train"
	"github.com/lora-playground/lora-playground/models-tiny/corpus"
)

// size is a model shape and its training recipe.
type size struct {
	C, NH, L, T  int
	steps, batch int
	lr           float64
}

var sizes = map[string]size{
	// The context is 128 characters so that a data-to-text example (a
	// meaning representation and its sentence) fits in one window.
	// nano: ~114K parameters, a LoRA step in the browser well under 100 ms.
	"nano": {C: 64, NH: 4, L: 2, T: 128, steps: 4000, batch: 8, lr: 3e-3},
	// tiny: the benchmark's reference shape with a 128 context, ~425K
	// parameters (1.7 MB as float32).
	"tiny": {C: 128, NH: 4, L: 2, T: 128, steps: 4000, batch: 8, lr: 2e-3},
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "pretrain:", err)
		os.Exit(1)
	}
}

func run() error {
	name := flag.String("size", "tiny", "model size: nano or tiny")
	steps := flag.Int("steps", 0, "training steps (0: the size's recipe)")
	out := flag.String("out", "", "output directory (default models-tiny/<size>)")
	seed := flag.Uint64("seed", 1, "seed for initialisation and batches")
	ckptEvery := flag.Int("checkpoint-every", 250, "steps between checkpoints")
	fresh := flag.Bool("fresh", false, "ignore an existing checkpoint and start from scratch")
	quiet := flag.Bool("quiet", false, "no progress bar")
	cardOnly := flag.Bool("card-only", false, "do not train: re-evaluate the model in --out and rewrite its MODEL_CARD.md")
	flag.Parse()
	sz, ok := sizes[*name]
	if !ok {
		return fmt.Errorf("unknown --size %q; use nano or tiny", *name)
	}
	if *steps > 0 {
		sz.steps = *steps
	}
	if *out == "" {
		*out = filepath.Join("models-tiny", *name)
	}
	trainText, valText, err := corpus.Opticks()
	if err != nil {
		return err
	}
	tok := tokenizer.Default()
	cfg := model.Config{Name: "lora-playground/" + *name, VocabSize: tok.Size(), NCtx: sz.T, NEmbd: sz.C, NHead: sz.NH, NLayer: sz.L,
		Tokenizer: model.TokenizerConfig{Type: "char", Vocab: tok.Vocab()}}
	if *cardOnly {
		m, err := model.Load(*out)
		if err != nil {
			return err
		}
		ckpt := filepath.Join(*out, fmt.Sprintf("checkpoint-seed%d.safetensors", *seed))
		return finish(m, *name, sz, *seed, wallFromCheckpoint(ckpt), *out, trainText, valText, tok, false)
	}
	m, err := model.New(cfg)
	if err != nil {
		return err
	}
	m.InitGPT2(randFor(*seed))
	trainS, unk, err := data.NewSampler(data.KindText, []data.Example{{Completion: trainText}}, tok, sz.T, *seed)
	if err != nil {
		return err
	}
	valS, _, err := data.NewSampler(data.KindText, []data.Example{{Completion: valText}}, tok, sz.T, *seed+1)
	if err != nil {
		return err
	}
	if unk.Count > 0 {
		fmt.Fprintf(os.Stderr, "corpus: %s (trained as <unk>)\n", unk)
	}
	tc := train.Config{Method: train.MethodFull, LR: sz.lr, MinLRFrac: 0.1, WarmupSteps: min(100, sz.steps/10), Steps: sz.steps,
		Batch: sz.batch, SeqLen: sz.T, WeightDecay: 0.1, GradClip: 1, Seed: *seed}
	tr, err := train.New(m, tc, trainS, valS)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	ckpt := filepath.Join(*out, fmt.Sprintf("checkpoint-seed%d.safetensors", *seed))
	prevWall := 0.0
	if b, err := os.ReadFile(ckpt); err == nil && !*fresh {
		if err := tr.Restore(b); err != nil {
			return fmt.Errorf("resuming from %s: %v (use --fresh to start over)", ckpt, err)
		}
		prevWall = wallFromCheckpoint(ckpt)
		fmt.Fprintf(os.Stderr, "resumed from %s at step %d\n", ckpt, tr.StepsTaken())
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	bar := progressbar.NewOptions(sz.steps,
		progressbar.OptionSetDescription("pretrain "+*name),
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetVisibility(!*quiet),
		progressbar.OptionThrottle(200*time.Millisecond))
	bar.Set(tr.StepsTaken())
	start := time.Now()
	var smooth float64
	for tr.StepsTaken() < sz.steps {
		r, err := tr.Step()
		if err != nil {
			return err
		}
		if smooth == 0 {
			smooth = r.Loss
		}
		smooth = 0.95*smooth + 0.05*r.Loss
		bar.Describe(fmt.Sprintf("pretrain %s loss %.3f", *name, smooth))
		bar.Add(1)
		if tr.StepsTaken()%*ckptEvery == 0 || tr.StepsTaken() == sz.steps {
			if err := saveCheckpoint(tr, ckpt, prevWall+time.Since(start).Seconds()); err != nil {
				return err
			}
		}
	}
	bar.Finish()
	fmt.Fprintln(os.Stderr)
	wall := prevWall + time.Since(start).Seconds()

	m.G = nil
	return finish(m, *name, sz, *seed, wall, *out, trainText, valText, tok, true)
}

// finish evaluates the trained model, saves it (unless it was loaded from
// out) and writes its card.
func finish(m *model.Model, name string, sz size, seed uint64, wall float64, out, trainText, valText string, tok *tokenizer.Tokenizer, save bool) error {
	cfg := m.Config
	evalActs := model.NewActivations(cfg, sz.batch, sz.T)
	trainEval, _, err := data.NewSampler(data.KindText, []data.Example{{Completion: trainText[:len(valText)]}}, tok, sz.T, 0)
	if err != nil {
		return err
	}
	valS, unk, err := data.NewSampler(data.KindText, []data.Example{{Completion: valText}}, tok, sz.T, 0)
	if err != nil {
		return err
	}
	trainLoss, err := train.EvalLoss(m, evalActs, trainEval, sz.batch)
	if err != nil {
		return err
	}
	valLoss, err := train.EvalLoss(m, evalActs, valS, sz.batch)
	if err != nil {
		return err
	}
	if save {
		if err := m.Save(out, map[string]string{"recipe": "go run ./models-tiny/pretrain --size " + name}); err != nil {
			return err
		}
	}
	_, trainUnk := tok.Encode(trainText)
	unk.Add(trainUnk)
	card := cardInfo{Name: name, Cfg: cfg, Size: sz, Seed: seed, Params: m.W.NumParams(cfg), Wall: wall,
		TrainLoss: trainLoss, ValLoss: valLoss, Unigram: unigramCrossEntropy(tok, trainText, valText),
		TrainChars: len(trainText), ValChars: len(valText), Unknown: unk.String()}
	card.Samples, err = samples(m, tok)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "MODEL_CARD.md"), []byte(card.markdown()), 0o644); err != nil {
		return err
	}
	fmt.Printf("%s: %d parameters, train loss %.4f, val loss %.4f nats/char (unigram %.4f), %.0f s\n",
		name, card.Params, trainLoss, valLoss, card.Unigram, wall)
	return nil
}

// unigramCrossEntropy is the validation loss of the best model that ignores
// context: each character predicted with its training-set frequency
// (add-one smoothed). It is the baseline the card compares against.
func unigramCrossEntropy(tok *tokenizer.Tokenizer, trainText, valText string) float64 {
	counts := make([]float64, tok.Size())
	ids, _ := tok.Encode(trainText)
	for _, id := range ids {
		counts[id]++
	}
	total := float64(len(ids) + tok.Size())
	vids, _ := tok.Encode(valText)
	var nll float64
	for _, id := range vids {
		nll -= math.Log((counts[id] + 1) / total)
	}
	return nll / float64(len(vids))
}
