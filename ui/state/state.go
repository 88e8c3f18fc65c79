// Package state is the playground's configuration: one typed struct that
// is the single source of truth for every control on the page, and its
// round trip through the URL hash so that sharing a link shares the
// experiment.
//
// The hash looks like
//
//	#model=nano&task=e2e&method=lora&r=8&alpha=16&targets=q_proj,v_proj&lr=0.01&batch=8&seed=1
//
// Only values that differ from Default are written, so a fresh page has an
// empty hash and links stay short. Keys are written in a fixed order so the
// same configuration always gives the same link. Parse never fails: a
// value it cannot read falls back to its default and is reported, because a
// hand-edited or truncated link should still open the playground.
//
// Classroom mode (as in TensorFlow Playground) hides chosen controls: the
// key "hide" lists control names, e.g. "#hide=method,targets,lr", so a
// teacher can share a page where only the rank slider moves.
package state

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Method is how the model is fine-tuned. The values match core/params and
// the worker protocol.
type Method string

const (
	LoRA Method = "lora" // base frozen, low-rank adapters B·A train
	Full Method = "full" // every weight trains
	Bias Method = "bias" // BitFit: only bias vectors train
	// Adaptive is LoRA whose rank per matrix is chosen while training
	// (AdaLoRA): InitRank, TargetRank and PruneEvery set it up; α, dropout
	// and targets are LoRA's.
	Adaptive Method = "adaptive"
)

// Methods lists the choices in the order the method selector shows them.
var Methods = []Method{LoRA, Full, Bias, Adaptive}

// Modules are the six linear layers of a block that LoRA can adapt, in the
// order they run.
var Modules = []string{"q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj"}

// CustomTask is the task name of "your own text" (pasted or uploaded).
const CustomTask = "custom"

// Limits of the controls. Rank is capped at 64 because the largest shipped
// model is 128 wide: beyond that B·A is no longer low rank.
const (
	MinRank, MaxRank = 1, 64
	MinBatch         = 1
	MaxBatch         = 64
	MaxAlpha         = 1024
	MaxDropout       = 0.9
	MinLR, MaxLR     = 1e-6, 1.0
	MinSteps         = 1
	MaxSteps         = 100000
)

// State is every user-visible setting. The zero value is not valid; start
// from Default.
type State struct {
	Model   string  // base model directory name under models/, e.g. "nano"
	Task    string  // dataset directory under datasets/, or CustomTask
	Method  Method  // lora, full or bias
	Rank    int     // LoRA rank r, MinRank..MaxRank
	Alpha   float64 // LoRA α; the update is scaled by α/r (α/√r with RSLoRA)
	RSLoRA  bool    // rank-stabilised scaling α/√r (Kalajdzievski 2023)
	Dropout float64 // LoRA dropout on the adapter's input, 0..MaxDropout
	Targets []string
	LR      float64 // AdamW learning rate
	Batch   int     // sequences per step
	Seed    int64   // seeds adapter init, batch order and dropout
	Steps   int     // schedule length: warmup then cosine decay to here, where play stops
	// Workers is how many Web Workers train data-parallel, 1..MaxWorkers,
	// or 0 for as many as the device has cores (see WorkerCount). It
	// changes speed, not results, so changing it keeps the run.
	Workers int

	// Adaptive rank (method adaptive): every matrix starts at InitRank and
	// pruning every PruneEvery steps leaves TargetRank per matrix on average.
	InitRank, TargetRank, PruneEvery int

	// Hide lists controls hidden in classroom mode (see Controls).
	Hide []string
}

// Controls names every control classroom mode can hide. The names are also
// the controls' data-testid values where the issue fixes them.
var Controls = []string{"model", "task", "method", "rank", "alpha", "rslora", "dropout", "targets", "lr", "batch", "seed", "steps", "workers"}

// Default is the configuration of a fresh page: LoRA r=8 on q and v, as in
// the LoRA paper's main GPT-3 experiment.
func Default() State {
	return State{
		Model:   "nano",
		Task:    "e2e",
		Method:  LoRA,
		Rank:    8,
		Alpha:   16,
		Dropout: 0,
		Targets: []string{"q_proj", "v_proj"},
		LR:      1e-2, // measured best of 3e-3 and 1e-2 for LoRA r=8 on e2e (models-tiny/RESULTS.md)
		Batch:   8,
		Seed:    1,
		Steps:   2000,

		InitRank: 12, TargetRank: 4, PruneEvery: 10,
	}
}

// LoRALike reports whether the method trains LoRA adapters (lora or
// adaptive), so α, dropout and targets apply.
func (s State) LoRALike() bool { return s.Method == LoRA || s.Method == Adaptive }

// Scale is the factor multiplying B·A: α/r, or α/√r with RSLoRA.
func (s State) Scale() float64 {
	if s.RSLoRA {
		return s.Alpha / math.Sqrt(float64(s.Rank))
	}
	return s.Alpha / float64(s.Rank)
}

// Hidden reports whether classroom mode hides control.
func (s State) Hidden(control string) bool { return slices.Contains(s.Hide, control) }

// HasTarget reports whether module is adapted.
func (s State) HasTarget(module string) bool { return slices.Contains(s.Targets, module) }

// SetTarget adds or removes module, keeping Targets in Modules order so that
// equal configurations compare and encode equally.
func (s *State) SetTarget(module string, on bool) {
	var t []string
	for _, m := range Modules {
		if (m == module && on) || (m != module && s.HasTarget(m)) {
			t = append(t, m)
		}
	}
	s.Targets = t
}

// Clone returns a deep copy (the slices are not shared).
func (s State) Clone() State {
	s.Targets = slices.Clone(s.Targets)
	s.Hide = slices.Clone(s.Hide)
	return s
}

// Equal reports whether two states describe the same page.
func (s State) Equal(o State) bool {
	return s.Model == o.Model && s.Task == o.Task && s.Method == o.Method && s.Rank == o.Rank &&
		s.Alpha == o.Alpha && s.RSLoRA == o.RSLoRA && s.Dropout == o.Dropout &&
		slices.Equal(s.Targets, o.Targets) && s.LR == o.LR && s.Batch == o.Batch &&
		s.Seed == o.Seed && s.Steps == o.Steps && s.Workers == o.Workers && slices.Equal(s.Hide, o.Hide) &&
		s.InitRank == o.InitRank && s.TargetRank == o.TargetRank && s.PruneEvery == o.PruneEvery
}

// Validate reports the first setting that cannot be trained.
func (s State) Validate() error {
	switch {
	case s.Model == "":
		return fmt.Errorf("no base model chosen")
	case s.Task == "":
		return fmt.Errorf("no task chosen")
	case !slices.Contains(Methods, s.Method):
		return fmt.Errorf("unknown method %q", s.Method)
	case s.Rank < MinRank || s.Rank > MaxRank:
		return fmt.Errorf("rank %d is outside %d–%d", s.Rank, MinRank, MaxRank)
	case !(s.Alpha > 0 && s.Alpha <= MaxAlpha):
		return fmt.Errorf("α %g is outside (0, %d]", s.Alpha, MaxAlpha)
	case !(s.Dropout >= 0 && s.Dropout <= MaxDropout):
		return fmt.Errorf("dropout %g is outside 0–%g", s.Dropout, MaxDropout)
	case s.LoRALike() && len(s.Targets) == 0:
		return fmt.Errorf("LoRA needs at least one target module")
	case s.InitRank < MinRank || s.InitRank > MaxRank:
		return fmt.Errorf("initial rank %d is outside %d–%d", s.InitRank, MinRank, MaxRank)
	case s.TargetRank < 1 || s.TargetRank > s.InitRank:
		return fmt.Errorf("target rank %d is outside 1–%d (the initial rank)", s.TargetRank, s.InitRank)
	case s.PruneEvery < 1 || s.PruneEvery > MaxSteps:
		return fmt.Errorf("pruning interval %d is outside 1–%d", s.PruneEvery, MaxSteps)
	case !(s.LR >= MinLR && s.LR <= MaxLR):
		return fmt.Errorf("learning rate %g is outside %g–%g", s.LR, MinLR, MaxLR)
	case s.Batch < MinBatch || s.Batch > MaxBatch:
		return fmt.Errorf("batch %d is outside %d–%d", s.Batch, MinBatch, MaxBatch)
	case s.Steps < MinSteps || s.Steps > MaxSteps:
		return fmt.Errorf("steps %d is outside %d–%d", s.Steps, MinSteps, MaxSteps)
	case s.Workers < 0 || s.Workers > MaxWorkers:
		return fmt.Errorf("workers %d is outside 1–%d (0 for automatic)", s.Workers, MaxWorkers)
	}
	for _, t := range s.Targets {
		if !slices.Contains(Modules, t) {
			return fmt.Errorf("unknown target module %q", t)
		}
	}
	return nil
}

// NeedsRestart reports which changed settings from old to s cannot be
// applied to a run in progress, in Controls order. Every training setting
// does: they decide which numbers train, how they start, the data and the
// learning-rate schedule, and a curve whose settings changed half-way
// cannot be compared with another run's. (The worker protocol also starts a
// fresh run on every configure.) Only classroom hiding applies at once, and
// LoRA-only settings are ignored when either side is not LoRA.
func (s State) NeedsRestart(old State) []string {
	var r []string
	add := func(changed bool, name string) {
		if changed {
			r = append(r, name)
		}
	}
	add(s.Model != old.Model, "model")
	add(s.Task != old.Task, "task")
	add(s.Method != old.Method, "method")
	lora := s.Method == LoRA && old.Method == LoRA
	add(lora && s.Rank != old.Rank, "rank")
	adaptive := s.Method == Adaptive && old.Method == Adaptive
	add(adaptive && (s.InitRank != old.InitRank || s.TargetRank != old.TargetRank || s.PruneEvery != old.PruneEvery), "adaptive")
	lora = s.LoRALike() && old.LoRALike()
	add(lora && s.Alpha != old.Alpha, "alpha")
	add(lora && s.RSLoRA != old.RSLoRA, "rslora")
	add(lora && s.Dropout != old.Dropout, "dropout")
	add(lora && !slices.Equal(s.Targets, old.Targets), "targets")
	add(s.LR != old.LR, "lr")
	add(s.Batch != old.Batch, "batch")
	add(s.Seed != old.Seed, "seed")
	add(s.Steps != old.Steps, "steps")
	return r
}

// Hash encodes s as a URL fragment without the leading '#', writing only
// values that differ from Default, in a fixed key order.
func (s State) Hash() string {
	d := Default()
	var kv []string
	put := func(differs bool, key, val string) {
		if differs {
			kv = append(kv, key+"="+url.QueryEscape(val))
		}
	}
	put(s.Model != d.Model, "model", s.Model)
	put(s.Task != d.Task, "task", s.Task)
	put(s.Method != d.Method, "method", string(s.Method))
	put(s.Rank != d.Rank, "r", strconv.Itoa(s.Rank))
	put(s.Alpha != d.Alpha, "alpha", formatFloat(s.Alpha))
	put(s.RSLoRA != d.RSLoRA, "rslora", formatBool(s.RSLoRA))
	put(s.Dropout != d.Dropout, "dropout", formatFloat(s.Dropout))
	put(!slices.Equal(s.Targets, d.Targets), "targets", strings.Join(s.Targets, ","))
	put(s.LR != d.LR, "lr", formatFloat(s.LR))
	put(s.Batch != d.Batch, "batch", strconv.Itoa(s.Batch))
	put(s.Seed != d.Seed, "seed", strconv.FormatInt(s.Seed, 10))
	put(s.Steps != d.Steps, "steps", strconv.Itoa(s.Steps))
	put(s.InitRank != d.InitRank, "r0", strconv.Itoa(s.InitRank))
	put(s.TargetRank != d.TargetRank, "rt", strconv.Itoa(s.TargetRank))
	put(s.PruneEvery != d.PruneEvery, "every", strconv.Itoa(s.PruneEvery))
	put(s.Workers != d.Workers, "workers", strconv.Itoa(s.Workers))
	put(len(s.Hide) > 0, "hide", strings.Join(s.Hide, ","))
	return strings.Join(kv, "&")
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func formatBool(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Parse reads a URL fragment (with or without '#'). Keys it does not know
// are ignored; values it cannot use keep their default and are returned as
// problems, one sentence each, for the page to show.
func Parse(hash string) (State, []string) {
	s := Default()
	var problems []string
	bad := func(key, val, why string) {
		problems = append(problems, fmt.Sprintf("link setting %s=%q ignored: %s", key, val, why))
	}
	vals, err := url.ParseQuery(strings.TrimPrefix(hash, "#"))
	if err != nil {
		problems = append(problems, "part of the link could not be read: "+err.Error())
	}
	for key, vs := range vals {
		val := vs[len(vs)-1]
		switch key {
		case "model", "task":
			if !validName(val) {
				bad(key, val, "names use letters, digits, '-' and '_'")
			} else if key == "model" {
				s.Model = val
			} else {
				s.Task = val
			}
		case "method":
			if m := Method(val); slices.Contains(Methods, m) {
				s.Method = m
			} else {
				bad(key, val, "use lora, full, bias or adaptive")
			}
		case "r":
			if n, err := strconv.Atoi(val); err == nil && n >= MinRank && n <= MaxRank {
				s.Rank = n
			} else {
				bad(key, val, fmt.Sprintf("rank is a whole number %d–%d", MinRank, MaxRank))
			}
		case "alpha":
			if f, err := strconv.ParseFloat(val, 64); err == nil && f > 0 && f <= MaxAlpha {
				s.Alpha = f
			} else {
				bad(key, val, fmt.Sprintf("α is a number in (0, %d]", MaxAlpha))
			}
		case "rslora":
			if b, err := strconv.ParseBool(val); err == nil {
				s.RSLoRA = b
			} else {
				bad(key, val, "use 0 or 1")
			}
		case "dropout":
			if f, err := strconv.ParseFloat(val, 64); err == nil && f >= 0 && f <= MaxDropout {
				s.Dropout = f
			} else {
				bad(key, val, fmt.Sprintf("dropout is between 0 and %g", MaxDropout))
			}
		case "targets":
			t, ok := parseList(val, Modules)
			if ok {
				s.Targets = t
			} else {
				bad(key, val, "targets are from "+strings.Join(Modules, ","))
			}
		case "lr":
			if f, err := strconv.ParseFloat(val, 64); err == nil && f >= MinLR && f <= MaxLR {
				s.LR = f
			} else {
				bad(key, val, fmt.Sprintf("learning rate is between %g and %g", MinLR, MaxLR))
			}
		case "batch":
			if n, err := strconv.Atoi(val); err == nil && n >= MinBatch && n <= MaxBatch {
				s.Batch = n
			} else {
				bad(key, val, fmt.Sprintf("batch is a whole number %d–%d", MinBatch, MaxBatch))
			}
		case "seed":
			if n, err := strconv.ParseInt(val, 10, 64); err == nil {
				s.Seed = n
			} else {
				bad(key, val, "seed is a whole number")
			}
		case "steps":
			if n, err := strconv.Atoi(val); err == nil && n >= MinSteps && n <= MaxSteps {
				s.Steps = n
			} else {
				bad(key, val, fmt.Sprintf("steps is a whole number %d–%d", MinSteps, MaxSteps))
			}
		case "r0", "rt", "every":
			n, err := strconv.Atoi(val)
			switch {
			case key == "r0" && err == nil && n >= MinRank && n <= MaxRank:
				s.InitRank = n
			case key == "rt" && err == nil && n >= MinRank && n <= MaxRank:
				s.TargetRank = n
			case key == "every" && err == nil && n >= 1 && n <= MaxSteps:
				s.PruneEvery = n
			default:
				bad(key, val, fmt.Sprintf("a whole number %d–%d", 1, map[string]int{"r0": MaxRank, "rt": MaxRank, "every": MaxSteps}[key]))
			}
		case "workers":
			if n, err := strconv.Atoi(val); err == nil && n >= 0 && n <= MaxWorkers {
				s.Workers = n
			} else if val == "auto" {
				s.Workers = 0
			} else {
				bad(key, val, fmt.Sprintf("workers is a whole number 1–%d, or 0 for automatic", MaxWorkers))
			}
		case "hide":
			if h, ok := parseList(val, Controls); ok {
				s.Hide = h
			} else {
				bad(key, val, "hide lists controls from "+strings.Join(Controls, ","))
			}
		}
	}
	if s.TargetRank > s.InitRank {
		problems = append(problems, fmt.Sprintf("link setting rt=%d lowered to r0=%d: the target rank cannot exceed the initial rank", s.TargetRank, s.InitRank))
		s.TargetRank = s.InitRank
	}
	// Map iteration order is random; sort problems so the page is stable.
	slices.Sort(problems)
	return s, problems
}

// parseList splits a comma list, keeps only names in allowed, and returns
// them in allowed's order without duplicates. ok is false if any name is
// unknown. An empty string is a valid empty list.
func parseList(val string, allowed []string) ([]string, bool) {
	if val == "" {
		return nil, true
	}
	for _, p := range strings.Split(val, ",") {
		if !slices.Contains(allowed, p) {
			return nil, false
		}
	}
	var out []string
	parts := strings.Split(val, ",")
	for _, a := range allowed {
		if slices.Contains(parts, a) {
			out = append(out, a)
		}
	}
	return out, true
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
