package train

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/lora-playground/lora-playground/core/data"
	"github.com/lora-playground/lora-playground/core/lora"
	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/tokenizer"
)

// A little language with structure a small model learns in a few dozen
// steps: repeated phrases with a position-dependent twist.
func corpus() string {
	r := rand.New(rand.NewPCG(1, 1))
	words := []string{"light", "prism", "colour", "ray", "glass", "red", "blue", "green"}
	var b strings.Builder
	for i := 0; i < 400; i++ {
		b.WriteString("the ")
		b.WriteString(words[r.IntN(len(words))])
		b.WriteString(" is ")
		b.WriteString(words[r.IntN(len(words))])
		b.WriteString(".\n")
	}
	return b.String()
}

func tinyModel(t *testing.T) *model.Model {
	t.Helper()
	tok := tokenizer.Default()
	c := model.Config{VocabSize: tok.Size(), NCtx: 32, NEmbd: 32, NHead: 2, NLayer: 2,
		Tokenizer: model.TokenizerConfig{Type: "char", Vocab: tok.Vocab()}}
	m, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	m.InitGPT2(rand.New(rand.NewPCG(5, 5)))
	return m
}

func samplers(t *testing.T, text string, T int) (*data.Sampler, *data.Sampler) {
	t.Helper()
	tr, va := data.SplitText(text, 0.1)
	tok := tokenizer.Default()
	ts, _, err := data.NewSampler(data.KindText, []data.Example{{Completion: tr}}, tok, T, 1)
	if err != nil {
		t.Fatal(err)
	}
	vs, _, err := data.NewSampler(data.KindText, []data.Example{{Completion: va}}, tok, T, 2)
	if err != nil {
		t.Fatal(err)
	}
	return ts, vs
}

func testConfig(method Method) Config {
	c := DefaultConfig()
	c.Method = method
	c.Batch, c.SeqLen, c.Steps, c.WarmupSteps = 4, 32, 60, 5
	c.LR = 1e-2
	c.LoRA = lora.Config{Rank: 4, Alpha: 8, Targets: lora.Modules}
	return c
}

func TestEveryMethodLowersValidationLoss(t *testing.T) {
	text := corpus()
	// BitFit trains only 1% of this random-init model, so it moves less.
	for method, drop := range map[Method]float64{MethodFull: 0.3, MethodLoRA: 0.3, MethodBias: 0.1} {
		m := tinyModel(t)
		ts, vs := samplers(t, text, 32)
		tr, err := New(m, testConfig(method), ts, vs)
		if err != nil {
			t.Fatal(err)
		}
		before, err := tr.Evaluate()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Run(60, 0); err != nil {
			t.Fatal(err)
		}
		after, _ := tr.Evaluate()
		if !(after < before-drop) {
			t.Errorf("%s: validation loss %.3f → %.3f, want a clear drop", method, before, after)
		}
	}
}

func TestSameSeedSameCurveBitForBit(t *testing.T) {
	curve := func(seed uint64) []float64 {
		m := tinyModel(t)
		ts, vs := samplers(t, corpus(), 32)
		cfg := testConfig(MethodLoRA)
		cfg.Seed = seed
		cfg.LoRA.Dropout = 0.1
		tr, err := New(m, cfg, ts, vs)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := tr.Run(8, 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []float64
		for _, r := range rs {
			out = append(out, r.Loss, r.GradNorm)
		}
		return out
	}
	a, b := curve(3), curve(3)
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			t.Fatalf("value %d differs between identical runs: %v vs %v", i, a[i], b[i])
		}
	}
	if slices.Equal(a, curve(4)) {
		t.Fatal("a different seed gave the same curve")
	}
}

func snapshot(m *model.Model) [][]float32 {
	var s [][]float32
	for _, p := range m.W.Params(m.Config) {
		s = append(s, slices.Clone(p.Data))
	}
	return s
}

func TestMethodsTrainOnlyWhatTheyShould(t *testing.T) {
	for _, tc := range []struct {
		method  Method
		changes func(model.Param) bool
	}{
		{MethodLoRA, func(model.Param) bool { return false }},
		{MethodNone, func(model.Param) bool { return false }},
		{MethodBias, func(p model.Param) bool { return p.Kind == model.KindBias || p.Kind == model.KindNormBias }},
		{MethodFull, func(p model.Param) bool { return true }},
	} {
		m := tinyModel(t)
		before := snapshot(m)
		ts, vs := samplers(t, corpus(), 32)
		tr, err := New(m, testConfig(tc.method), ts, vs)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Run(3, 0); err != nil {
			t.Fatal(err)
		}
		for i, p := range m.W.Params(m.Config) {
			changed := !slices.Equal(before[i], p.Data)
			if changed != tc.changes(p) {
				t.Errorf("%s: %s changed=%v", tc.method, p.Name, changed)
			}
		}
		// Frozen parameters own no gradient buffers.
		for _, g := range m.G.Params(m.Config) {
			if g.Data != nil && !tc.changes(g) {
				t.Errorf("%s: frozen %s has a gradient buffer", tc.method, g.Name)
			}
		}
		if tc.method == MethodLoRA {
			want := 0
			m.EachAdapter(func(l, mod int, a *lora.Adapter) { want += a.NumParams() })
			if tr.TrainableParams() != want || tr.OptimizerBytes() != 8*want {
				t.Errorf("lora: %d trainable, %d optimiser bytes; adapters hold %d", tr.TrainableParams(), tr.OptimizerBytes(), want)
			}
		}
	}
}

func TestNonFiniteLossStopsAndKeepsLastGoodState(t *testing.T) {
	m := tinyModel(t)
	ts, vs := samplers(t, corpus(), 32)
	tr, err := New(m, testConfig(MethodLoRA), ts, vs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(2, 0); err != nil {
		t.Fatal(err)
	}
	var good [][]float32
	m.EachAdapter(func(l, mod int, a *lora.Adapter) { good = append(good, slices.Clone(a.A), slices.Clone(a.B)) })
	// Poison a frozen weight: the next forward pass yields NaN.
	m.W.Blocks[0].Lin[model.ModQ].W[0] = float32(math.NaN())
	_, err = tr.Step()
	var nf *NonFiniteError
	if !errors.As(err, &nf) || !errors.Is(err, ErrNonFinite) || nf.Step != 3 {
		t.Fatalf("got %v, want a NonFiniteError at step 3", err)
	}
	if !strings.Contains(err.Error(), "step 2") {
		t.Errorf("message %q does not say which state is kept", err)
	}
	i := 0
	m.EachAdapter(func(l, mod int, a *lora.Adapter) {
		if !slices.Equal(good[i], a.A) || !slices.Equal(good[i+1], a.B) {
			t.Errorf("%s changed by the failed step", a.Path)
		}
		i += 2
	})
	if _, err := tr.Step(); err == nil || tr.StepsTaken() != 2 {
		t.Fatal("training continued after the guard stopped it")
	}
}

func TestConfigValidation(t *testing.T) {
	m := tinyModel(t)
	for _, mut := range []func(*Config){
		func(c *Config) { c.Method = "adapter" },
		func(c *Config) { c.LR = math.NaN() },
		func(c *Config) { c.LoRA.Rank = 0 },
		func(c *Config) { c.SeqLen = 1000 },
		func(c *Config) { c.Batch = 0 },
		func(c *Config) { c.WarmupSteps = 1000 },
	} {
		c := testConfig(MethodLoRA)
		mut(&c)
		if err := c.Validate(m.Config); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

func TestLearningRateSchedule(t *testing.T) {
	const peak = 1.0
	for _, tc := range []struct {
		step int
		want float64
	}{
		{0, 0.1}, {9, 1}, {10, 1}, {55, 0.1 + 0.9*0.5}, {100, 0.1}, {150, 0.1},
	} {
		if got := LearningRate(tc.step, 10, 100, peak, 0.1); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("lr(%d) = %v, want %v", tc.step, got, tc.want)
		}
	}
}

func TestAdamWFirstStepMovesByLR(t *testing.T) {
	// With bias correction the first Adam step is lr·sign(g) (for |g| ≫ ε).
	p := []float32{1, -2, 3}
	g := []float32{0.5, -4, 1e-3}
	o := NewAdamW()
	o.Add(p, g, false)
	o.Step(0.1, 0)
	want := []float32{0.9, -1.9, 2.9}
	for i := range p {
		if math.Abs(float64(p[i]-want[i])) > 1e-5 {
			t.Fatalf("p[%d] = %v, want %v", i, p[i], want[i])
		}
	}
}

func TestRestoreContinuesBitForBit(t *testing.T) {
	run := func(stopAt int, total int) []float64 {
		m := tinyModel(t)
		ts, vs := samplers(t, corpus(), 32)
		tr, err := New(m, testConfig(MethodLoRA), ts, vs)
		if err != nil {
			t.Fatal(err)
		}
		var losses []float64
		for i := 0; i < stopAt; i++ {
			r, _ := tr.Step()
			losses = append(losses, r.Loss)
		}
		if stopAt < total {
			st, err := tr.State()
			if err != nil {
				t.Fatal(err)
			}
			m2 := tinyModel(t)
			ts2, vs2 := samplers(t, corpus(), 32)
			tr, err = New(m2, testConfig(MethodLoRA), ts2, vs2)
			if err != nil {
				t.Fatal(err)
			}
			if err := tr.Restore(st); err != nil {
				t.Fatal(err)
			}
		}
		for tr.StepsTaken() < total {
			r, _ := tr.Step()
			losses = append(losses, r.Loss)
		}
		return losses
	}
	straight, resumed := run(6, 6), run(3, 6)
	for i := range straight {
		if math.Float64bits(straight[i]) != math.Float64bits(resumed[i]) {
			t.Fatalf("step %d: %v uninterrupted, %v after save/restore", i+1, straight[i], resumed[i])
		}
	}
}

func TestRestoreRefusesAnotherConfiguration(t *testing.T) {
	m := tinyModel(t)
	ts, vs := samplers(t, corpus(), 32)
	tr, _ := New(m, testConfig(MethodLoRA), ts, vs)
	st, _ := tr.State()
	cfg := testConfig(MethodLoRA)
	cfg.LoRA.Rank = 2
	tr2, _ := New(tinyModel(t), cfg, ts, vs)
	if err := tr2.Restore(st); err == nil || !strings.Contains(err.Error(), "values") {
		t.Fatalf("restoring rank-4 state into a rank-2 run: %v", err)
	}
	if err := tr2.Restore(st[:len(st)-3]); err == nil {
		t.Fatal("truncated state accepted")
	}
}
