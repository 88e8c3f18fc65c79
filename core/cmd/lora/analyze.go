package main

// lora analyze subspace|amplify and lora combine: the LoRA paper's §7
// analyses (core/analysis) on adapters saved by lora train or by PEFT.

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lora-playground/lora-playground/core/analysis"
	"github.com/lora-playground/lora-playground/core/peft"
)

func init() {
	commands = append(commands,
		command{"analyze", "the paper's §7 analyses of adapters: 'analyze subspace' (φ, Eq. 4) and 'analyze amplify' (Table 7)", cmdAnalyze},
		command{"combine", "blend two adapters into one (PEFT's cat: exact, ranks add; linear: same rank)", cmdCombine})
}

func cmdAnalyze(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"which analysis? 'lora analyze subspace --a1 X --a2 Y' or 'lora analyze amplify --adapter X'"}
	}
	switch args[0] {
	case "subspace":
		return cmdSubspace(args[1:], stdout, stderr)
	case "amplify":
		return cmdAmplify(args[1:], stdout, stderr)
	}
	return usageError{fmt.Sprintf("unknown analysis %q; use subspace or amplify", args[0])}
}

func cmdSubspace(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("analyze subspace", stderr)
	a1 := fs.String("a1", "", "first adapter (directory or .zip)")
	a2 := fs.String("a2", "", "second adapter (directory or .zip)")
	module := fs.String("module", "", "module path, e.g. h.0.attn.q_proj (default: the first both adapt)")
	seed := fs.Uint64("seed", 1, "seed of the random-Gaussian baseline")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	for _, r := range [][2]string{{"a1", *a1}, {"a2", *a2}} {
		if err := required(r[0], r[1]); err != nil {
			return err
		}
	}
	x, err := loadNamed(*a1)
	if err != nil {
		return err
	}
	y, err := loadNamed(*a2)
	if err != nil {
		return err
	}
	rep, err := analysis.CompareAdapters(x, y, *module, *seed)
	if err != nil {
		return err
	}
	return emit(stdout, *asJSON, rep, func() {
		fmt.Fprintf(stdout, "subspace similarity φ(A₁, A₂, i, j) of %s (k = %d): rows i = 1..%d of A₁, columns j = 1..%d of A₂\n",
			rep.Module, rep.Phi.K, rep.Phi.R1, rep.Phi.R2)
		printGrid(stdout, rep.Phi)
		fmt.Fprintf(stdout, "random-Gaussian baseline of the same shapes (mean max(i,j)/k):\n")
		printGrid(stdout, rep.Baseline)
		fmt.Fprintf(stdout, "top directions: φ(1,1) = %.3f; random pair %.3f, expected 1/k = %.3f\n", rep.Top, rep.TopRandom, rep.ExpectedRandom)
		fmt.Fprintf(stdout, "paper (GPT-3, A_r=8 vs A_r=64): φ(1,1) > 0.5 while the other directions look random\n")
	})
}

// printGrid prints φ with two decimals, at most 16 columns.
func printGrid(w io.Writer, s analysis.Similarity) {
	cols := min(s.R2, 16)
	fmt.Fprintf(w, "%6s", "i\\j")
	for j := 1; j <= cols; j++ {
		fmt.Fprintf(w, "%6d", j)
	}
	if cols < s.R2 {
		fmt.Fprintf(w, "  … (%d columns; --json has all)", s.R2)
	}
	fmt.Fprintln(w)
	for i := 1; i <= s.R1; i++ {
		fmt.Fprintf(w, "%6d", i)
		for j := 1; j <= cols; j++ {
			fmt.Fprintf(w, "%6.2f", s.At(i, j))
		}
		fmt.Fprintln(w)
	}
}

type amplifyReport struct {
	Adapter string                        `json:"adapter"`
	Model   string                        `json:"model"`
	Layers  []analysis.LayerAmplification `json:"layers"`
	// Paper is Table 7 of the paper (GPT-3 175B, layer 48, W_q) for comparison.
	Paper []analysis.Amplification `json:"paper"`
}

func cmdAmplify(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("analyze amplify", stderr)
	adapter := fs.String("adapter", "", "the adapter (directory or .zip)")
	base := fs.String("base", "", "base model: a directory, or nano/tiny (models-tiny/NAME); default: the adapter's base_model_name_or_path")
	modelDir := fs.String("model", "", "same as --base")
	seed := fs.Uint64("seed", 1, "seed of the random orthonormal directions")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required("adapter", *adapter); err != nil {
		return err
	}
	a, err := loadNamed(*adapter)
	if err != nil {
		return err
	}
	name := *base
	if name == "" {
		name = *modelDir
	}
	if name == "" {
		name = a.Config.BaseModelNameOrPath
		if name == "" {
			return usageError{"the adapter does not name its base model; give --base DIR"}
		}
	}
	dir, err := resolveModel(name)
	if err != nil {
		return err
	}
	m, err := loadModel(dir, *adapter)
	if err != nil {
		return err
	}
	layers, err := analysis.AmplifyModel(m, *seed)
	if err != nil {
		return err
	}
	rep := amplifyReport{Adapter: *adapter, Model: dir, Layers: layers, Paper: analysis.PaperTable7}
	return emit(stdout, *asJSON, rep, func() {
		fmt.Fprintf(stdout, "‖UᵀWV‖_F with U, V the top-r singular vectors of ΔW, of W, and random (paper Table 7)\n")
		fmt.Fprintf(stdout, "%-18s %3s %9s %9s %9s %9s %9s %8s\n", "module", "r", "‖W‖", "‖ΔW‖", "ΔW dirs", "W dirs", "random", "factor")
		row := func(name string, a analysis.Amplification) {
			fmt.Fprintf(stdout, "%-18s %3d %9.3f %9.4f %9.4f %9.3f %9.4f %8.2f\n", name, a.R, a.NormW, a.NormDelta, a.ProjDelta, a.ProjW, a.ProjRandom, a.Factor)
		}
		for _, l := range layers {
			row(l.Module, l.Amplification)
		}
		for _, p := range analysis.PaperTable7 {
			row("paper GPT-3 L48 q", p)
		}
		fmt.Fprintln(stdout, "factor = ‖ΔW‖ / ‖U_ΔWᵀ W V_ΔW‖: how much ΔW amplifies directions W has but does not emphasise")
	})
}

// resolveModel turns a model name into its directory: an existing
// directory as is; "nano", "tiny" or "lora-playground/nano" as
// models-tiny/<name>, looked for here and in the parent directories.
func resolveModel(name string) (string, error) {
	if st, err := os.Stat(name); err == nil && st.IsDir() {
		return name, nil
	}
	short := name[strings.LastIndexByte(name, '/')+1:]
	dir, _ := os.Getwd()
	for range 6 {
		p := filepath.Join(dir, "models-tiny", short)
		if _, err := os.Stat(filepath.Join(p, "config.json")); err == nil {
			return p, nil
		}
		dir = filepath.Dir(dir)
	}
	return "", fmt.Errorf("base model %q: no such directory, and no models-tiny/%s here or above; give --base DIR", name, short)
}

func loadNamed(path string) (*peft.Adapter, error) {
	a, err := loadAdapter(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", filepath.Clean(path), err)
	}
	return a, nil
}

type combineReport struct {
	Method  string                 `json:"method"`
	Weights []float64              `json:"weights"`
	Out     string                 `json:"out"`
	Modules []analysis.ModuleError `json:"modules"`
}

func cmdCombine(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("combine", stderr)
	a := fs.String("a", "", "first adapter (directory or .zip)")
	b := fs.String("b", "", "second adapter (directory or .zip)")
	weights := fs.String("weights", "0.5,0.5", "one weight per adapter, comma-separated")
	method := fs.String("method", "cat", "cat (exact: ΔW = Σ wᵢΔWᵢ, rank Σ rᵢ) or linear (PEFT's mix of A and B; equal ranks)")
	out := fs.String("out", "", "output: adapter directory, or a .zip")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	for _, r := range [][2]string{{"a", *a}, {"b", *b}, {"out", *out}} {
		if err := required(r[0], r[1]); err != nil {
			return err
		}
	}
	var ws []float64
	for _, f := range strings.Split(*weights, ",") {
		w, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return usageError{fmt.Sprintf("--weights: %q is not a number", f)}
		}
		ws = append(ws, w)
	}
	if len(ws) != 2 {
		return usageError{fmt.Sprintf("--weights: %d weights for 2 adapters", len(ws))}
	}
	x, err := loadNamed(*a)
	if err != nil {
		return err
	}
	y, err := loadNamed(*b)
	if err != nil {
		return err
	}
	in := []*peft.Adapter{x, y}
	c, err := analysis.Combine(in, ws, analysis.Method(*method))
	if err != nil {
		return err
	}
	exact, err := analysis.ExactDelta(in, ws)
	if err != nil {
		return err
	}
	errs, err := analysis.Compare(c, exact)
	if err != nil {
		return err
	}
	if strings.HasSuffix(*out, ".zip") {
		buf, err := peft.EncodeArchive(c)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*out, buf, 0o644); err != nil {
			return err
		}
	} else if err := peft.SaveDir(*out, c); err != nil {
		return err
	}
	rep := combineReport{Method: *method, Weights: ws, Out: *out, Modules: errs}
	return emit(stdout, *asJSON, rep, func() {
		fmt.Fprintf(stdout, "%-18s %4s %10s %10s %10s\n", "module", "r", "‖Σ wᵢΔWᵢ‖", "‖ΔW‖", "rel. error")
		for _, e := range errs {
			fmt.Fprintf(stdout, "%-18s %4d %10.4f %10.4f %10.2e\n", e.Module, e.R, e.Exact, e.Got, e.RelErr)
		}
		fmt.Fprintf(stdout, "saved to %s\n", *out)
	})
}
