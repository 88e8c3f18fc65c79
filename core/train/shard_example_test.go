package train_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/lora-playground/lora-playground/core/data"
	"github.com/lora-playground/lora-playground/core/lora"
	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/tokenizer"
	"github.com/lora-playground/lora-playground/core/train"
)

// inProcess is a Shard with a Trainer of its own, as a second Web Worker
// would have; the browser's version posts the job to it instead. It holds
// a replica of the trainer's state and answers each job as it is sent.
type inProcess struct {
	tr      *train.Trainer
	results []*train.ShardResult
}

func (s *inProcess) Send(job *train.ShardJob) error {
	r, err := s.tr.ShardHandle(job)
	if err != nil {
		return err
	}
	if r != nil { // its slices are reused by the next job: keep a copy
		c := *r
		c.Grad = append([]float32(nil), r.Grad...)
		s.results = append(s.results, &c)
	}
	return nil
}

func (s *inProcess) Wait() (*train.ShardResult, error) {
	r := s.results[0]
	s.results = s.results[1:]
	return r, nil
}

// Two workers train the curve one worker trains: each step, each computes
// the gradient of half the batch's rows, they exchange gradients, and both
// take the same AdamW step on the sum.
func ExampleTrainer_SetShards() {
	tok := tokenizer.Default()
	newModel := func() *model.Model {
		m, _ := model.New(model.Config{VocabSize: tok.Size(), NCtx: 32, NEmbd: 32, NHead: 2, NLayer: 1,
			Tokenizer: model.TokenizerConfig{Type: "char", Vocab: tok.Vocab()}})
		m.InitGPT2(rand.New(rand.NewPCG(1, 2)))
		return m
	}
	text := strings.Repeat("the light is refracted by the prism. ", 200)
	cfg := train.DefaultConfig()
	cfg.Batch, cfg.SeqLen, cfg.Steps, cfg.WarmupSteps = 4, 32, 10, 2
	cfg.LoRA = lora.Config{Rank: 4, Alpha: 8, Targets: []string{"q_proj", "v_proj"}}
	run := func(workers int) []float64 {
		s, _, _ := data.NewSampler(data.KindText, []data.Example{{Completion: text}}, tok, cfg.SeqLen, 1)
		tr, _ := train.New(newModel(), cfg, s, nil)
		if workers == 2 {
			shard, _ := train.New(newModel(), cfg, nil, nil) // a shard needs no data
			tr.SetShards([]train.Shard{&inProcess{tr: shard}})
		}
		var losses []float64
		for i := 0; i < cfg.Steps; i++ {
			r, _ := tr.Step()
			losses = append(losses, r.Loss)
		}
		return losses
	}
	one, two := run(1), run(2)
	worst := 0.0
	for i := range one {
		worst = math.Max(worst, math.Abs(one[i]-two[i])/one[i])
	}
	fmt.Printf("step 10 loss %.3f with 1 worker, %.3f with 2; curves agree to 1e-5: %v\n", one[9], two[9], worst < 1e-5)
	// Output: step 10 loss 4.533 with 1 worker, 4.533 with 2; curves agree to 1e-5: true
}
