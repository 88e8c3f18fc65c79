package peft

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/lora-playground/lora-playground/core/safetensors"
)

// gpt2Modules is the linear-layer map of a GPT-2-shaped model with the given
// number of blocks and width C: four C→C attention projections, C→4C up and
// 4C→C down.
func gpt2Modules(layers, c int) map[string]ModuleShape {
	m := map[string]ModuleShape{}
	for l := range layers {
		for _, p := range []string{"q_proj", "k_proj", "v_proj", "o_proj"} {
			m[fmt.Sprintf("h.%d.attn.%s", l, p)] = ModuleShape{In: c, Out: c}
		}
		m[fmt.Sprintf("h.%d.mlp.up_proj", l)] = ModuleShape{In: c, Out: 4 * c}
		m[fmt.Sprintf("h.%d.mlp.down_proj", l)] = ModuleShape{In: 4 * c, Out: c}
	}
	return m
}

// awkwardFloats fills n values drawn from a seeded source, salted with the
// values a careless encoder would get wrong.
func awkwardFloats(rng *rand.Rand, n int) []float32 {
	special := []float32{
		float32(math.Copysign(0, -1)), 0,
		math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		math.Float32frombits(0x007fffff), // largest subnormal
		math.MaxFloat32, -math.MaxFloat32,
	}
	v := make([]float32, n)
	for i := range v {
		if rng.IntN(4) == 0 {
			v[i] = special[rng.IntN(len(special))]
		} else {
			v[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(20)-10)))
		}
	}
	return v
}

func testConfig() Config {
	return Config{
		PeftType:            "LORA",
		TaskType:            "CAUSAL_LM",
		BaseModelNameOrPath: "lora-playground/tiny-shakespeare",
		R:                   4,
		LoraAlpha:           8,
		LoraDropout:         0.05,
		TargetModules:       []string{"q_proj", "v_proj", "up_proj"},
		RankPattern:         map[string]int{"up_proj": 2, "h.1.attn.q_proj": 3},
		AlphaPattern:        map[string]float64{"v_proj": 16},
		InitLoraWeights:     "gaussian",
		InferenceMode:       true,
	}
}

// testAdapter adapts the targeted modules of a 2-block, width-8 model.
func testAdapter(seed uint64) *Adapter {
	rng := rand.New(rand.NewPCG(seed, 99))
	a := &Adapter{Config: testConfig(), Metadata: map[string]string{"trained_with": "lora-playground"}}
	base := gpt2Modules(2, 8)
	for _, path := range sortedKeys(base) {
		if !a.Config.Targets(path) {
			continue
		}
		s, r := base[path], a.Config.RankFor(path)
		a.Modules = append(a.Modules, ModuleWeights{
			Module: path, R: r, In: s.In, Out: s.Out,
			A: awkwardFloats(rng, r*s.In), B: awkwardFloats(rng, s.Out*r),
		})
	}
	return a
}

func bitsEqual(x, y []float32) bool {
	return slices.EqualFunc(x, y, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) })
}

func TestRoundTrip(t *testing.T) {
	withExtra := testAdapter(2)
	withExtra.Config.Extra = map[string]json.RawMessage{
		"layers_to_transform": json.RawMessage(`null`),
		"loftq_config":        json.RawMessage(`{"z": 1, "a": [1, 2.50]}`),
		"megatron_core":       json.RawMessage(`"megatron.core"`),
	}
	rslora := testAdapter(3)
	rslora.Config.UseRslora = true
	rslora.Config.TaskType = ""
	rslora.Config.InitLoraWeights = false
	tests := []struct {
		name string
		a    *Adapter
	}{
		{"patterns and metadata", testAdapter(1)},
		{"unknown PEFT fields kept", withExtra},
		{"rslora, no task type", rslora},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg1, w1, err := Encode(tc.a)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(cfg1, w1)
			if err != nil {
				t.Fatal(err)
			}
			cfg2, w2, err := Encode(got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(cfg1, cfg2) {
				t.Errorf("config changed on round trip:\n%s\n---\n%s", cfg1, cfg2)
			}
			if !bytes.Equal(w1, w2) {
				t.Errorf("weights changed on round trip")
			}
			if len(got.Modules) != len(tc.a.Modules) {
				t.Fatalf("%d modules, want %d", len(got.Modules), len(tc.a.Modules))
			}
			for i, m := range got.Modules {
				w := tc.a.Modules[i]
				if m.Module != w.Module || m.R != w.R || m.In != w.In || m.Out != w.Out {
					t.Errorf("module %d: got %s r=%d %d→%d, want %s r=%d %d→%d", i, m.Module, m.R, m.In, m.Out, w.Module, w.R, w.In, w.Out)
				}
				if !bitsEqual(m.A, w.A) || !bitsEqual(m.B, w.B) {
					t.Errorf("module %s: weights not bit-exact", m.Module)
				}
			}
			if got.Metadata["trained_with"] != "lora-playground" || got.Metadata["format"] != "pt" {
				t.Errorf("metadata = %v", got.Metadata)
			}
			if got.Config.UseRslora != tc.a.Config.UseRslora || got.Config.AlphaFor("h.0.attn.v_proj") != 16 {
				t.Errorf("config fields lost: %+v", got.Config)
			}
		})
	}
}

func TestConfigJSONIsStable(t *testing.T) {
	c := Config{
		PeftType: "LORA", TaskType: "CAUSAL_LM", BaseModelNameOrPath: "tiny<&>",
		R: 8, LoraAlpha: 16, LoraDropout: 0.1, TargetModules: []string{"v_proj", "q_proj"},
		RankPattern: map[string]int{"q_proj": 4},
		Extra:       map[string]json.RawMessage{"eva_config": json.RawMessage(`{"rho":2,"alpha":1}`)},
	}
	got, err := encodeConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "alpha_pattern": {},
  "base_model_name_or_path": "tiny<&>",
  "bias": "none",
  "eva_config": {
    "alpha": 1,
    "rho": 2
  },
  "fan_in_fan_out": false,
  "inference_mode": false,
  "init_lora_weights": true,
  "lora_alpha": 16,
  "lora_bias": false,
  "lora_dropout": 0.1,
  "modules_to_save": null,
  "peft_type": "LORA",
  "r": 8,
  "rank_pattern": {
    "q_proj": 4
  },
  "revision": null,
  "target_modules": [
    "v_proj",
    "q_proj"
  ],
  "task_type": "CAUSAL_LM",
  "use_dora": false,
  "use_rslora": false
}`
	if string(got) != want {
		t.Errorf("encodeConfig:\n%s\nwant:\n%s", got, want)
	}
}

// peftWrittenConfig is adapter_config.json in the form PEFT's
// save_pretrained writes it (the field set of PEFT 0.14) for a LoRA on our
// module names. Most of its fields are ones this package only carries.
const peftWrittenConfig = `{
  "alpha_pattern": {},
  "auto_mapping": null,
  "base_model_name_or_path": "gpt2",
  "bias": "none",
  "eva_config": null,
  "exclude_modules": null,
  "fan_in_fan_out": false,
  "inference_mode": true,
  "init_lora_weights": true,
  "layer_replication": null,
  "layers_pattern": null,
  "layers_to_transform": null,
  "loftq_config": {},
  "lora_alpha": 32,
  "lora_bias": false,
  "lora_dropout": 0.1,
  "megatron_config": null,
  "megatron_core": "megatron.core",
  "modules_to_save": null,
  "peft_type": "LORA",
  "r": 2,
  "rank_pattern": {},
  "revision": null,
  "target_modules": [
    "q_proj",
    "v_proj"
  ],
  "task_type": "CAUSAL_LM",
  "use_dora": false,
  "use_rslora": false
}`

// weightsFile builds adapter_model.safetensors from the given tensors.
func weightsFile(t *testing.T, ts ...safetensors.Tensor) []byte {
	t.Helper()
	b, err := safetensors.Encode(&safetensors.File{Tensors: ts})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loraPair(module string, r, in, out int) []safetensors.Tensor {
	a := make([]float32, r*in)
	b := make([]float32, out*r)
	for i := range a {
		a[i] = float32(i) / 8
	}
	return []safetensors.Tensor{
		safetensors.F32(keyPrefix+module+".lora_A.weight", []int{r, in}, a),
		safetensors.F32(keyPrefix+module+".lora_B.weight", []int{out, r}, b),
	}
}

func TestDecodePEFTWritten(t *testing.T) {
	w := weightsFile(t, slices.Concat(loraPair("h.0.attn.q_proj", 2, 8, 8), loraPair("h.0.attn.v_proj", 2, 8, 8))...)
	a, err := Decode([]byte(peftWrittenConfig), w)
	if err != nil {
		t.Fatal(err)
	}
	if a.Config.R != 2 || a.Config.LoraAlpha != 32 || a.Config.InitLoraWeights != true || len(a.Modules) != 2 {
		t.Errorf("decoded %+v", a.Config)
	}
	if got, want := a.Config.Scaling("h.0.attn.q_proj"), 16.0; got != want {
		t.Errorf("Scaling = %v, want %v", got, want)
	}
	for _, k := range []string{"auto_mapping", "layers_to_transform", "loftq_config", "megatron_core"} {
		if _, ok := a.Config.Extra[k]; !ok {
			t.Errorf("Extra lost %q", k)
		}
	}
	// PEFT's file is already in our canonical form, so it re-encodes to
	// exactly the same bytes.
	cfg, _, err := Encode(a)
	if err != nil {
		t.Fatal(err)
	}
	if string(cfg) != peftWrittenConfig {
		t.Errorf("re-encoded PEFT config differs:\n%s", cfg)
	}
}

// editConfig returns peftWrittenConfig with fields set (or deleted, for a
// nil value).
func editConfig(t *testing.T, set map[string]any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(peftWrittenConfig), &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeMalformed(t *testing.T) {
	good := slices.Concat(loraPair("h.0.attn.q_proj", 2, 8, 8), loraPair("h.1.attn.v_proj", 2, 8, 8))
	goodWeights := weightsFile(t, good...)
	nan := loraPair("h.0.attn.q_proj", 2, 8, 8)
	nanB := make([]float32, 16)
	nanB[5] = float32(math.NaN())
	nan[1] = safetensors.F32(nan[1].Name, []int{8, 2}, nanB)
	inf := loraPair("h.0.attn.q_proj", 2, 8, 8)
	infA := make([]float32, 16)
	infA[3] = float32(math.Inf(-1))
	inf[0] = safetensors.F32(inf[0].Name, []int{2, 8}, infA)
	f16 := loraPair("h.0.attn.q_proj", 2, 8, 8)
	f16[0] = safetensors.Tensor{Name: f16[0].Name, DType: "F16", Shape: []int{2, 8}, Data: make([]byte, 32)}

	tests := []struct {
		name    string
		config  []byte
		weights []byte
		want    string
	}{
		{"config not JSON", []byte(`{"r":`), goodWeights, "adapter_config.json: invalid JSON"},
		{"config not an object", []byte(`[1]`), goodWeights, "adapter_config.json: not a JSON object"},
		{"missing peft_type", editConfig(t, map[string]any{"peft_type": nil}), goodWeights, `missing "peft_type"`},
		{"missing r", editConfig(t, map[string]any{"r": nil}), goodWeights, `missing "r"`},
		{"wrong peft_type", editConfig(t, map[string]any{"peft_type": "IA3"}), goodWeights, `peft_type is "IA3", only "LORA"`},
		{"r zero", editConfig(t, map[string]any{"r": 0}), goodWeights, "r is 0, must be at least 1"},
		{"r negative", editConfig(t, map[string]any{"r": -2}), goodWeights, "r is -2"},
		{"r fractional", editConfig(t, map[string]any{"r": 2.5}), goodWeights, `field "r": 2.5 is not an integer`},
		{"r a string", editConfig(t, map[string]any{"r": "2"}), goodWeights, `field "r": "2" is not an integer`},
		{"alpha zero", editConfig(t, map[string]any{"lora_alpha": 0}), goodWeights, "lora_alpha is 0"},
		{"dropout one", editConfig(t, map[string]any{"lora_dropout": 1}), goodWeights, "lora_dropout is 1"},
		{"target regex", editConfig(t, map[string]any{"target_modules": ".*proj"}), goodWeights, "only a list of module names is supported, not a regular expression"},
		{"target empty", editConfig(t, map[string]any{"target_modules": []string{}}), goodWeights, "target_modules is empty"},
		{"target malformed", editConfig(t, map[string]any{"target_modules": []string{"q_proj", "v proj"}}), goodWeights, `target_modules entry "v proj"`},
		{"bias all", editConfig(t, map[string]any{"bias": "all"}), goodWeights, `bias is "all"`},
		{"dora", editConfig(t, map[string]any{"use_dora": true}), goodWeights, "DoRA adapters are not supported"},
		{"lora_bias", editConfig(t, map[string]any{"lora_bias": true}), goodWeights, "lora_bias is true"},
		{"modules_to_save", editConfig(t, map[string]any{"modules_to_save": []string{"lm_head"}}), goodWeights, "modules_to_save"},
		{"init number", editConfig(t, map[string]any{"init_lora_weights": 3}), goodWeights, "init_lora_weights is 3"},
		{"rank_pattern zero", editConfig(t, map[string]any{"rank_pattern": map[string]int{"q_proj": 0}}), goodWeights, `rank_pattern["q_proj"] is 0`},
		{"alpha_pattern negative", editConfig(t, map[string]any{"alpha_pattern": map[string]float64{"q_proj": -1}}), goodWeights, `alpha_pattern["q_proj"] is -1`},
		{"weights not safetensors", []byte(peftWrittenConfig), []byte("PK\x03\x04"), "adapter_model.safetensors: safetensors: file is 4 bytes"},
		{"no tensors", []byte(peftWrittenConfig), weightsFile(t), "no LoRA tensors"},
		{"missing prefix", []byte(peftWrittenConfig), weightsFile(t, safetensors.F32("h.0.attn.q_proj.lora_A.weight", []int{2, 8}, make([]float32, 16))), `tensor h.0.attn.q_proj.lora_A.weight is not a PEFT key`},
		{"adapter name left in key", []byte(peftWrittenConfig), weightsFile(t, safetensors.F32(keyPrefix+"h.0.attn.q_proj.lora_A.default.weight", []int{2, 8}, make([]float32, 16))), "is not a LoRA matrix"},
		{"bias tensor", []byte(peftWrittenConfig), weightsFile(t, append(loraPair("h.0.attn.q_proj", 2, 8, 8), safetensors.F32(keyPrefix+"h.0.attn.q_proj.lora_B.bias", []int{8}, make([]float32, 8)))...), "lora_B.bias is not a LoRA matrix"},
		{"empty path part", []byte(peftWrittenConfig), weightsFile(t, loraPair("h..attn.q_proj", 2, 8, 8)...), `module path "h..attn.q_proj" is not well-formed`},
		{"A without B", []byte(peftWrittenConfig), weightsFile(t, loraPair("h.0.attn.q_proj", 2, 8, 8)[0]), "lora_A.weight has no matching base_model.model.h.0.attn.q_proj.lora_B.weight"},
		{"B without A", []byte(peftWrittenConfig), weightsFile(t, loraPair("h.0.attn.q_proj", 2, 8, 8)[1]), "lora_B.weight has no matching base_model.model.h.0.attn.q_proj.lora_A.weight"},
		{"ranks disagree", []byte(peftWrittenConfig), weightsFile(t, loraPair("h.0.attn.q_proj", 2, 8, 8)[0], loraPair("h.0.attn.q_proj", 3, 8, 8)[1]), "module h.0.attn.q_proj: lora_A has shape [2 8] and lora_B [8 3], their ranks disagree"},
		{"rank not config r", []byte(peftWrittenConfig), weightsFile(t, loraPair("h.0.attn.q_proj", 3, 8, 8)...), "module h.0.attn.q_proj has rank 3, the config says 2"},
		{"rank not rank_pattern", editConfig(t, map[string]any{"rank_pattern": map[string]int{"q_proj": 4}}), goodWeights, "module h.0.attn.q_proj has rank 2, the config says 4"},
		{"full path pattern wins", editConfig(t, map[string]any{"rank_pattern": map[string]int{"q_proj": 2, "h.0.attn.q_proj": 5}}), goodWeights, "module h.0.attn.q_proj has rank 2, the config says 5"},
		{"untargeted module", []byte(peftWrittenConfig), weightsFile(t, slices.Concat(good, loraPair("h.0.mlp.up_proj", 2, 8, 32))...), `module h.0.mlp.up_proj is not in target_modules ["q_proj" "v_proj"]`},
		{"not a matrix", []byte(peftWrittenConfig), weightsFile(t, safetensors.F32(keyPrefix+"h.0.attn.q_proj.lora_A.weight", []int{16}, make([]float32, 16))), "lora_A.weight has shape [16], want a matrix"},
		{"zero-size", []byte(peftWrittenConfig), weightsFile(t, loraPair("h.0.attn.q_proj", 2, 0, 8)...), "in=0"},
		{"F16", []byte(peftWrittenConfig), weightsFile(t, f16...), "lora_A.weight has dtype F16, only F32"},
		{"NaN", []byte(peftWrittenConfig), weightsFile(t, nan...), "tensor base_model.model.h.0.attn.q_proj.lora_B.weight: value 5 is NaN"},
		{"Inf", []byte(peftWrittenConfig), weightsFile(t, inf...), "tensor base_model.model.h.0.attn.q_proj.lora_A.weight: value 3 is -Inf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Decode(tc.config, tc.weights)
			if err == nil {
				t.Fatalf("Decode succeeded with %d modules, want error containing %q", len(a.Modules), tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Decode error = %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
	// The well-formed inputs the cases above were cut from do decode.
	if _, err := Decode([]byte(peftWrittenConfig), goodWeights); err != nil {
		t.Fatalf("baseline: %v", err)
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(a *Adapter)
		want string
	}{
		{"no modules", func(a *Adapter) { a.Modules = nil }, "no LoRA modules"},
		{"bad config", func(a *Adapter) { a.Config.R = 0 }, "r is 0"},
		{"A length", func(a *Adapter) { a.Modules[0].A = a.Modules[0].A[1:] }, "lora_A has 31 values, want r×in = 4×8"},
		{"B length", func(a *Adapter) { a.Modules[0].B = nil }, "lora_B has 0 values"},
		{"duplicate module", func(a *Adapter) { a.Modules = append(a.Modules, a.Modules[0]) }, "appears twice"},
		{"NaN", func(a *Adapter) { a.Modules[1].B[2] = float32(math.NaN()) }, "value 2 is NaN"},
		{"untargeted", func(a *Adapter) { a.Config.TargetModules = []string{"q_proj", "up_proj"} }, "h.0.attn.v_proj is not in target_modules"},
		{"bad path", func(a *Adapter) { a.Modules[0].Module = "h.0/attn.q_proj" }, `module path "h.0/attn.q_proj" is not well-formed`},
		{"extra shadows field", func(a *Adapter) { a.Config.Extra = map[string]json.RawMessage{"r": json.RawMessage("3")} }, `Config.Extra has key "r"`},
		{"extra not JSON", func(a *Adapter) { a.Config.Extra = map[string]json.RawMessage{"x": json.RawMessage("{")} }, "adapter_config.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := testAdapter(7)
			tc.edit(a)
			_, _, err := Encode(a)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Encode error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestPatterns(t *testing.T) {
	c := Config{
		R: 8, LoraAlpha: 16,
		RankPattern:  map[string]int{"q_proj": 4, "attn.q_proj": 2, "h.1.attn.q_proj": 1},
		AlphaPattern: map[string]float64{"mlp.up_proj": 4},
	}
	tests := []struct {
		module string
		rank   int
		alpha  float64
	}{
		{"h.1.attn.q_proj", 1, 16},  // exact path wins
		{"h.0.attn.q_proj", 2, 16},  // longer suffix beats shorter
		{"h.0.xattn.q_proj", 4, 16}, // "attn.q_proj" is not a whole-part suffix here
		{"h.0.attn.k_proj", 8, 16},  // no entry: config r
		{"h.3.mlp.up_proj", 8, 4},   // alpha override only
		{"h.3.mlp.xup_proj", 8, 16}, // suffix must start at a dot
		{"q_proj", 4, 16},           // a bare name is its own path
	}
	for _, tc := range tests {
		if got := c.RankFor(tc.module); got != tc.rank {
			t.Errorf("RankFor(%q) = %d, want %d", tc.module, got, tc.rank)
		}
		if got := c.AlphaFor(tc.module); got != tc.alpha {
			t.Errorf("AlphaFor(%q) = %v, want %v", tc.module, got, tc.alpha)
		}
		if got, want := c.Scaling(tc.module), tc.alpha/float64(tc.rank); got != want {
			t.Errorf("Scaling(%q) = %v, want %v", tc.module, got, want)
		}
	}
	c.UseRslora = true
	if got, want := c.Scaling("h.0.attn.q_proj"), 16/math.Sqrt(2); got != want {
		t.Errorf("rsLoRA Scaling = %v, want %v", got, want)
	}
}

func TestCheckAgainst(t *testing.T) {
	a := testAdapter(5) // width 8, two blocks; q_proj, v_proj (r 4, h.1.q r 3), up_proj (r 2)
	tests := []struct {
		name string
		base map[string]ModuleShape
		want string // "" if a fits
	}{
		{"fits", gpt2Modules(2, 8), ""},
		{"fits a deeper model", gpt2Modules(4, 8), ""},
		{"too few blocks", gpt2Modules(1, 8), "h.1.attn.q_proj: the base model has no such module"},
		// Every module mismatches; the first in path order is named.
		{"wider model", gpt2Modules(2, 16), "h.0.attn.q_proj.lora_A: shape [4 8], base model expects [4 16]"},
		{"only out differs", func() map[string]ModuleShape {
			m := gpt2Modules(2, 8)
			m["h.1.mlp.up_proj"] = ModuleShape{In: 8, Out: 64}
			m["h.1.attn.v_proj"] = ModuleShape{In: 8, Out: 12}
			return m
		}(), "h.1.attn.v_proj.lora_B: shape [8 4], base model expects [12 4]"},
		{"A before B", func() map[string]ModuleShape {
			m := gpt2Modules(2, 8)
			m["h.0.mlp.up_proj"] = ModuleShape{In: 9, Out: 33}
			return m
		}(), "h.0.mlp.up_proj.lora_A: shape [2 8], base model expects [2 9]"},
		{"empty base", map[string]ModuleShape{}, "h.0.attn.q_proj: the base model has no such module"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := a.CheckAgainst(tc.base)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("CheckAgainst: %v", err)
			case tc.want != "" && (err == nil || !strings.HasSuffix(err.Error(), tc.want)):
				t.Fatalf("CheckAgainst error = %v, want it to end %q", err, tc.want)
			}
		})
	}
}
