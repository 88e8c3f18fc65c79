package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lora-playground/lora-playground/core/linalg"
	"github.com/lora-playground/lora-playground/core/lora"
	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/peft"
)

const testBase = "lora-playground/test"

// makeAdapter builds an adapter on a 2-layer, width-8 GPT-2 shape with rank r
// and α alpha on targets, matrices drawn from seed.
func makeAdapter(seed uint64, r int, alpha float64, rslora bool, targets ...string) *peft.Adapter {
	rng := rand.New(rand.NewPCG(seed, 3))
	a := &peft.Adapter{Config: peft.Config{PeftType: "LORA", TaskType: "CAUSAL_LM", BaseModelNameOrPath: testBase,
		R: r, LoraAlpha: alpha, TargetModules: targets, UseRslora: rslora, Bias: "none", InitLoraWeights: true}}
	for l := 0; l < 2; l++ {
		for _, t := range targets {
			mod := map[string]int{"q_proj": model.ModQ, "v_proj": model.ModV, "up_proj": model.ModUp}[t]
			out, in := (model.Config{NEmbd: 8}).ModuleShape(mod)
			m := peft.ModuleWeights{Module: model.ModulePath(l, mod), R: r, In: in, Out: out,
				A: make([]float32, r*in), B: make([]float32, out*r)}
			for i := range m.A {
				m.A[i] = float32(rng.NormFloat64())
			}
			for i := range m.B {
				m.B[i] = float32(rng.NormFloat64())
			}
			a.Modules = append(a.Modules, m)
		}
	}
	return a
}

func checkRelErr(t *testing.T, got *peft.Adapter, want map[string]*linalg.Dense, tol float64) {
	t.Helper()
	errs, err := Compare(got, want)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != len(want) {
		t.Fatalf("combined adapter has %d modules, the exact mix %d", len(errs), len(want))
	}
	for _, e := range errs {
		if !(e.RelErr <= tol) {
			t.Errorf("%s: relative error %.3g > %g", e.Module, e.RelErr, tol)
		}
	}
}

func TestCombineCatIsExact(t *testing.T) {
	for _, tc := range []struct {
		name    string
		a, b    *peft.Adapter
		weights []float64
	}{
		{"same ranks", makeAdapter(1, 4, 8, false, "q_proj", "v_proj"), makeAdapter(2, 4, 16, false, "q_proj", "v_proj"), []float64{0.5, 0.5}},
		{"different ranks and scales", makeAdapter(1, 2, 8, false, "q_proj", "v_proj"), makeAdapter(2, 3, 5, true, "q_proj", "v_proj"), []float64{0.7, -1.3}},
		{"different targets", makeAdapter(1, 2, 4, false, "q_proj"), makeAdapter(2, 3, 6, false, "v_proj", "up_proj"), []float64{1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := []*peft.Adapter{tc.a, tc.b}
			c, err := Combine(in, tc.weights, MethodCat)
			if err != nil {
				t.Fatal(err)
			}
			exact, err := ExactDelta(in, tc.weights)
			if err != nil {
				t.Fatal(err)
			}
			checkRelErr(t, c, exact, 1e-6)
			for _, m := range c.Modules {
				want := 0
				for _, x := range in {
					for _, y := range x.Modules {
						if y.Module == m.Module {
							want += y.R
						}
					}
				}
				if m.R != want {
					t.Errorf("%s: rank %d, want Σrᵢ = %d", m.Module, m.R, want)
				}
			}
			roundTrip(t, c, exact)
		})
	}
}

// roundTrip encodes c as a PEFT adapter, decodes it, attaches it to a
// model and checks that the model's ΔW is still the exact mix.
func roundTrip(t *testing.T, c *peft.Adapter, exact map[string]*linalg.Dense) {
	t.Helper()
	cfg, w, err := peft.Encode(c)
	if err != nil {
		t.Fatalf("the combined adapter does not encode: %v", err)
	}
	back, err := peft.Decode(cfg, w)
	if err != nil {
		t.Fatalf("the combined adapter does not decode: %v", err)
	}
	ranks := map[int]bool{}
	for _, m := range back.Modules {
		ranks[m.R] = true
		if back.Config.RankFor(m.Module) != m.R {
			t.Fatalf("%s: config rank %d, tensors %d", m.Module, back.Config.RankFor(m.Module), m.R)
		}
	}
	if len(ranks) > 1 && len(back.Config.RankPattern) == 0 {
		t.Fatal("ranks differ per module but rank_pattern is empty")
	}
	m, err := model.New(model.Config{Name: testBase, VocabSize: 10, NCtx: 4, NEmbd: 8, NHead: 2, NLayer: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.ImportAdapter(back); err != nil {
		t.Fatalf("the combined adapter does not import: %v", err)
	}
	m.EachAdapter(func(l, mod int, ad *lora.Adapter) {
		if ad.Scale != 1 {
			t.Errorf("%s: scale %v, want 1", ad.Path, ad.Scale)
		}
		d := make([]float32, ad.Out*ad.In)
		ad.DeltaW(d)
		got, _ := Float32Matrix(d, ad.Out, ad.In)
		axpby(got, 1, -1, exact[ad.Path])
		if e := got.Norm() / exact[ad.Path].Norm(); e > 1e-5 {
			t.Errorf("%s: imported ΔW off by %.3g", ad.Path, e)
		}
	})
}

func TestCombineLinearOneAdapter(t *testing.T) {
	for _, w := range []float64{1, 0.25, -2} {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			a := makeAdapter(5, 3, 6, false, "q_proj", "up_proj")
			c, err := Combine([]*peft.Adapter{a}, []float64{w}, MethodCat) // one adapter: linear, as PEFT
			if err != nil {
				t.Fatal(err)
			}
			if c.Modules[0].R != 3 {
				t.Fatalf("rank %d, want 3 (linear keeps the rank)", c.Modules[0].R)
			}
			exact, _ := ExactDelta([]*peft.Adapter{a}, []float64{w})
			checkRelErr(t, c, exact, 1e-6)
		})
	}
}

// For two adapters linear gives (Σ√(wᵢsᵢ)Bᵢ)(Σ√(wᵢsᵢ)Aᵢ), cross terms
// included; computed here term by term.
func TestCombineLinearCrossTerms(t *testing.T) {
	a, b := makeAdapter(1, 4, 8, false, "q_proj"), makeAdapter(2, 4, 2, false, "q_proj")
	w := []float64{0.5, 1.5}
	c, err := Combine([]*peft.Adapter{a, b}, w, MethodLinear)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*linalg.Dense{}
	for k := range a.Modules {
		ma, mb := &a.Modules[k], &b.Modules[k]
		ga := math.Sqrt(w[0] * 8.0 / 4)
		gb := math.Sqrt(w[1] * 2.0 / 4)
		sum := linalg.NewDense(ma.Out, ma.In, nil)
		for _, p := range []struct {
			bm, am *peft.ModuleWeights
			g      float64
		}{{ma, ma, ga * ga}, {ma, mb, ga * gb}, {mb, ma, gb * ga}, {mb, mb, gb * gb}} {
			bb, _ := Float32Matrix(p.bm.B, p.bm.Out, p.bm.R)
			aa, _ := Float32Matrix(p.am.A, p.am.R, p.am.In)
			axpby(sum, 1, p.g, linalg.Mul(bb, false, aa))
		}
		want[ma.Module] = sum
	}
	checkRelErr(t, c, want, 1e-6)
	// And it is not the exact mix: the cross terms are real.
	exact, _ := ExactDelta([]*peft.Adapter{a, b}, w)
	errs, _ := Compare(c, exact)
	if errs[0].RelErr < 0.1 {
		t.Fatalf("linear mix of two random adapters within %.3g of the exact mix; the cross terms vanished", errs[0].RelErr)
	}
}

func TestCombineErrors(t *testing.T) {
	q4 := makeAdapter(1, 4, 8, false, "q_proj")
	q2 := makeAdapter(2, 2, 8, false, "q_proj")
	qv4 := makeAdapter(3, 4, 8, false, "q_proj", "v_proj")
	other := makeAdapter(4, 4, 8, false, "q_proj")
	other.Config.BaseModelNameOrPath = "someone/else"
	wide := makeAdapter(5, 4, 8, false, "q_proj")
	wide.Modules[0].In, wide.Modules[0].A = 16, make([]float32, 4*16)
	for _, tc := range []struct {
		name    string
		in      []*peft.Adapter
		weights []float64
		method  Method
		want    string
	}{
		{"linear ranks", []*peft.Adapter{q4, q2}, []float64{1, 1}, MethodLinear, "linear needs equal ranks"},
		{"linear targets", []*peft.Adapter{q4, qv4}, []float64{1, 1}, MethodLinear, "not adapted by adapter 1"},
		{"base model", []*peft.Adapter{q4, other}, []float64{1, 1}, MethodCat, "same base model"},
		{"shapes", []*peft.Adapter{q4, wide}, []float64{1, 1}, MethodCat, "different models"},
		{"weights count", []*peft.Adapter{q4, q2}, []float64{1}, MethodCat, "1 weights for 2 adapters"},
		{"NaN weight", []*peft.Adapter{q4, q2}, []float64{1, math.NaN()}, MethodCat, "finite"},
		{"method", []*peft.Adapter{q4, q2}, []float64{1, 1}, "svd", "unknown combination method"},
		{"none", nil, nil, MethodCat, "no adapters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Combine(tc.in, tc.weights, tc.method)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
	// The inputs are untouched by a failed (or successful) combination.
	if q4.Modules[0].R != 4 || len(q4.Modules[0].A) != 4*8 {
		t.Fatal("an input adapter was modified")
	}
}
