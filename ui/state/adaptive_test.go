package state

import (
	"slices"
	"strings"
	"testing"
)

// The adaptive-rank settings round-trip through the hash, and only when
// they differ from the defaults.
func TestAdaptiveHashRoundTrip(t *testing.T) {
	for _, c := range []struct {
		name string
		mut  func(*State)
		hash string
	}{
		{"method only", func(s *State) { s.Method = Adaptive }, "method=adaptive"},
		{"fast schedule", func(s *State) { s.Method = Adaptive; s.InitRank, s.TargetRank, s.PruneEvery = 8, 2, 2 }, "method=adaptive&r0=8&rt=2&every=2"},
		{"kept under lora", func(s *State) { s.TargetRank = 6 }, "rt=6"},
	} {
		s := Default()
		c.mut(&s)
		if h := s.Hash(); h != c.hash {
			t.Errorf("%s: Hash() = %q, want %q", c.name, h, c.hash)
		}
		got, problems := Parse(s.Hash())
		if len(problems) > 0 || !got.Equal(s) || got.Validate() != nil {
			t.Errorf("%s: round trip %+v, problems %v", c.name, got, problems)
		}
	}
}

func TestAdaptiveBadLinkValues(t *testing.T) {
	s, problems := Parse("method=adaptive&r0=0&rt=x&every=-1")
	d := Default()
	if s.Method != Adaptive || s.InitRank != d.InitRank || s.TargetRank != d.TargetRank || s.PruneEvery != d.PruneEvery || len(problems) != 3 {
		t.Errorf("state %+v, problems %v", s, problems)
	}
	// A target above the initial rank is lowered to it, with a note.
	s, problems = Parse("r0=3&rt=5")
	if s.InitRank != 3 || s.TargetRank != 3 || len(problems) != 1 || !strings.Contains(problems[0], "cannot exceed") {
		t.Errorf("r0=3&rt=5 gave %d/%d, %v", s.InitRank, s.TargetRank, problems)
	}
	bad := Default()
	bad.Method, bad.TargetRank = Adaptive, 20
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "target rank") {
		t.Errorf("Validate of target 20 > 12: %v", err)
	}
}

func TestAdaptiveNeedsRestart(t *testing.T) {
	a := Default()
	a.Method = Adaptive
	b := a
	b.TargetRank, b.Alpha = 2, 8
	if got := b.NeedsRestart(a); !slices.Equal(got, []string{"adaptive", "alpha"}) {
		t.Errorf("NeedsRestart = %v, want [adaptive alpha]", got)
	}
	// Adaptive settings do not matter to a LoRA run.
	l := Default()
	l2 := l
	l2.PruneEvery = 3
	if got := l2.NeedsRestart(l); len(got) != 0 {
		t.Errorf("LoRA run asked to restart for %v", got)
	}
}
