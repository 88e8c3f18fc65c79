package state

import (
	"slices"
	"strings"
	"testing"
)

func TestDefaultHasEmptyHashAndIsValid(t *testing.T) {
	d := Default()
	if h := d.Hash(); h != "" {
		t.Errorf("Default().Hash() = %q, want empty so a fresh page has a clean URL", h)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("Default() invalid: %v", err)
	}
}

func TestHashRoundTrip(t *testing.T) {
	mod := func(f func(*State)) State { s := Default(); f(&s); return s }
	cases := []struct {
		name string
		s    State
		hash string // expected encoding; "" means only check the round trip
	}{
		{"default", Default(), ""},
		{"rank 1", mod(func(s *State) { s.Rank = 1 }), "r=1"},
		{"rank 64 and alpha", mod(func(s *State) { s.Rank = 64; s.Alpha = 128 }), "r=64&alpha=128"},
		{"full fine-tune", mod(func(s *State) { s.Method = Full }), "method=full"},
		{"bitfit", mod(func(s *State) { s.Method = Bias }), "method=bias"},
		{"all targets", mod(func(s *State) { s.Targets = slices.Clone(Modules) }), "targets=q_proj%2Ck_proj%2Cv_proj%2Co_proj%2Cup_proj%2Cdown_proj"},
		{"no targets", mod(func(s *State) { s.Targets = nil }), "targets="},
		{"rslora dropout", mod(func(s *State) { s.RSLoRA = true; s.Dropout = 0.1 }), "rslora=1&dropout=0.1"},
		{"lr batch seed steps", mod(func(s *State) { s.LR = 3e-4; s.Batch = 16; s.Seed = -7; s.Steps = 500 }), "lr=0.0003&batch=16&seed=-7&steps=500"},
		{"tiny model custom text", mod(func(s *State) { s.Model = "tiny"; s.Task = CustomTask }), "model=tiny&task=custom"},
		{"classroom", mod(func(s *State) { s.Hide = []string{"method", "targets", "lr"} }), "hide=method%2Ctargets%2Clr"},
		{"awkward float", mod(func(s *State) { s.LR = 0.1 + 0.2 }), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := c.s.Hash()
			if c.hash != "" && h != c.hash {
				t.Errorf("Hash() = %q, want %q", h, c.hash)
			}
			got, problems := Parse("#" + h)
			if len(problems) > 0 {
				t.Errorf("Parse(%q) problems: %v", h, problems)
			}
			if !got.Equal(c.s) {
				t.Errorf("round trip changed state:\n got  %+v\n want %+v", got, c.s)
			}
			if h2 := got.Hash(); h2 != h {
				t.Errorf("second encoding %q differs from first %q", h2, h)
			}
		})
	}
}

func TestParseNormalisesOrderAndIgnoresUnknownKeys(t *testing.T) {
	s, problems := Parse("utm=x&targets=v_proj,q_proj,v_proj&hide=lr,rank")
	if len(problems) != 0 {
		t.Fatalf("problems: %v", problems)
	}
	if want := []string{"q_proj", "v_proj"}; !slices.Equal(s.Targets, want) {
		t.Errorf("Targets = %v, want %v (module order, no duplicates)", s.Targets, want)
	}
	if want := []string{"rank", "lr"}; !slices.Equal(s.Hide, want) {
		t.Errorf("Hide = %v, want %v (Controls order)", s.Hide, want)
	}
}

func TestParseReportsBadValuesAndKeepsDefaults(t *testing.T) {
	cases := []struct{ hash, key string }{
		{"r=0", "r"},
		{"r=65", "r"},
		{"r=eight", "r"},
		{"alpha=-1", "alpha"},
		{"alpha=NaN", "alpha"},
		{"lr=0", "lr"},
		{"lr=Inf", "lr"},
		{"batch=1000", "batch"},
		{"dropout=1", "dropout"},
		{"method=adapter", "method"},
		{"targets=q_proj,w_proj", "targets"},
		{"hide=everything", "hide"},
		{"model=../etc", "model"},
		{"task=a%2Fb", "task"},
		{"rslora=maybe", "rslora"},
		{"seed=1.5", "seed"},
		{"steps=0", "steps"},
	}
	for _, c := range cases {
		s, problems := Parse(c.hash)
		if len(problems) != 1 || !strings.Contains(problems[0], c.key+"=") {
			t.Errorf("Parse(%q) problems = %v, want one naming %s", c.hash, problems, c.key)
		}
		if !s.Equal(Default()) {
			t.Errorf("Parse(%q) = %+v, want the default kept", c.hash, s)
		}
	}
}

func TestSetTargetKeepsModuleOrder(t *testing.T) {
	s := Default()
	s.SetTarget("down_proj", true)
	s.SetTarget("k_proj", true)
	s.SetTarget("q_proj", false)
	if want := []string{"k_proj", "v_proj", "down_proj"}; !slices.Equal(s.Targets, want) {
		t.Errorf("Targets = %v, want %v", s.Targets, want)
	}
}

func TestNeedsRestart(t *testing.T) {
	base := Default()
	cases := []struct {
		name string
		f    func(*State)
		want []string
	}{
		{"learning rate and batch", func(s *State) { s.LR = 3e-3; s.Batch = 4 }, []string{"lr", "batch"}},
		{"schedule length", func(s *State) { s.Steps = 10 }, []string{"steps"}},
		{"classroom hiding applies live", func(s *State) { s.Hide = []string{"rank"} }, nil},
		{"rank", func(s *State) { s.Rank = 4 }, []string{"rank"}},
		{"targets and seed", func(s *State) { s.SetTarget("k_proj", true); s.Seed = 2 }, []string{"targets", "seed"}},
		{"method change ignores lora-only fields", func(s *State) { s.Method = Full; s.Rank = 2 }, []string{"method"}},
		{"model and task", func(s *State) { s.Model = "tiny"; s.Task = "verse" }, []string{"model", "task"}},
	}
	for _, c := range cases {
		s := base.Clone()
		c.f(&s)
		if got := s.NeedsRestart(base); !slices.Equal(got, c.want) {
			t.Errorf("%s: NeedsRestart = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestScale(t *testing.T) {
	s := Default() // α 16, r 8
	if got := s.Scale(); got != 2 {
		t.Errorf("α/r = %v, want 2", got)
	}
	s.RSLoRA, s.Rank = true, 16
	if got := s.Scale(); got != 4 {
		t.Errorf("α/√r = %v, want 4", got)
	}
}

func TestValidate(t *testing.T) {
	s := Default()
	s.Targets = nil
	if s.Validate() == nil {
		t.Error("LoRA without targets validated")
	}
	s.Method = Full
	if err := s.Validate(); err != nil {
		t.Errorf("full fine-tuning needs no targets: %v", err)
	}
}
