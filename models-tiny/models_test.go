package modelstiny

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/lora-playground/lora-playground/core/data"
	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/train"
	"github.com/lora-playground/lora-playground/models-tiny/corpus"
)

var shipped = []string{"nano", "tiny"}

var cardVal = regexp.MustCompile(`\| Validation loss \(held-out 10%\) \| ([0-9.]+) \|`)
var cardParams = regexp.MustCompile(`\| parameters \| ([0-9]+) `)

// Every shipped model loads (which checks every tensor's name, shape and
// finiteness against config.json), has the parameter count its card states,
// and reproduces the card's validation loss on the held-out Opticks text.
func TestShippedModelsMatchTheirCards(t *testing.T) {
	_, val, err := corpus.Opticks()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range shipped {
		t.Run(name, func(t *testing.T) {
			m, err := model.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			card, err := os.ReadFile(filepath.Join(name, "MODEL_CARD.md"))
			if err != nil {
				t.Fatal(err)
			}
			p := cardParams.FindSubmatch(card)
			if p == nil {
				t.Fatal("the card does not state the parameter count")
			}
			if n, _ := strconv.Atoi(string(p[1])); n != m.W.NumParams(m.Config) {
				t.Errorf("card says %d parameters, the weights hold %d", n, m.W.NumParams(m.Config))
			}
			v := cardVal.FindSubmatch(card)
			if v == nil {
				t.Fatal("the card does not state the validation loss")
			}
			want, _ := strconv.ParseFloat(string(v[1]), 64)
			tok, err := m.Config.NewTokenizer()
			if err != nil {
				t.Fatal(err)
			}
			s, unk, err := data.NewSampler(data.KindText, []data.Example{{Completion: val}}, tok, m.Config.NCtx, 0)
			if err != nil {
				t.Fatal(err)
			}
			if unk.Count != 0 {
				t.Errorf("validation text has %s", unk)
			}
			got, err := train.EvalLoss(m, model.NewActivations(m.Config, 8, m.Config.NCtx), s, 8)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-want) > 0.002 {
				t.Errorf("validation loss %.4f, the card says %.4f", got, want)
			}
			if got > 2.5 {
				t.Errorf("validation loss %.4f is not far below the unigram baseline (~3.1)", got)
			}
		})
	}
}

// The committed results table shows LoRA at r = 8 clearly beating the
// frozen base on every task, and covers every task and method.
func TestResultsTable(t *testing.T) {
	b, err := os.ReadFile("results.json")
	if err != nil {
		t.Fatal(err)
	}
	var table struct {
		Rows []struct {
			Task, Method string
			Rank         int
			ValLoss      float64  `json:"val_loss"`
			Accuracy     *float64 `json:"accuracy"`
			Trainable    int      `json:"trainable_params"`
		}
	}
	if err := json.Unmarshal(b, &table); err != nil {
		t.Fatal(err)
	}
	base, r8 := map[string]float64{}, map[string]float64{}
	for _, r := range table.Rows {
		switch {
		case r.Method == "none":
			base[r.Task] = r.ValLoss
		case r.Method == "lora" && r.Rank == 8:
			r8[r.Task] = r.ValLoss
		}
		if math.IsNaN(r.ValLoss) || r.ValLoss <= 0 {
			t.Errorf("%s %s r=%d: validation loss %v", r.Task, r.Method, r.Rank, r.ValLoss)
		}
	}
	tasks, err := filepath.Glob("../assets/datasets/*/task.json")
	if err != nil || len(tasks) == 0 {
		t.Fatal("no tasks found")
	}
	for _, tj := range tasks {
		task := filepath.Base(filepath.Dir(tj))
		b0, ok0 := base[task]
		l8, ok8 := r8[task]
		if !ok0 || !ok8 {
			t.Errorf("%s: the table lacks the frozen base or LoRA r=8", task)
			continue
		}
		if !(l8 < b0-0.1) {
			t.Errorf("%s: LoRA r=8 val loss %.4f does not clearly beat the frozen base's %.4f", task, l8, b0)
		}
	}
}
