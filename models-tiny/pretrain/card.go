package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"

	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/sample"
	"github.com/lora-playground/lora-playground/core/tokenizer"
	"github.com/lora-playground/lora-playground/core/train"
)

func randFor(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x696e6974)) }

// A checkpoint is the trainer's State (all weights and AdamW moments, since
// pretraining trains everything) plus a small JSON file with the wall time
// spent so far, so the card reports the total time of a resumed run.
func saveCheckpoint(tr *train.Trainer, path string, wall float64) error {
	b, err := tr.State()
	if err != nil {
		return err
	}
	if err := os.WriteFile(path+".tmp", b, 0o644); err != nil {
		return err
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return err
	}
	j, _ := json.Marshal(map[string]float64{"wall_seconds": wall})
	return os.WriteFile(path+".json", j, 0o644)
}

func wallFromCheckpoint(path string) float64 {
	var v map[string]float64
	b, err := os.ReadFile(path + ".json")
	if err != nil || json.Unmarshal(b, &v) != nil {
		return 0
	}
	return v["wall_seconds"]
}

var samplePrompts = []string{"Light ", "The Rays of ", "If a Prism be "}

func samples(m *model.Model, tok *tokenizer.Tokenizer) ([]string, error) {
	var out []string
	for i, p := range samplePrompts {
		ids, _ := tok.Encode(p)
		gen, err := sample.Generate(m, ids, sample.Options{MaxTokens: 160, Temperature: 0.8, TopK: 20, Seed: uint64(i + 1)})
		if err != nil {
			return nil, err
		}
		out = append(out, p+tok.Decode(gen))
	}
	return out, nil
}

type cardInfo struct {
	Name                 string
	Cfg                  model.Config
	Size                 size
	Seed                 uint64
	Params               int
	Wall                 float64
	TrainLoss, ValLoss   float64
	Unigram              float64
	TrainChars, ValChars int
	Unknown              string
	Samples              []string
}

func (c cardInfo) markdown() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# %s — model card\n\n", c.Cfg.Name)
	p("A character-level GPT-2-style decoder pretrained from scratch on Isaac Newton's *Opticks*, shipped\n")
	p("so that LoRA has a base model that already knows something. Written by `go run ./models-tiny/pretrain\n")
	p("--size %s`; every number below was measured by that run.\n\n", c.Name)
	p("## Architecture\n\n")
	p("| | |\n|---|---|\n")
	p("| layers | %d pre-LayerNorm blocks |\n| embedding width C | %d |\n| heads | %d (head size %d) |\n", c.Cfg.NLayer, c.Cfg.NEmbd, c.Cfg.NHead, c.Cfg.NEmbd/c.Cfg.NHead)
	p("| context | %d characters (learned positions) |\n| MLP | 4C = %d, GELU (tanh) |\n", c.Cfg.NCtx, 4*c.Cfg.NEmbd)
	p("| vocabulary | %d: `<unk>`, newline and printable ASCII 32–126 |\n", c.Cfg.VocabSize)
	p("| head | tied to the token embedding |\n| parameters | %d (%.1f KB as float32) |\n\n", c.Params, float64(4*c.Params)/1024)
	p("## Corpus and licence\n\n")
	p("Isaac Newton, *Opticks: or, a Treatise of the Reflections, Refractions, Inflections and Colours of\n")
	p("Light*, 4th edition (1730). Public domain. The e-text is Project Gutenberg's (produced by Suzanne\n")
	p("Lybarger, steve harris, Josephine Paolucci and the Online Distributed Proofreading Team), as shipped\n")
	p("with every Go toolchain in `$GOROOT/src/testdata/Isaac.Newton-Opticks.txt`. That copy carries no\n")
	p("Gutenberg licence header or footer; the producers' credit line is removed (package\n")
	p("`models-tiny/corpus`), typographic characters are folded to ASCII, and the last 10%% (cut at a line\n")
	p("boundary) is held out: %d training and %d validation characters. Characters still outside the\n", c.TrainChars, c.ValChars)
	p("vocabulary: %s.\n\n", nonEmpty(c.Unknown, "none"))
	p("## Training\n\n")
	p("| | |\n|---|---|\n")
	p("| steps | %d |\n| batch | %d sequences × %d characters |\n", c.Size.steps, c.Size.batch, c.Size.T)
	p("| optimiser | AdamW (β 0.9, 0.999), weight decay 0.1 on matrices and embeddings, gradient clip 1.0 |\n")
	p("| learning rate | %g peak, %d warmup steps, cosine to 10%% |\n| seed | %d |\n", c.Size.lr, min(100, c.Size.steps/10), c.Seed)
	p("| wall time | %.0f s (native, one core of this project's 2-core CI machine) |\n\n", c.Wall)
	p("## Results (nats per character)\n\n")
	p("| | |\n|---|---|\n")
	p("| train loss (first %d training characters) | %.4f |\n", c.ValChars, c.TrainLoss)
	p("| Validation loss (held-out 10%%) | %.4f |\n", c.ValLoss)
	p("| unigram baseline on the same validation text | %.4f |\n\n", c.Unigram)
	p("The validation loss is %.2f nats/char below the unigram baseline (a model that knows letter\n", c.Unigram-c.ValLoss)
	p("frequencies but no context).\n\n")
	cmp := "lower"
	if c.ValLoss > nanoGPTVal {
		cmp = "higher"
	}
	p("**Compared with nanoGPT's CPU recipe** (4 layers, 4 heads, 128 dims, context 64: val ≈ %.2f on Tiny\n", nanoGPTVal)
	p("Shakespeare), this model's validation loss of %.2f is %s, but the two numbers measure different\n", c.ValLoss, cmp)
	p("texts and are not directly comparable. Tiny Shakespeare is 1 MB of varied dialogue with a 65-symbol\n")
	p("alphabet; the Opticks is half that, one author's technical prose whose vocabulary (Rays, Light,\n")
	p("Refraction, Colours, Glass) recurs on every page, which makes its characters more predictable, and\n")
	p("the held-out tenth is the end of the same book. Against that, this model is smaller (%d layers, not\n", c.Cfg.NLayer)
	p("4) and sees less text. The gap between train (%.2f) and validation (%.2f) loss shows it starting to\n", c.TrainLoss, c.ValLoss)
	p("memorise its small corpus.\n\n")
	p("## Samples\n\n")
	p("Temperature 0.8, top-k 20, 160 characters after the prompt (seeds 1, 2, 3):\n\n")
	for _, s := range c.Samples {
		p("```\n%s\n```\n\n", strings.TrimRight(s, "\n"))
	}
	return b.String()
}

// nanoGPTVal is the validation loss nanoGPT's README reports for its CPU
// recipe on Tiny Shakespeare (character level).
const nanoGPTVal = 1.88

func nonEmpty(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
