// Package model is a GPT-2-style decoder-only transformer with hand-written
// forward and backward passes, and the hooks LoRA needs.
//
// Architecture (GPT-2, so that it is standard and checkable):
//
//	x₀    = wte[tokens] + wpe[positions]                      (B,T,C)
//	for each of n_layer blocks (pre-LayerNorm):
//	  x  += o_proj( attention( q_proj(ln_1(x)), k_proj(·), v_proj(·) ) )
//	  x  += down_proj( gelu( up_proj( ln_2(x) ) ) )
//	logits = ln_f(x) · wteᵀ                                    (B,T,V)  tied head
//
// Linear weights are stored [out, in] and applied as y = x·Wᵀ + b, PyTorch's
// convention, so the tensors can be compared with a PyTorch implementation.
// Attention is causal with n_head heads of size C/n_head; the MLP is 4C wide.
//
// Gradients live in a second Weights value whose slices are nil for frozen
// parameters: the backward pass then skips those weight gradients entirely,
// which is how LoRA and BitFit save both memory and compute. LoRA adapters
// (package lora) hang off any of the six linear layers of each block.
package model

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/lora-playground/lora-playground/core/lora"
)

// Module indices of the six linear layers of a block, in lora.Modules order.
const (
	ModQ = iota
	ModK
	ModV
	ModO
	ModUp
	ModDown
	NumModules
)

// TokenizerConfig is the tokenizer stored with the model.
type TokenizerConfig struct {
	Type  string   `json:"type"`  // "char"
	Vocab []string `json:"vocab"` // vocab[0] is "<unk>"
}

// Config is the model's shape, stored as config.json beside the weights.
type Config struct {
	Name      string          `json:"name,omitempty"`
	VocabSize int             `json:"vocab_size"`
	NCtx      int             `json:"n_ctx"`
	NEmbd     int             `json:"n_embd"`
	NHead     int             `json:"n_head"`
	NLayer    int             `json:"n_layer"`
	Tokenizer TokenizerConfig `json:"tokenizer"`
}

// Validate checks that the shape is usable.
func (c Config) Validate() error {
	switch {
	case c.VocabSize < 2:
		return fmt.Errorf("model config: vocab_size must be at least 2, got %d", c.VocabSize)
	case c.NCtx < 1:
		return fmt.Errorf("model config: n_ctx must be at least 1, got %d", c.NCtx)
	case c.NEmbd < 1 || c.NHead < 1 || c.NEmbd%c.NHead != 0:
		return fmt.Errorf("model config: n_embd (%d) must be a positive multiple of n_head (%d)", c.NEmbd, c.NHead)
	case c.NLayer < 1:
		return fmt.Errorf("model config: n_layer must be at least 1, got %d", c.NLayer)
	case len(c.Tokenizer.Vocab) != 0 && len(c.Tokenizer.Vocab) != c.VocabSize:
		return fmt.Errorf("model config: tokenizer has %d entries but vocab_size is %d", len(c.Tokenizer.Vocab), c.VocabSize)
	}
	return nil
}

// ModuleShape returns (out, in) of linear module m.
func (c Config) ModuleShape(m int) (out, in int) {
	C := c.NEmbd
	switch m {
	case ModUp:
		return 4 * C, C
	case ModDown:
		return C, 4 * C
	default:
		return C, C
	}
}

// ModulePath is the name of linear module m of layer l, e.g. "h.0.attn.q_proj".
func ModulePath(l, m int) string {
	if m == ModUp || m == ModDown {
		return fmt.Sprintf("h.%d.mlp.%s", l, lora.Modules[m])
	}
	return fmt.Sprintf("h.%d.attn.%s", l, lora.Modules[m])
}

// Linear is y = x·Wᵀ + b.
type Linear struct {
	W []float32 // (Out,In)
	B []float32 // (Out)
}

// Block is one transformer layer.
type Block struct {
	Ln1W, Ln1B []float32 // (C)
	Lin        [NumModules]Linear
	Ln2W, Ln2B []float32 // (C)
}

// Weights holds every parameter as a flat slice. In a gradient Weights, a
// nil slice marks a frozen parameter.
type Weights struct {
	WTE    []float32 // (V,C)
	WPE    []float32 // (NCtx,C)
	Blocks []Block
	LnFW   []float32 // (C)
	LnFB   []float32 // (C)
}

// Param names one parameter tensor.
type Param struct {
	Name  string
	Shape []int
	Data  []float32
	// Kind says what the parameter is, which decides who trains it.
	Kind ParamKind
}

// ParamKind classifies parameters for the adaptation methods.
type ParamKind int

const (
	KindEmbedding  ParamKind = iota // wte, wpe
	KindMatrix                      // linear weights
	KindBias                        // linear biases
	KindNormWeight                  // LayerNorm weights
	KindNormBias                    // LayerNorm biases
)

// Params lists w's tensors in a fixed order with their safetensors names.
// Slices may be nil in a gradient Weights.
func (w *Weights) Params(c Config) []Param {
	C, V := c.NEmbd, c.VocabSize
	ps := []Param{
		{"wte.weight", []int{V, C}, w.WTE, KindEmbedding},
		{"wpe.weight", []int{c.NCtx, C}, w.WPE, KindEmbedding},
	}
	for l := range w.Blocks {
		b := &w.Blocks[l]
		p := fmt.Sprintf("h.%d.", l)
		ps = append(ps,
			Param{p + "ln_1.weight", []int{C}, b.Ln1W, KindNormWeight},
			Param{p + "ln_1.bias", []int{C}, b.Ln1B, KindNormBias})
		for m := 0; m < NumModules; m++ {
			out, in := c.ModuleShape(m)
			name := ModulePath(l, m)
			ps = append(ps,
				Param{name + ".weight", []int{out, in}, b.Lin[m].W, KindMatrix},
				Param{name + ".bias", []int{out}, b.Lin[m].B, KindBias})
			if m == ModO {
				ps = append(ps,
					Param{p + "ln_2.weight", []int{C}, b.Ln2W, KindNormWeight},
					Param{p + "ln_2.bias", []int{C}, b.Ln2B, KindNormBias})
			}
		}
	}
	return append(ps,
		Param{"ln_f.weight", []int{C}, w.LnFW, KindNormWeight},
		Param{"ln_f.bias", []int{C}, w.LnFB, KindNormBias})
}

// slots returns pointers to every slice of w in Params order, so that
// allocation can be driven by the same list.
func (w *Weights) slots() []*[]float32 {
	s := []*[]float32{&w.WTE, &w.WPE}
	for l := range w.Blocks {
		b := &w.Blocks[l]
		s = append(s, &b.Ln1W, &b.Ln1B)
		for m := 0; m < NumModules; m++ {
			s = append(s, &b.Lin[m].W, &b.Lin[m].B)
			if m == ModO {
				s = append(s, &b.Ln2W, &b.Ln2B)
			}
		}
	}
	return append(s, &w.LnFW, &w.LnFB)
}

// NewWeights allocates zeroed weights for c; keep(p) decides which tensors
// get a buffer (nil keep allocates all). Gradients use keep to allocate only
// what is trained.
func NewWeights(c Config, keep func(Param) bool) *Weights {
	w := &Weights{Blocks: make([]Block, c.NLayer)}
	slots := w.slots()
	for i, p := range w.Params(c) {
		if keep == nil || keep(p) {
			n := 1
			for _, d := range p.Shape {
				n *= d
			}
			*slots[i] = make([]float32, n)
		}
	}
	return w
}

// NumParams counts the elements of the non-nil tensors.
func (w *Weights) NumParams(c Config) int {
	n := 0
	for _, p := range w.Params(c) {
		n += len(p.Data)
	}
	return n
}

// Model is a decoder with optional LoRA adapters.
type Model struct {
	Config Config
	W      *Weights
	// G holds gradients; nil slices are frozen parameters. G itself is nil
	// when the model is not being trained.
	G *Weights
	// Adapters[l][m] is the LoRA adapter on module m of layer l, or nil.
	Adapters [][NumModules]*lora.Adapter
	// Merged is true while ΔW of every adapter is folded into W; the forward
	// pass then skips the adapters.
	Merged bool

	tc transposeCache // Wᵀ of frozen weights while training (transpose.go)
}

// New allocates a zero-initialised model.
func New(c Config) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &Model{Config: c, W: NewWeights(c, nil)}, nil
}

// InitGPT2 initialises weights as GPT-2 does: N(0, 0.02) for matrices and
// embeddings, with the residual projections (o_proj, down_proj) scaled by
// 1/√(2·n_layer); zero biases; LayerNorm weights 1.
func (m *Model) InitGPT2(rng *rand.Rand) {
	c := m.Config
	resid := 0.02 / math.Sqrt(2*float64(c.NLayer))
	fill := func(s []float32, std float64) {
		for i := range s {
			s[i] = float32(rng.NormFloat64() * std)
		}
	}
	fill(m.W.WTE, 0.02)
	fill(m.W.WPE, 0.01)
	for l := range m.W.Blocks {
		b := &m.W.Blocks[l]
		for mod := 0; mod < NumModules; mod++ {
			std := 0.02
			if mod == ModO || mod == ModDown {
				std = resid
			}
			fill(b.Lin[mod].W, std)
			clear(b.Lin[mod].B)
		}
		for _, s := range [][]float32{b.Ln1W, b.Ln2W} {
			for i := range s {
				s[i] = 1
			}
		}
		clear(b.Ln1B)
		clear(b.Ln2B)
	}
	for i := range m.W.LnFW {
		m.W.LnFW[i] = 1
	}
	clear(m.W.LnFB)
}

// Clone returns a deep copy of the weights (no gradients, no adapters).
func (m *Model) Clone() *Model {
	n, _ := New(m.Config)
	dst := n.W.slots()
	for i, s := range m.W.slots() {
		copy(*dst[i], *s)
	}
	return n
}

// AddLoRA attaches fresh adapters for cfg to every targeted module, drawing
// A from rng. It replaces any previous adapters.
func (m *Model) AddLoRA(cfg lora.Config, rng *rand.Rand) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if m.Merged {
		return fmt.Errorf("model: unmerge the current adapters before adding new ones")
	}
	m.Adapters = make([][NumModules]*lora.Adapter, m.Config.NLayer)
	for l := 0; l < m.Config.NLayer; l++ {
		for mod, name := range lora.Modules {
			if !cfg.Targeted(name) {
				continue
			}
			path := ModulePath(l, mod)
			r := cfg.RankFor(path, name)
			out, in := m.Config.ModuleShape(mod)
			scale := lora.Scale(cfg.AlphaFor(path, name), r, cfg.UseRSLoRA)
			m.Adapters[l][mod] = lora.NewAdapter(path, r, in, out, scale, cfg.Dropout, cfg.Init, rng)
		}
	}
	return nil
}

// EachAdapter calls f for every attached adapter in layer, module order.
func (m *Model) EachAdapter(f func(l, mod int, a *lora.Adapter)) {
	for l := range m.Adapters {
		for mod, a := range m.Adapters[l] {
			if a != nil {
				f(l, mod, a)
			}
		}
	}
}

// Merge folds every adapter's ΔW = s·B·A into its frozen W. Inference then
// runs at exactly the base model's cost and shapes.
func (m *Model) Merge() error {
	if m.Merged {
		return fmt.Errorf("model: adapters are already merged")
	}
	m.eachDelta((*lora.Adapter).Merge)
	m.WeightsChanged()
	m.Merged = true
	return nil
}

// Unmerge subtracts every adapter's ΔW again (exact up to float32 rounding).
func (m *Model) Unmerge() error {
	if !m.Merged {
		return fmt.Errorf("model: adapters are not merged")
	}
	m.eachDelta((*lora.Adapter).Unmerge)
	m.WeightsChanged()
	m.Merged = false
	return nil
}

// eachDelta applies op (Merge or Unmerge) to every adapter and the weight it
// adapts, sharing one scratch buffer for ΔW.
func (m *Model) eachDelta(op func(a *lora.Adapter, w, scratch []float32)) {
	var scratch []float32
	m.EachAdapter(func(l, mod int, a *lora.Adapter) {
		if len(scratch) < a.Out*a.In {
			scratch = make([]float32, a.Out*a.In)
		}
		op(a, m.W.Blocks[l].Lin[mod].W, scratch)
	})
}
