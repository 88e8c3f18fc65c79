package train

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lora-playground/lora-playground/core/data"
	"github.com/lora-playground/lora-playground/core/lora"
	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/tokenizer"
)

// benchTrainer builds the reference configuration of the speed targets:
// V=97, T=64, C=128, 4 heads, 2 layers (≈417K parameters), batch 8.
func benchTrainer(b testing.TB, method Method) *Trainer {
	tok := tokenizer.Default()
	c := model.Config{VocabSize: tok.Size(), NCtx: 64, NEmbd: 128, NHead: 4, NLayer: 2,
		Tokenizer: model.TokenizerConfig{Type: "char", Vocab: tok.Vocab()}}
	m, err := model.New(c)
	if err != nil {
		b.Fatal(err)
	}
	m.InitGPT2(rand.New(rand.NewPCG(1, 1)))
	r := rand.New(rand.NewPCG(2, 2))
	var sb strings.Builder
	for i := 0; i < 20000; i++ {
		sb.WriteByte(byte(32 + r.IntN(95)))
	}
	s, _, err := data.NewSampler(data.KindText, []data.Example{{Completion: sb.String()}}, tok, 64, 1)
	if err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Method, cfg.Batch, cfg.SeqLen, cfg.Steps, cfg.WarmupSteps = method, 8, 64, 1000000, 0
	cfg.LoRA = lora.Config{Rank: 8, Alpha: 16, Targets: []string{"q_proj", "v_proj"}}
	tr, err := New(m, cfg, s, nil)
	if err != nil {
		b.Fatal(err)
	}
	return tr
}

func benchmarkStep(b *testing.B, method Method) {
	tr := benchTrainer(b, method)
	tr.Run(2, 0) // warm up buffers
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tr.Step(); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(sec*1000, "ms/step")
	b.ReportMetric(float64(8*64)/sec, "tokens/s")
}

// BenchmarkStepLoRA is the reference LoRA step (r=8 on q_proj, v_proj).
func BenchmarkStepLoRA(b *testing.B) { benchmarkStep(b, MethodLoRA) }

// BenchmarkStepFull is full fine-tuning of the same model, the baseline.
func BenchmarkStepFull(b *testing.B) { benchmarkStep(b, MethodFull) }
