package params

import (
	"math"
	"strings"
	"testing"
)

// tensorSum counts a GPT-2-style decoder by listing every tensor's shape, the
// way a state-dict walk would, independently of the closed form in Base.
func tensorSum(v, t, c, l int64) int64 {
	shapes := [][]int64{{v, c}, {t, c}} // wte, wpe
	for i := int64(0); i < l; i++ {
		shapes = append(shapes,
			[]int64{c}, []int64{c}, // ln_1 weight, bias
			[]int64{c, c}, []int64{c}, // q_proj
			[]int64{c, c}, []int64{c}, // k_proj
			[]int64{c, c}, []int64{c}, // v_proj
			[]int64{c, c}, []int64{c}, // o_proj
			[]int64{c}, []int64{c}, // ln_2
			[]int64{4 * c, c}, []int64{4 * c}, // up_proj
			[]int64{c, 4 * c}, []int64{c}, // down_proj
		)
	}
	shapes = append(shapes, []int64{c}, []int64{c}) // ln_f
	var n int64
	for _, s := range shapes {
		p := int64(1)
		for _, d := range s {
			p *= d
		}
		n += p
	}
	return n
}

func TestBaseTotals(t *testing.T) {
	for _, tc := range []struct {
		preset string
		want   int64 // commonly cited exact count (Hugging Face num_parameters, tied head)
	}{
		{"gpt2-small", 124_439_808},
		{"gpt2-medium", 354_823_168},
		{"gpt2-large", 774_030_080},
		{"gpt2-xl", 1_557_611_200},
	} {
		a, err := Preset(tc.preset)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []Method{MethodNone, MethodFull, MethodBias} {
			c, err := Calculate(a, m, LoRA{})
			if err != nil {
				t.Fatalf("%s %s: %v", tc.preset, m, err)
			}
			if c.Total != tc.want {
				t.Errorf("%s %s: Total = %d, want %d", tc.preset, m, c.Total, tc.want)
			}
		}
		if got := tensorSum(int64(a.VocabSize), int64(a.NCtx), int64(a.NEmbd), int64(a.NLayer)); got != tc.want {
			t.Errorf("%s: tensor-by-tensor sum = %d, want %d", tc.preset, got, tc.want)
		}
	}
}

func TestGPT3Total(t *testing.T) {
	a, err := Preset("gpt3-175b")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Calculate(a, MethodNone, LoRA{})
	if err != nil {
		t.Fatal(err)
	}
	// Brown et al. 2020, Table 2.1: 175.0B parameters.
	if rel := math.Abs(float64(c.Total)-175e9) / 175e9; rel > 0.01 {
		t.Errorf("GPT-3 total = %d, %.2f%% from 175B", c.Total, 100*rel)
	}
	if got := tensorSum(50257, 2048, 12288, 96); c.Total != got {
		t.Errorf("GPT-3 total = %d, tensor sum %d", c.Total, got)
	}
}

// The reference model the playground trains in the browser.
var reference = Arch{Name: "reference", VocabSize: 97, NCtx: 64, NEmbd: 128, NHead: 4, NLayer: 2}

func TestReferenceModel(t *testing.T) {
	// By hand, C = 128:
	//   wte 97·128 = 12,416;  wpe 64·128 = 8,192
	//   block: four C×C projections 4·16,384 = 65,536 + 4·128 biases = 512
	//          up 512·128 = 65,536 + 512; down 128·512 = 65,536 + 128
	//          ln_1, ln_2: 4·128 = 512
	//          = 196,608 weights + 1,664 vectors = 198,272
	//   two blocks 396,544;  ln_f 256
	//   total = 12,416 + 8,192 + 396,544 + 256 = 417,408
	const total = 417_408
	// LoRA r = 8 on q_proj and v_proj: each adapter A (8×128) + B (128×8)
	// = 2,048; 2 modules × 2 blocks × 2,048 = 8,192.
	const adapter = 8_192
	// BitFit biases per block: 4·128 + 512 + 128 + 2·128 = 1,408; two
	// blocks 2,816; ln_f bias 128 → 2,944.
	const biases = 2_944
	for _, tc := range []struct {
		m                       Method
		l                       LoRA
		total, trainable, froze int64
	}{
		{MethodNone, LoRA{}, total, 0, total},
		{MethodFull, LoRA{}, total, total, 0},
		{MethodBias, LoRA{}, total, biases, total - biases},
		{MethodLoRA, LoRA{Rank: 8, Targets: []string{"q_proj", "v_proj"}}, total + adapter, adapter, total},
	} {
		c, err := Calculate(reference, tc.m, tc.l)
		if err != nil {
			t.Fatalf("%s: %v", tc.m, err)
		}
		if c.Total != tc.total || c.Trainable != tc.trainable || c.Frozen != tc.froze {
			t.Errorf("%s: (total, trainable, frozen) = (%d, %d, %d), want (%d, %d, %d)",
				tc.m, c.Total, c.Trainable, c.Frozen, tc.total, tc.trainable, tc.froze)
		}
	}
}

func TestLoRAPaperFigures(t *testing.T) {
	gpt3, _ := Preset("gpt3-175b")
	gpt2m, _ := Preset("gpt2-medium")
	const d = 12288 // GPT-3 d_model
	for _, tc := range []struct {
		name    string
		a       Arch
		l       LoRA
		formula int64   // layers × modules × r × (in + out)
		paper   float64 // figure as printed, in millions (0: none)
		tol     float64 // half a unit in the printed digit
	}{
		// Hu et al. 2021, Table 4: LoRA on W_q, W_v.
		{"table4 r=1 q,v", gpt3, LoRA{Rank: 1, Targets: []string{"q_proj", "v_proj"}}, 96 * 2 * 1 * (d + d), 4.7, 0.05},
		{"table4 r=8 q,v", gpt3, LoRA{Rank: 8, Targets: []string{"q_proj", "v_proj"}}, 96 * 2 * 8 * (d + d), 37.7, 0.05},
		// Section 7.1 / Table 5: one budget of "roughly 18M" is r=8 on one
		// attention type, r=4 on two, r=2 on all four (18,874,368 each).
		{"table5 r=8 q", gpt3, LoRA{Rank: 8, Targets: []string{"q_proj"}}, 96 * 1 * 8 * (d + d), 0, 0},
		{"table5 r=4 q,v", gpt3, LoRA{Rank: 4, Targets: []string{"q_proj", "v_proj"}}, 96 * 2 * 4 * (d + d), 0, 0},
		{"table5 r=2 q,k,v,o", gpt3, LoRA{Rank: 2, Targets: []string{"q_proj", "k_proj", "v_proj", "o_proj"}}, 96 * 4 * 2 * (d + d), 0, 0},
		// MLP modules are rectangular: up 4d×d, down d×4d, each r·5d.
		{"r=1 up,down", gpt3, LoRA{Rank: 1, Targets: []string{"up_proj", "down_proj"}}, 96 * 2 * 1 * (5 * d), 0, 0},
		// GPT-2 M, r=4 on q,v: 24·2·4·2048 = 393,216. Table 3 prints 0.35M;
		// the discrepancy is known (microsoft/LoRA issue #172), so only the
		// formula is checked.
		{"gpt2-m r=4 q,v", gpt2m, LoRA{Rank: 4, Targets: []string{"q_proj", "v_proj"}}, 24 * 2 * 4 * 2048, 0, 0},
	} {
		c, err := Calculate(tc.a, MethodLoRA, tc.l)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c.Trainable != tc.formula {
			t.Errorf("%s: trainable = %d, formula %d", tc.name, c.Trainable, tc.formula)
		}
		if tc.paper != 0 {
			if m := float64(c.Trainable) / 1e6; math.Abs(m-tc.paper) > tc.tol {
				t.Errorf("%s: %.2fM, paper %.1fM", tc.name, m, tc.paper)
			}
		}
		base := tensorSum(int64(tc.a.VocabSize), int64(tc.a.NCtx), int64(tc.a.NEmbd), int64(tc.a.NLayer))
		if c.Frozen != base || c.Total != base+tc.formula {
			t.Errorf("%s: frozen %d total %d, want %d and %d", tc.name, c.Frozen, c.Total, base, base+tc.formula)
		}
	}
	// The paper's headline examples are exact.
	c1, _ := Calculate(gpt3, MethodLoRA, LoRA{Rank: 1, Targets: []string{"q_proj", "v_proj"}})
	c8, _ := Calculate(gpt3, MethodLoRA, LoRA{Rank: 8, Targets: []string{"q_proj", "v_proj"}})
	if c1.Trainable != 4_718_592 || c8.Trainable != 37_748_736 {
		t.Errorf("GPT-3 q,v: r=1 %d r=8 %d, want 4,718,592 and 37,748,736", c1.Trainable, c8.Trainable)
	}
}

func TestBitFit(t *testing.T) {
	for _, a := range append(Presets(), reference) {
		c, err := Calculate(a, MethodBias, LoRA{})
		if err != nil {
			t.Fatal(err)
		}
		n := int64(a.NEmbd)
		// Enumerate the bias vectors of one block: q, k, v, o, up (4C),
		// down, ln_1, ln_2; then ln_f once.
		perBlock := []int64{n, n, n, n, 4 * n, n, n, n}
		var want int64
		for i := 0; i < a.NLayer; i++ {
			for _, b := range perBlock {
				want += b
			}
		}
		want += n
		if c.Trainable != want {
			t.Errorf("%s: bias params = %d, want %d", a.Name, c.Trainable, want)
		}
	}
	// GPT-2 small: 12·11·768 + 768 = 102,144, about 0.08% of 124M.
	a, _ := Preset("gpt2-small")
	if c, _ := Calculate(a, MethodBias, LoRA{}); c.Trainable != 102_144 {
		t.Errorf("gpt2-small bias params = %d, want 102,144", c.Trainable)
	}
}

func TestBytes(t *testing.T) {
	a, _ := Preset("gpt2-small")
	for _, tc := range []struct {
		m Method
		l LoRA
	}{
		{MethodFull, LoRA{}},
		{MethodBias, LoRA{}},
		{MethodNone, LoRA{}},
		{MethodLoRA, LoRA{Rank: 4, Targets: Modules()}},
	} {
		c, err := Calculate(a, tc.m, tc.l)
		if err != nil {
			t.Fatal(err)
		}
		if c.Total != c.Trainable+c.Frozen {
			t.Errorf("%s: total %d ≠ trainable %d + frozen %d", tc.m, c.Total, c.Trainable, c.Frozen)
		}
		if c.TrainableBytes != 4*c.Trainable || c.GradientBytes != 4*c.Trainable ||
			c.OptimizerBytes != 8*c.Trainable || c.WeightsBytes != 4*c.Total {
			t.Errorf("%s: bytes %+v do not match 4/4/8/4 per param", tc.m, c)
		}
	}
	// Full fine-tuning of GPT-2 small, worked out: 124,439,808 params ×
	// (4 weight + 4 grad + 8 Adam) = 1,991,036,928 bytes ≈ 1.99 GB.
	c, _ := Calculate(a, MethodFull, LoRA{})
	if got := c.WeightsBytes + c.GradientBytes + c.OptimizerBytes; got != 1_991_036_928 {
		t.Errorf("full fine-tune training state = %d bytes, want 1,991,036,928", got)
	}
}

func TestModuleShape(t *testing.T) {
	a := Arch{NEmbd: 10}
	for _, tc := range []struct {
		module  string
		out, in int
		ok      bool
	}{
		{"q_proj", 10, 10, true},
		{"k_proj", 10, 10, true},
		{"v_proj", 10, 10, true},
		{"o_proj", 10, 10, true},
		{"up_proj", 40, 10, true},
		{"down_proj", 10, 40, true},
		{"c_attn", 0, 0, false},
		{"", 0, 0, false},
	} {
		out, in, err := ModuleShape(a, tc.module)
		if (err == nil) != tc.ok || out != tc.out || in != tc.in {
			t.Errorf("ModuleShape(%q) = %d, %d, %v; want %d, %d, ok=%v", tc.module, out, in, err, tc.out, tc.in, tc.ok)
		}
	}
}

func TestRankFor(t *testing.T) {
	pattern := map[string]int{
		"q_proj":          16,
		"h.1.attn.q_proj": 2,
		"h.0.mlp.up_proj": 32,
	}
	for _, tc := range []struct {
		layer  int
		module string
		want   int
	}{
		{0, "q_proj", 16},  // short key
		{1, "q_proj", 2},   // full path beats short key
		{2, "q_proj", 16},  // full path is for layer 1 only
		{0, "up_proj", 32}, // full path with no short key
		{1, "up_proj", 8},  // default
		{0, "v_proj", 8},   // default
		{0, "down_proj", 8},
	} {
		if got := RankFor(pattern, tc.layer, tc.module, 8); got != tc.want {
			t.Errorf("RankFor(layer %d, %s) = %d, want %d", tc.layer, tc.module, got, tc.want)
		}
	}
	if got := RankFor(nil, 3, "k_proj", 5); got != 5 {
		t.Errorf("RankFor(nil) = %d, want 5", got)
	}
}

func TestRankPatternCount(t *testing.T) {
	// Reference model, q_proj r=8 by default but 2 in block 1; v_proj r=4.
	// q: (8 + 2)·256 = 2,560; v: 2·4·256 = 2,048; total 4,608.
	c, err := Calculate(reference, MethodLoRA, LoRA{
		Rank:        8,
		Targets:     []string{"q_proj", "v_proj"},
		RankPattern: map[string]int{"h.1.attn.q_proj": 2, "v_proj": 4},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Trainable != 4_608 {
		t.Errorf("trainable = %d, want 4,608", c.Trainable)
	}
	want := []struct {
		module string
		ranks  [2]int
		params int64
	}{{"q_proj", [2]int{8, 2}, 2_560}, {"v_proj", [2]int{4, 4}, 2_048}}
	if len(c.PerModule) != len(want) {
		t.Fatalf("PerModule has %d entries, want %d", len(c.PerModule), len(want))
	}
	for i, w := range want {
		p := c.PerModule[i]
		if p.Module != w.module || len(p.Ranks) != 2 || p.Ranks[0] != w.ranks[0] || p.Ranks[1] != w.ranks[1] || p.Params != w.params {
			t.Errorf("PerModule[%d] = %+v, want %s ranks %v params %d", i, p, w.module, w.ranks, w.params)
		}
	}
}

func TestErrors(t *testing.T) {
	qv := []string{"q_proj", "v_proj"}
	for _, tc := range []struct {
		name string
		a    Arch
		m    Method
		l    LoRA
		msg  string // substring of the error
	}{
		{"rank 0", reference, MethodLoRA, LoRA{Rank: 0, Targets: qv}, "rank must be ≥ 1"},
		{"negative rank", reference, MethodLoRA, LoRA{Rank: -3, Targets: qv}, "rank must be ≥ 1"},
		{"no targets", reference, MethodLoRA, LoRA{Rank: 8}, "at least one target"},
		{"unknown target", reference, MethodLoRA, LoRA{Rank: 8, Targets: []string{"c_attn"}}, `unknown LoRA target "c_attn"`},
		{"duplicate target", reference, MethodLoRA, LoRA{Rank: 8, Targets: []string{"q_proj", "q_proj"}}, "listed twice"},
		{"pattern rank 0", reference, MethodLoRA, LoRA{Rank: 8, Targets: qv, RankPattern: map[string]int{"q_proj": 0}}, "rank must be ≥ 1"},
		{"pattern bad key", reference, MethodLoRA, LoRA{Rank: 8, Targets: qv, RankPattern: map[string]int{"query": 4}}, `"query"`},
		{"pattern wrong group", reference, MethodLoRA, LoRA{Rank: 8, Targets: qv, RankPattern: map[string]int{"h.0.mlp.q_proj": 4}}, `"h.0.mlp.q_proj"`},
		{"pattern layer range", reference, MethodLoRA, LoRA{Rank: 8, Targets: qv, RankPattern: map[string]int{"h.2.attn.q_proj": 4}}, "out of range"},
		{"unknown method", reference, Method("adapter"), LoRA{}, `unknown method "adapter"`},
		{"bad arch", Arch{Name: "x", VocabSize: 1, NCtx: 1, NEmbd: 10, NHead: 3, NLayer: 1}, MethodFull, LoRA{}, "not divisible"},
		{"zero arch", Arch{}, MethodNone, LoRA{}, "must be ≥ 1"},
	} {
		_, err := Calculate(tc.a, tc.m, tc.l)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err = %v, want one containing %q", tc.name, err, tc.msg)
		}
	}
	if _, err := Preset("gpt4"); err == nil {
		t.Error("Preset(gpt4) succeeded")
	}
}

func TestPresetsRoundTrip(t *testing.T) {
	for _, a := range Presets() {
		b, err := Preset(a.Name)
		if err != nil || b != a {
			t.Errorf("Preset(%q) = %+v, %v", a.Name, b, err)
		}
		if err := a.Validate(); err != nil {
			t.Error(err)
		}
	}
}
