package analysis

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/lora-playground/lora-playground/core/linalg"
	"github.com/lora-playground/lora-playground/core/peft"
)

// Method is how Combine mixes adapters, named as PEFT's combination_type.
type Method string

const (
	// MethodCat stacks the adapters' matrices: exact, rank Σ rᵢ.
	MethodCat Method = "cat"
	// MethodLinear mixes the factors: same rank, cross terms included.
	MethodLinear Method = "linear"
)

// ModuleScale returns s in ΔW = s·B·A for module m of an adapter with
// config c. As when importing, the tensors are the truth about r: when m.R
// differs from the config's rank for m, s follows m.R.
func ModuleScale(c *peft.Config, m *peft.ModuleWeights) float64 {
	if m.R == c.RankFor(m.Module) {
		return c.Scaling(m.Module)
	}
	if c.UseRslora {
		return c.AlphaFor(m.Module) / math.Sqrt(float64(m.R))
	}
	return c.AlphaFor(m.Module) / float64(m.R)
}

// entry is one adapter's matrices on a module.
type entry struct {
	idx int // which adapter
	m   *peft.ModuleWeights
	s   float64 // its scale
}

// gather checks the inputs and groups the adapters' modules by path, in
// path order.
func gather(adapters []*peft.Adapter, weights []float64) (paths []string, byPath map[string][]entry, err error) {
	if len(adapters) == 0 {
		return nil, nil, fmt.Errorf("analysis: no adapters to combine")
	}
	if len(weights) != len(adapters) {
		return nil, nil, fmt.Errorf("analysis: %d weights for %d adapters; give one weight per adapter", len(weights), len(adapters))
	}
	base := ""
	byPath = map[string][]entry{}
	for i, a := range adapters {
		if a == nil || len(a.Modules) == 0 {
			return nil, nil, fmt.Errorf("analysis: adapter %d has no LoRA modules", i+1)
		}
		if w := weights[i]; math.IsNaN(w) || math.IsInf(w, 0) {
			return nil, nil, fmt.Errorf("analysis: weight %d is %v; weights must be finite numbers", i+1, w)
		}
		if n := a.Config.BaseModelNameOrPath; n != "" {
			if base != "" && n != base {
				return nil, nil, fmt.Errorf("analysis: adapter %d was trained for base model %q, an earlier one for %q; only adapters of the same base model combine", i+1, n, base)
			}
			base = n
		}
		for j := range a.Modules {
			m := &a.Modules[j]
			if len(m.A) != m.R*m.In || len(m.B) != m.Out*m.R {
				return nil, nil, fmt.Errorf("analysis: adapter %d, module %s: matrices do not match r=%d, in=%d, out=%d", i+1, m.Module, m.R, m.In, m.Out)
			}
			if prev := byPath[m.Module]; len(prev) > 0 {
				p := prev[0].m
				if p.In != m.In || p.Out != m.Out {
					return nil, nil, fmt.Errorf("analysis: module %s is %d×%d (out×in) in adapter %d but %d×%d in adapter %d; the adapters are for different models",
						m.Module, p.Out, p.In, prev[0].idx+1, m.Out, m.In, i+1)
				}
				if prev[len(prev)-1].idx == i {
					return nil, nil, fmt.Errorf("analysis: adapter %d has module %s twice", i+1, m.Module)
				}
			}
			byPath[m.Module] = append(byPath[m.Module], entry{idx: i, m: m, s: ModuleScale(&a.Config, m)})
		}
	}
	for p := range byPath {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return paths, byPath, nil
}

// Combine mixes adapters with weights into one adapter for the same base
// model, as PEFT's add_weighted_adapter does for combination_type "cat" and
// "linear" (see the package doc for the formulas). The result has scale 1
// on every module (lora_alpha equal to each module's rank, given through
// rank_pattern and alpha_pattern where ranks differ), and its
// target_modules are the union of the inputs'.
//
// With one adapter the method is "linear", as in PEFT. "linear" needs every
// adapter to adapt the same modules with the same rank; "cat" accepts
// different ranks and targets (a module only some adapters have gets only
// their terms), and ΔW = Σ wᵢ·ΔWᵢ holds exactly.
func Combine(adapters []*peft.Adapter, weights []float64, method Method) (*peft.Adapter, error) {
	paths, byPath, err := gather(adapters, weights)
	if err != nil {
		return nil, err
	}
	if len(adapters) == 1 {
		method = MethodLinear
	}
	switch method {
	case MethodCat, MethodLinear:
	default:
		return nil, fmt.Errorf("analysis: unknown combination method %q; use %q or %q", method, MethodCat, MethodLinear)
	}
	mods := make([]peft.ModuleWeights, 0, len(paths))
	for _, p := range paths {
		es := byPath[p]
		var mw peft.ModuleWeights
		if method == MethodLinear {
			if len(es) != len(adapters) {
				missing := 0
				for missing < len(es) && es[missing].idx == missing {
					missing++
				}
				return nil, fmt.Errorf("analysis: linear: module %s is not adapted by adapter %d; linear needs the same target modules in every adapter (cat allows different ones)", p, missing+1)
			}
			mw, err = linearModule(es, weights)
		} else {
			mw = catModule(es, weights)
		}
		if err != nil {
			return nil, err
		}
		mods = append(mods, mw)
	}
	return newAdapter(adapters, mods), nil
}

// catModule stacks A rows wᵢsᵢAᵢ and B columns Bᵢ.
func catModule(es []entry, weights []float64) peft.ModuleWeights {
	first := es[0].m
	r := 0
	for _, e := range es {
		r += e.m.R
	}
	mw := peft.ModuleWeights{Module: first.Module, R: r, In: first.In, Out: first.Out,
		A: make([]float32, r*first.In), B: make([]float32, first.Out*r)}
	row := 0
	for _, e := range es {
		f := weights[e.idx] * e.s
		for i, x := range e.m.A { // rows row..row+rᵢ of A
			mw.A[row*first.In+i] = float32(f * float64(x))
		}
		for o := 0; o < first.Out; o++ { // columns row..row+rᵢ of B
			copy(mw.B[o*r+row:o*r+row+e.m.R], e.m.B[o*e.m.R:(o+1)*e.m.R])
		}
		row += e.m.R
	}
	return mw
}

// linearModule forms A = Σ sign(wᵢsᵢ)√|wᵢsᵢ| Aᵢ and B = Σ √|wᵢsᵢ| Bᵢ.
func linearModule(es []entry, weights []float64) (peft.ModuleWeights, error) {
	first := es[0].m
	for _, e := range es[1:] {
		if e.m.R != first.R {
			return peft.ModuleWeights{}, fmt.Errorf("analysis: linear: module %s has rank %d in adapter %d but %d in adapter %d; linear needs equal ranks (cat allows different ones)",
				first.Module, first.R, es[0].idx+1, e.m.R, e.idx+1)
		}
	}
	mw := peft.ModuleWeights{Module: first.Module, R: first.R, In: first.In, Out: first.Out}
	a := make([]float64, len(first.A))
	b := make([]float64, len(first.B))
	for _, e := range es {
		ws := weights[e.idx] * e.s
		root := math.Sqrt(math.Abs(ws))
		sign := 1.0
		if ws < 0 {
			sign = -1 // on A only, so that the two square roots multiply back to ws
		}
		for i, x := range e.m.A {
			a[i] += sign * root * float64(x)
		}
		for i, x := range e.m.B {
			b[i] += root * float64(x)
		}
	}
	mw.A, mw.B = toFloat32(a), toFloat32(b)
	return mw, nil
}

func toFloat32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// newAdapter wraps combined modules in a config with scale 1 everywhere.
func newAdapter(adapters []*peft.Adapter, mods []peft.ModuleWeights) *peft.Adapter {
	first := adapters[0].Config
	r := 0
	for _, m := range mods {
		r = max(r, m.R)
	}
	c := peft.Config{PeftType: "LORA", TaskType: first.TaskType, R: r, LoraAlpha: float64(r),
		LoraDropout: first.LoraDropout, InitLoraWeights: true, Bias: "none",
		RankPattern: map[string]int{}, AlphaPattern: map[string]float64{}}
	for _, a := range adapters {
		if a.Config.BaseModelNameOrPath != "" {
			c.BaseModelNameOrPath = a.Config.BaseModelNameOrPath
		}
	}
	for _, m := range mods {
		if m.R != r {
			c.RankPattern[m.Module] = m.R
			c.AlphaPattern[m.Module] = float64(m.R)
		}
		short := m.Module[strings.LastIndexByte(m.Module, '.')+1:]
		if !slices.Contains(c.TargetModules, short) {
			c.TargetModules = append(c.TargetModules, short)
		}
	}
	slices.Sort(c.TargetModules)
	return &peft.Adapter{Config: c, Modules: mods, Metadata: map[string]string{"format": "pt"}}
}

// DeltaW returns ΔW = s·B·A (out×in) of one module of an adapter with config c.
func DeltaW(c *peft.Config, m *peft.ModuleWeights) *linalg.Dense {
	a, _ := Float32Matrix(m.A, m.R, m.In)
	b, _ := Float32Matrix(m.B, m.Out, m.R)
	d := linalg.Mul(b, false, a)
	axpby(d, ModuleScale(c, m), 0, d)
	return d
}

// ExactDelta returns Σ wᵢ·ΔWᵢ for every module any adapter adapts: the mix
// of updates a combined adapter should reproduce.
func ExactDelta(adapters []*peft.Adapter, weights []float64) (map[string]*linalg.Dense, error) {
	paths, byPath, err := gather(adapters, weights)
	if err != nil {
		return nil, err
	}
	out := map[string]*linalg.Dense{}
	for _, p := range paths {
		var sum *linalg.Dense
		for _, e := range byPath[p] {
			d := DeltaW(&adapters[e.idx].Config, e.m)
			if sum == nil {
				axpby(d, weights[e.idx], 0, d)
				sum = d
			} else {
				axpby(sum, 1, weights[e.idx], d)
			}
		}
		out[p] = sum
	}
	return out, nil
}

// ModuleError compares a combined adapter's ΔW on one module with the exact
// mix of updates.
type ModuleError struct {
	Module string  `json:"module"`
	R      int     `json:"r"`
	Exact  float64 `json:"exact_norm"` // ‖Σ wᵢΔWᵢ‖_F
	Got    float64 `json:"norm"`       // ‖ΔW_combined‖_F
	RelErr float64 `json:"rel_err"`    // ‖ΔW_combined − Σ wᵢΔWᵢ‖_F / ‖Σ wᵢΔWᵢ‖_F (0 when both are 0)
}

// Compare measures, module by module, how far combined's ΔW is from exact.
func Compare(combined *peft.Adapter, exact map[string]*linalg.Dense) ([]ModuleError, error) {
	var out []ModuleError
	for i := range combined.Modules {
		m := &combined.Modules[i]
		want, ok := exact[m.Module]
		if !ok {
			return nil, fmt.Errorf("analysis: module %s of the combined adapter has no exact counterpart", m.Module)
		}
		got := DeltaW(&combined.Config, m)
		e := ModuleError{Module: m.Module, R: m.R, Exact: want.Norm(), Got: got.Norm()}
		axpby(got, 1, -1, want) // got − want
		if diff := got.Norm(); e.Exact > 0 {
			e.RelErr = diff / e.Exact
		} else if diff > 0 {
			e.RelErr = math.Inf(1)
		}
		out = append(out, e)
	}
	return out, nil
}
