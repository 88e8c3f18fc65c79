package lora

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{Rank: 8, Alpha: 16, Targets: []string{"q_proj", "v_proj"}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		mut  func(*Config)
		want string
	}{
		{"rank 0", func(c *Config) { c.Rank = 0 }, "rank must be at least 1"},
		{"negative alpha", func(c *Config) { c.Alpha = -1 }, "alpha"},
		{"NaN alpha", func(c *Config) { c.Alpha = math.NaN() }, "alpha"},
		{"dropout 1", func(c *Config) { c.Dropout = 1 }, "dropout"},
		{"no targets", func(c *Config) { c.Targets = nil }, "no target modules"},
		{"unknown target", func(c *Config) { c.Targets = []string{"c_attn"} }, `unknown target module "c_attn"`},
		{"bad rank pattern", func(c *Config) { c.RankPattern = map[string]int{"q_proj": 0} }, "rank_pattern"},
		{"bad init", func(c *Config) { c.Init = "pissa" }, "unknown init"},
	} {
		cfg := ok
		c.mut(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

func TestScale(t *testing.T) {
	if s := Scale(16, 8, false); s != 2 {
		t.Errorf("α/r = %v, want 2", s)
	}
	if s := Scale(16, 4, true); s != 8 {
		t.Errorf("α/√r = %v, want 8", s)
	}
}

func TestPatternPrecedence(t *testing.T) {
	c := Config{Rank: 8, Alpha: 16, RankPattern: map[string]int{"q_proj": 4, "h.1.attn.q_proj": 2}, AlphaPattern: map[string]float64{"v_proj": 3}}
	for _, tc := range []struct {
		path, mod string
		r         int
		alpha     float64
	}{
		{"h.0.attn.q_proj", "q_proj", 4, 16},
		{"h.1.attn.q_proj", "q_proj", 2, 16},
		{"h.0.attn.v_proj", "v_proj", 8, 3},
	} {
		if r := c.RankFor(tc.path, tc.mod); r != tc.r {
			t.Errorf("RankFor(%s) = %d, want %d", tc.path, r, tc.r)
		}
		if a := c.AlphaFor(tc.path, tc.mod); a != tc.alpha {
			t.Errorf("AlphaFor(%s) = %v, want %v", tc.path, a, tc.alpha)
		}
	}
}

func TestInitialisation(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	in := 256
	a := NewAdapter("h.0.attn.q_proj", 8, in, 64, 2, 0, InitDefault, r)
	bound := 1 / math.Sqrt(float64(in))
	var sq float64
	for _, v := range a.A {
		if math.Abs(float64(v)) > bound {
			t.Fatalf("Kaiming-uniform A value %v outside ±%v", v, bound)
		}
		sq += float64(v) * float64(v)
	}
	// U(-b, b) has variance b²/3.
	if v := sq / float64(len(a.A)); math.Abs(v-bound*bound/3) > 0.1*bound*bound/3 {
		t.Errorf("A variance %v, want ≈ %v", v, bound*bound/3)
	}
	for _, v := range a.B {
		if v != 0 {
			t.Fatal("B must start at zero")
		}
	}
	g := NewAdapter("x", 16, in, 64, 1, 0, InitGaussian, r)
	sq = 0
	for _, v := range g.A {
		sq += float64(v) * float64(v)
	}
	if v := sq / float64(len(g.A)); math.Abs(v-1.0/16) > 0.1/16 {
		t.Errorf("gaussian A variance %v, want ≈ 1/r = %v", v, 1.0/16)
	}
}

// The forward pass must equal x·ΔWᵀ with ΔW = s·B·A computed directly.
func TestForwardEqualsDeltaW(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	N, in, out, rank := 5, 7, 6, 3
	a := NewAdapter("m", rank, in, out, 1.5, 0, InitDefault, r)
	for i := range a.B {
		a.B[i] = float32(r.NormFloat64())
	}
	x := make([]float32, N*in)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	y := make([]float32, N*out)
	a.Forward(y, x, N, false, nil)
	dw := make([]float32, out*in)
	a.DeltaW(dw)
	for n := 0; n < N; n++ {
		for o := 0; o < out; o++ {
			var s float64
			for i := 0; i < in; i++ {
				s += float64(x[n*in+i]) * float64(dw[o*in+i])
			}
			if math.Abs(s-float64(y[n*out+o])) > 1e-4 {
				t.Fatalf("y[%d,%d] = %v, x·ΔWᵀ = %v", n, o, y[n*out+o], s)
			}
		}
	}
	if a.NumParams() != rank*(in+out) {
		t.Fatal("NumParams")
	}
}
