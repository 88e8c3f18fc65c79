// Package peft reads and writes LoRA adapters in the on-disk layout of
// Hugging Face PEFT (https://github.com/huggingface/peft), so that an
// adapter trained here loads with PeftModel.from_pretrained and one trained
// with PEFT loads here.
//
// # Layout
//
// A PEFT adapter is a directory (here also a .zip) with two files:
//
//	adapter_config.json          the LoraConfig, as JSON
//	adapter_model.safetensors    the LoRA matrices, float32
//
// For a linear layer at module path p (in our GPT-2-shaped model
// "h.{i}.attn.{q,k,v,o}_proj" or "h.{i}.mlp.{up,down}_proj") with weight W of
// shape (out, in), the adapter stores
//
//	base_model.model.<p>.lora_A.weight   shape [r, in]
//	base_model.model.<p>.lora_B.weight   shape [out, r]
//
// and the adapted layer uses W + s·B·A with s = α/r, or α/√r when
// use_rslora is set. PEFT strips the adapter name ("default") from the keys
// when saving, and so do we.
//
// r and α come from the config's "r" and "lora_alpha", overridden per
// module by "rank_pattern" and "alpha_pattern". A pattern key is a full
// module path ("h.0.attn.q_proj") or a dotted suffix of one ("q_proj",
// "attn.q_proj"); an exact path wins over any suffix, and a longer suffix
// over a shorter. A module is adapted if its path equals, or ends with "."
// followed by, one of "target_modules": PEFT's rule for a list of names.
//
// # What is refused
//
// Decode accepts exactly the adapters this project can apply: plain LoRA on
// linear layers. It refuses, with the offending field or tensor named, other
// PEFT types, DoRA, trainable biases, modules_to_save, a regular-expression
// target_modules, ranks or shapes that disagree, non-float32 or non-finite
// weights, and tensors that are not LoRA matrices. Fields it does not
// interpret (PEFT writes many, such as layers_to_transform) are kept in
// Config.Extra and written back unchanged.
//
// # Stable files
//
// Encode writes the config with sorted keys and two-space indentation, as
// PEFT's save_pretrained does (json.dumps(indent=2, sort_keys=True)), and
// the weights through core/safetensors, which is deterministic. So
// Encode(Decode(Encode(a))) is byte-identical to Encode(a), and every float
// survives bit for bit.
package peft

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/lora-playground/lora-playground/core/safetensors"
)

// File names inside an adapter directory or archive, as PEFT names them.
const (
	ConfigFile  = "adapter_config.json"
	WeightsFile = "adapter_model.safetensors"
)

// MaxConfigBytes caps adapter_config.json when it is read from a directory
// or an archive; a real one is a few kilobytes.
const MaxConfigBytes = 1 << 20

// keyPrefix is what PEFT puts in front of a module path: the PeftModel wraps
// a LoraModel ("base_model") that wraps the base model ("model").
const keyPrefix = "base_model.model."

// Config is adapter_config.json, with PEFT's field names.
type Config struct {
	PeftType            string `json:"peft_type"`           // "LORA"
	TaskType            string `json:"task_type,omitempty"` // e.g. "CAUSAL_LM"; empty is written as absent
	BaseModelNameOrPath string `json:"base_model_name_or_path"`
	// Revision is the base model's revision, or nil.
	Revision *string `json:"revision"`

	R           int     `json:"r"`            // rank, ≥ 1
	LoraAlpha   float64 `json:"lora_alpha"`   // α > 0
	LoraDropout float64 `json:"lora_dropout"` // in [0, 1)
	// TargetModules lists module names or dotted path suffixes to adapt.
	TargetModules []string `json:"target_modules"`
	UseRslora     bool     `json:"use_rslora"` // scale α/√r instead of α/r
	// RankPattern and AlphaPattern override R and LoraAlpha per module; see
	// the package doc for how keys match.
	RankPattern  map[string]int     `json:"rank_pattern"`
	AlphaPattern map[string]float64 `json:"alpha_pattern"`
	// InitLoraWeights is how A was initialised: true (Kaiming-uniform),
	// false, or a string such as "gaussian". Encode writes nil as true.
	InitLoraWeights any `json:"init_lora_weights"`
	// FanInFanOut is true when the base layer stores W as (in, out), as
	// GPT-2's Conv1D does. It changes how W is read when merging, not the
	// shapes of A and B.
	FanInFanOut   bool `json:"fan_in_fan_out"`
	InferenceMode bool `json:"inference_mode"`

	// The fields below must keep their zero values: they name PEFT features
	// that add tensors this package does not handle.
	Bias          string   `json:"bias"`            // "none"; Encode writes "" as "none"
	UseDora       bool     `json:"use_dora"`        // must be false
	LoraBias      bool     `json:"lora_bias"`       // must be false
	ModulesToSave []string `json:"modules_to_save"` // must be empty

	// Extra holds the fields of adapter_config.json that this package does
	// not interpret, verbatim, so that reading and writing a config made by
	// PEFT loses nothing. Its keys must not be any of the fields above.
	Extra map[string]json.RawMessage `json:"-"`
}

// ModuleWeights are the two LoRA matrices of one adapted linear layer,
// row-major float32.
type ModuleWeights struct {
	Module  string    // module path, e.g. "h.0.attn.q_proj"
	R       int       // rank
	In, Out int       // the base layer maps In features to Out
	A       []float32 // (R, In)
	B       []float32 // (Out, R)
}

// Adapter is a PEFT LoRA adapter: its config, its matrices sorted by module
// path, and the metadata of its safetensors file.
type Adapter struct {
	Config   Config
	Modules  []ModuleWeights
	Metadata map[string]string
}

// RankFor returns the rank of module: its rank_pattern entry, else R.
func (c *Config) RankFor(module string) int {
	if k, ok := patternKey(c.RankPattern, module); ok {
		return c.RankPattern[k]
	}
	return c.R
}

// AlphaFor returns the α of module: its alpha_pattern entry, else LoraAlpha.
func (c *Config) AlphaFor(module string) float64 {
	if k, ok := patternKey(c.AlphaPattern, module); ok {
		return c.AlphaPattern[k]
	}
	return c.LoraAlpha
}

// Scaling returns s in W + s·B·A for module: α/r, or α/√r with rank-
// stabilised LoRA.
func (c *Config) Scaling(module string) float64 {
	r := float64(c.RankFor(module))
	if c.UseRslora {
		return c.AlphaFor(module) / math.Sqrt(r)
	}
	return c.AlphaFor(module) / r
}

// Targets reports whether module is adapted under TargetModules.
func (c *Config) Targets(module string) bool {
	for _, t := range c.TargetModules {
		if matchesSuffix(module, t) {
			return true
		}
	}
	return false
}

// matchesSuffix reports whether key names module: equal to it, or a whole
// number of its trailing dot-separated parts.
func matchesSuffix(module, key string) bool {
	return module == key || strings.HasSuffix(module, "."+key)
}

// patternKey finds the key of pattern that applies to module: an exact
// match, else the longest matching suffix.
func patternKey[V any](pattern map[string]V, module string) (string, bool) {
	best, found := "", false
	for k := range pattern {
		if k == module {
			return k, true
		}
		if matchesSuffix(module, k) && (!found || len(k) > len(best)) {
			best, found = k, true
		}
	}
	return best, found
}

// validModulePath reports whether p is dot-separated non-empty parts of
// ASCII letters, digits and underscores.
func validModulePath(p string) bool {
	if p == "" {
		return false
	}
	for part := range strings.SplitSeq(p, ".") {
		if part == "" {
			return false
		}
		for _, r := range part {
			if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

// Validate reports the first problem with c that would stop PEFT or this
// package from using the adapter.
func (c *Config) Validate() error {
	switch {
	case c.PeftType != "LORA":
		return fmt.Errorf("peft_type is %q, only \"LORA\" is supported", c.PeftType)
	case c.R < 1:
		return fmt.Errorf("r is %d, must be at least 1", c.R)
	case !(c.LoraAlpha > 0) || math.IsInf(c.LoraAlpha, 0):
		return fmt.Errorf("lora_alpha is %v, must be a positive number", c.LoraAlpha)
	case !(c.LoraDropout >= 0 && c.LoraDropout < 1):
		return fmt.Errorf("lora_dropout is %v, must be in [0, 1)", c.LoraDropout)
	case len(c.TargetModules) == 0:
		return fmt.Errorf("target_modules is empty")
	case c.Bias != "" && c.Bias != "none":
		return fmt.Errorf("bias is %q; only \"none\" is supported (trained biases are not)", c.Bias)
	case c.UseDora:
		return fmt.Errorf("use_dora is true; DoRA adapters are not supported")
	case c.LoraBias:
		return fmt.Errorf("lora_bias is true; LoRA biases are not supported")
	case len(c.ModulesToSave) > 0:
		return fmt.Errorf("modules_to_save %q is not supported: only LoRA matrices can be loaded", c.ModulesToSave)
	}
	for _, t := range c.TargetModules {
		if !validModulePath(t) {
			return fmt.Errorf("target_modules entry %q is not a module name", t)
		}
	}
	for _, k := range sortedKeys(c.RankPattern) {
		if c.RankPattern[k] < 1 {
			return fmt.Errorf("rank_pattern[%q] is %d, must be at least 1", k, c.RankPattern[k])
		}
	}
	for _, k := range sortedKeys(c.AlphaPattern) {
		if a := c.AlphaPattern[k]; !(a > 0) || math.IsInf(a, 0) {
			return fmt.Errorf("alpha_pattern[%q] is %v, must be a positive number", k, a)
		}
	}
	switch c.InitLoraWeights.(type) {
	case nil, bool, string:
	default:
		return fmt.Errorf("init_lora_weights is %v, want true, false or a method name", c.InitLoraWeights)
	}
	for k := range c.Extra {
		if _, known := c.fields()[k]; known {
			return fmt.Errorf("Config.Extra has key %q, which is a Config field", k)
		}
	}
	return nil
}

// fields maps each JSON key Config interprets to its Go field.
func (c *Config) fields() map[string]any {
	return map[string]any{
		"peft_type":               &c.PeftType,
		"task_type":               &c.TaskType,
		"base_model_name_or_path": &c.BaseModelNameOrPath,
		"revision":                &c.Revision,
		"r":                       &c.R,
		"lora_alpha":              &c.LoraAlpha,
		"lora_dropout":            &c.LoraDropout,
		"target_modules":          &c.TargetModules,
		"use_rslora":              &c.UseRslora,
		"rank_pattern":            &c.RankPattern,
		"alpha_pattern":           &c.AlphaPattern,
		"init_lora_weights":       &c.InitLoraWeights,
		"fan_in_fan_out":          &c.FanInFanOut,
		"inference_mode":          &c.InferenceMode,
		"bias":                    &c.Bias,
		"use_dora":                &c.UseDora,
		"lora_bias":               &c.LoraBias,
		"modules_to_save":         &c.ModulesToSave,
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// decodeConfig parses adapter_config.json. Keys match exactly (encoding/json
// alone would accept "R" for "r"); unknown keys go to Extra.
func decodeConfig(b []byte) (Config, error) {
	var c Config
	if t := bytes.TrimSpace(b); len(t) == 0 || t[0] != '{' {
		return c, fmt.Errorf("not a JSON object")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return c, fmt.Errorf("invalid JSON: %v", err)
	}
	for _, k := range []string{"peft_type", "r", "lora_alpha", "target_modules"} {
		if _, ok := raw[k]; !ok {
			return c, fmt.Errorf("missing %q", k)
		}
	}
	if t := raw["target_modules"]; len(t) > 0 && t[0] == '"' {
		return c, fmt.Errorf("target_modules is the string %s; only a list of module names is supported, not a regular expression", t)
	}
	fields := c.fields()
	for _, k := range sortedKeys(raw) {
		dst, known := fields[k]
		if !known {
			if c.Extra == nil {
				c.Extra = map[string]json.RawMessage{}
			}
			c.Extra[k] = raw[k]
			continue
		}
		if err := json.Unmarshal(raw[k], dst); err != nil {
			return c, fmt.Errorf("field %q: %s is not %s", k, raw[k], jsonType(dst))
		}
	}
	return c, nil
}

func jsonType(dst any) string {
	switch dst.(type) {
	case *string:
		return "a string"
	case **string:
		return "a string or null"
	case *int:
		return "an integer"
	case *float64:
		return "a number"
	case *bool:
		return "a boolean"
	case *[]string:
		return "a list of strings"
	case *map[string]int:
		return "an object of integers"
	case *map[string]float64:
		return "an object of numbers"
	}
	return "valid"
}

// encodeConfig writes c as PEFT does: sorted keys at every depth, two-space
// indentation, no trailing newline. Defaults PEFT would not accept empty
// are filled in: bias "none", init_lora_weights true, empty patterns {}.
func encodeConfig(c Config) ([]byte, error) {
	if c.Bias == "" {
		c.Bias = "none"
	}
	if c.InitLoraWeights == nil {
		c.InitLoraWeights = true
	}
	if c.RankPattern == nil {
		c.RankPattern = map[string]int{}
	}
	if c.AlphaPattern == nil {
		c.AlphaPattern = map[string]float64{}
	}
	out := map[string]any{}
	for k, v := range c.Extra {
		out[k] = v
	}
	for k, v := range c.fields() {
		out[k] = v
	}
	if c.TaskType == "" {
		delete(out, "task_type")
	}
	flat, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	// Decode and re-encode so that objects inside Extra get sorted keys too.
	var tree any
	dec := json.NewDecoder(bytes.NewReader(flat))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(tree); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// checkModule validates one module's matrices against the config.
func checkModule(c *Config, m *ModuleWeights) error {
	if !validModulePath(m.Module) {
		return fmt.Errorf("module path %q is not well-formed", m.Module)
	}
	if !c.Targets(m.Module) {
		return fmt.Errorf("module %s is not in target_modules %q", m.Module, c.TargetModules)
	}
	if m.R < 1 || m.In < 1 || m.Out < 1 {
		return fmt.Errorf("module %s has r=%d, in=%d, out=%d; all must be at least 1", m.Module, m.R, m.In, m.Out)
	}
	if want := c.RankFor(m.Module); m.R != want {
		return fmt.Errorf("module %s has rank %d, the config says %d", m.Module, m.R, want)
	}
	if len(m.A) != m.R*m.In {
		return fmt.Errorf("module %s: lora_A has %d values, want r×in = %d×%d", m.Module, len(m.A), m.R, m.In)
	}
	if len(m.B) != m.Out*m.R {
		return fmt.Errorf("module %s: lora_B has %d values, want out×r = %d×%d", m.Module, len(m.B), m.Out, m.R)
	}
	for _, half := range []struct {
		name string
		v    []float32
	}{{"lora_A", m.A}, {"lora_B", m.B}} {
		for i, x := range half.v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("tensor %s: value %d is %v; weights must be finite", tensorKey(m.Module, half.name), i, x)
			}
		}
	}
	return nil
}

func tensorKey(module, half string) string {
	return keyPrefix + module + "." + half + ".weight"
}

// sortedModules returns the modules ordered by path, refusing duplicates.
func sortedModules(ms []ModuleWeights) ([]ModuleWeights, error) {
	s := slices.Clone(ms)
	slices.SortFunc(s, func(x, y ModuleWeights) int { return strings.Compare(x.Module, y.Module) })
	for i := 1; i < len(s); i++ {
		if s[i].Module == s[i-1].Module {
			return nil, fmt.Errorf("module %s appears twice", s[i].Module)
		}
	}
	return s, nil
}

// Encode serialises a as the contents of adapter_config.json and
// adapter_model.safetensors. It refuses adapters Decode would refuse. The
// safetensors metadata is a.Metadata with "format": "pt" added when absent,
// as PEFT writes it.
func Encode(a *Adapter) (configJSON, weights []byte, err error) {
	if err := a.Config.Validate(); err != nil {
		return nil, nil, fmt.Errorf("peft: %s: %w", ConfigFile, err)
	}
	mods, err := sortedModules(a.Modules)
	if err != nil {
		return nil, nil, fmt.Errorf("peft: %w", err)
	}
	if len(mods) == 0 {
		return nil, nil, fmt.Errorf("peft: adapter has no LoRA modules")
	}
	f := &safetensors.File{Metadata: map[string]string{"format": "pt"}}
	for k, v := range a.Metadata {
		f.Metadata[k] = v
	}
	for i := range mods {
		m := &mods[i]
		if err := checkModule(&a.Config, m); err != nil {
			return nil, nil, fmt.Errorf("peft: %w", err)
		}
		f.Tensors = append(f.Tensors,
			safetensors.F32(tensorKey(m.Module, "lora_A"), []int{m.R, m.In}, m.A),
			safetensors.F32(tensorKey(m.Module, "lora_B"), []int{m.Out, m.R}, m.B))
	}
	configJSON, err = encodeConfig(a.Config)
	if err != nil {
		return nil, nil, fmt.Errorf("peft: %s: %w", ConfigFile, err)
	}
	weights, err = safetensors.Encode(f)
	if err != nil {
		return nil, nil, fmt.Errorf("peft: %s: %w", WeightsFile, err)
	}
	return configJSON, weights, nil
}

// Decode parses and validates the contents of adapter_config.json and
// adapter_model.safetensors. Its errors name the field or tensor at fault.
func Decode(configJSON, weights []byte) (*Adapter, error) {
	cfg, err := decodeConfig(configJSON)
	if err != nil {
		return nil, fmt.Errorf("peft: %s: %w", ConfigFile, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("peft: %s: %w", ConfigFile, err)
	}
	f, err := safetensors.Parse(weights)
	if err != nil {
		return nil, fmt.Errorf("peft: %s: %w", WeightsFile, err)
	}
	a := &Adapter{Config: cfg, Metadata: f.Metadata}

	// Pair up lora_A and lora_B by module path.
	type pair struct{ a, b *safetensors.Tensor }
	pairs := map[string]*pair{}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		module, half, err := splitKey(t.Name)
		if err != nil {
			return nil, fmt.Errorf("peft: %s: %w", WeightsFile, err)
		}
		if t.DType != "F32" {
			return nil, fmt.Errorf("peft: %s: tensor %s has dtype %s, only F32 is supported", WeightsFile, t.Name, t.DType)
		}
		if len(t.Shape) != 2 {
			return nil, fmt.Errorf("peft: %s: tensor %s has shape %v, want a matrix", WeightsFile, t.Name, t.Shape)
		}
		p := pairs[module]
		if p == nil {
			p = &pair{}
			pairs[module] = p
		}
		if half == "lora_A" {
			p.a = t
		} else {
			p.b = t
		}
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("peft: %s: no LoRA tensors", WeightsFile)
	}
	for _, module := range sortedKeys(pairs) {
		p := pairs[module]
		if p.b == nil {
			return nil, fmt.Errorf("peft: %s: tensor %s has no matching %s", WeightsFile, p.a.Name, tensorKey(module, "lora_B"))
		}
		if p.a == nil {
			return nil, fmt.Errorf("peft: %s: tensor %s has no matching %s", WeightsFile, p.b.Name, tensorKey(module, "lora_A"))
		}
		if p.a.Shape[0] != p.b.Shape[1] {
			return nil, fmt.Errorf("peft: %s: module %s: lora_A has shape %v and lora_B %v, their ranks disagree", WeightsFile, module, p.a.Shape, p.b.Shape)
		}
		m := ModuleWeights{Module: module, R: p.a.Shape[0], In: p.a.Shape[1], Out: p.b.Shape[0]}
		if m.A, err = p.a.Float32s(); err != nil {
			return nil, fmt.Errorf("peft: %s: %w", WeightsFile, err)
		}
		if m.B, err = p.b.Float32s(); err != nil {
			return nil, fmt.Errorf("peft: %s: %w", WeightsFile, err)
		}
		if err := checkModule(&a.Config, &m); err != nil {
			return nil, fmt.Errorf("peft: %s: %w", WeightsFile, err)
		}
		a.Modules = append(a.Modules, m)
	}
	return a, nil
}

// splitKey splits "base_model.model.<module>.lora_{A,B}.weight".
func splitKey(name string) (module, half string, err error) {
	rest, ok := strings.CutPrefix(name, keyPrefix)
	if !ok {
		return "", "", fmt.Errorf("tensor %s is not a PEFT key: it does not start with %q", name, keyPrefix)
	}
	for _, h := range []string{"lora_A", "lora_B"} {
		if module, ok := strings.CutSuffix(rest, "."+h+".weight"); ok {
			if !validModulePath(module) {
				return "", "", fmt.Errorf("tensor %s: module path %q is not well-formed", name, module)
			}
			return module, h, nil
		}
	}
	return "", "", fmt.Errorf("tensor %s is not a LoRA matrix: want a key ending in .lora_A.weight or .lora_B.weight", name)
}

// ModuleShape is the shape of a base model's linear layer: In features to
// Out.
type ModuleShape struct{ In, Out int }

// CheckAgainst reports whether a fits a base model whose linear layers are
// base, keyed by module path: every adapted module must exist there and
// have lora_A of shape [r, In] and lora_B of shape [Out, r]. The error names
// the first mismatch in module order, A before B.
func (a *Adapter) CheckAgainst(base map[string]ModuleShape) error {
	mods := slices.Clone(a.Modules)
	slices.SortStableFunc(mods, func(x, y ModuleWeights) int { return strings.Compare(x.Module, y.Module) })
	for _, m := range mods {
		s, ok := base[m.Module]
		if !ok {
			return fmt.Errorf("peft: adapter does not fit the base model: %s: the base model has no such module", m.Module)
		}
		if m.In != s.In {
			return fmt.Errorf("peft: adapter does not fit the base model: %s.lora_A: shape [%d %d], base model expects [%d %d]", m.Module, m.R, m.In, m.R, s.In)
		}
		if m.Out != s.Out {
			return fmt.Errorf("peft: adapter does not fit the base model: %s.lora_B: shape [%d %d], base model expects [%d %d]", m.Module, m.Out, m.R, s.Out, m.R)
		}
	}
	return nil
}
