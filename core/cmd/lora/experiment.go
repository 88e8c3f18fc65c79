package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lora-playground/lora-playground/core/data"
	"github.com/lora-playground/lora-playground/core/experiment"
	"github.com/lora-playground/lora-playground/core/experiment/paper"
	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/train"
)

// experimentReport is what experiment prints with --json.
type experimentReport struct {
	Experiment string             `json:"experiment"` // "targets" (paper Table 5) or "ranks" (Table 6)
	Model      string             `json:"model"`
	Task       string             `json:"task"`
	Budget     int                `json:"budget,omitempty"` // targets: trainable parameters of every run
	Config     experiment.Config  `json:"config"`
	Runs       []experimentResult `json:"runs"`
	Citation   string             `json:"paper"`
	WallSecs   float64            `json:"wall_seconds"`
}

// experimentResult is a run's result with the paper's GPT-3 numbers for
// the same choice, where the paper has them.
type experimentResult struct {
	experiment.Result
	PaperWikiSQL  *float64 `json:"paper_wikisql,omitempty"`
	PaperMultiNLI *float64 `json:"paper_multinli,omitempty"`
}

func cmdExperiment(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "targets" && args[0] != "ranks") {
		return usageError{"want 'lora experiment targets' (which weights, paper Table 5) or 'lora experiment ranks' (rank sweep, Table 6)"}
	}
	kind := args[0]
	fs := newFlags("experiment "+kind, stderr)
	base := fs.String("base", "nano", "base model: a name under models-tiny/ or a model directory")
	taskName := fs.String("task", "e2e", "task: a name under assets/datasets/ or a task directory")
	d := experiment.DefaultConfig()
	steps := fs.Int("steps", d.Steps, "optimisation steps per run")
	lr := fs.Float64("lr", d.LR, "peak learning rate of the LoRA runs")
	fullLR := fs.Float64("full-lr", d.FullLR, "peak learning rate of full fine-tuning")
	alpha := fs.Float64("alpha", d.Alpha, "LoRA alpha, the same for every rank (scale alpha/r)")
	batch := fs.Int("batch", d.Batch, "sequences per step")
	seq := fs.Int("seq", 0, "tokens per sequence (default: the longest example, or the context for text)")
	seed := fs.Uint64("seed", d.Seed, "seed of every run")
	evalEvery := fs.Int("eval-every", 0, "also measure validation loss every N steps (best_val_loss is the lowest)")
	evalRows := fs.Int("eval-rows", 0, "validation rows scored (0: the whole split)")
	accN := fs.Int("accuracy-examples", 64, "exact-match examples (tasks with that metric)")
	r1 := fs.Int("r1", 8, "targets: rank of a single matrix type; the budget is what that costs (2 types get r1/2, 4 get r1/4)")
	ranks := fs.String("ranks", "1,2,4,8,16,64", "ranks: the ranks to sweep")
	targets := fs.String("targets", "q_proj,v_proj", "ranks: the modules adapted at every rank")
	full := fs.Bool("full", true, "ranks: add full fine-tuning as a reference")
	frozen := fs.Bool("frozen", true, "ranks: add the frozen base as a reference")
	asJSON := fs.Bool("json", false, "print a JSON report")
	markdown := fs.Bool("markdown", false, "print the table as Markdown")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	modelDir, err := resolveDir(*base, "models-tiny", "model")
	if err != nil {
		return err
	}
	taskDir, err := resolveDir(*taskName, "assets/datasets", "task")
	if err != nil {
		return err
	}
	m, err := model.Load(modelDir)
	if err != nil {
		return err
	}
	ds, err := loadDataset(taskDir, 0.1)
	if err != nil {
		return err
	}
	arch := experiment.ArchOf(m.Config)
	rep := experimentReport{Experiment: kind, Model: m.Config.Name, Task: filepath.Base(taskDir), Citation: paper.Citation}
	var runs []experiment.Run
	if kind == "targets" {
		runs, rep.Budget, err = experiment.WhichWeights(arch, *r1)
	} else {
		var rs []int
		for _, f := range strings.Split(*ranks, ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			r, err := strconv.Atoi(f)
			if err != nil {
				return usageError{fmt.Sprintf("--ranks: %q is not a whole number", f)}
			}
			rs = append(rs, r)
		}
		runs, err = experiment.RankSweep(arch, splitList(*targets), rs, *full, *frozen)
	}
	if err != nil {
		return usageError{err.Error()}
	}
	cfg := experiment.Config{Steps: *steps, LR: *lr, FullLR: *fullLR, Alpha: *alpha, Batch: *batch, SeqLen: *seq,
		Warmup: -1, Seed: *seed, EvalEvery: *evalEvery, EvalRows: *evalRows, AccuracyExamples: *accN}
	dat := experiment.Data{Kind: ds.Kind, Train: ds.Train, Val: ds.Val, ExactMatch: ds.Task != nil && ds.Task.Metric == data.MetricExactMatch}
	x, err := experiment.NewRunner(m, dat, cfg, runs)
	if err != nil {
		return usageError{err.Error()}
	}
	rep.Config = x.Config()
	total := 0
	for _, r := range runs {
		if r.Method != train.MethodNone {
			total += *steps
		}
	}
	bar := newProgress(stderr, total, "", !*quiet && !*asJSON && !*markdown)
	start := time.Now()
	done := 0 // steps of finished runs
	results := x.RunAll(100*time.Millisecond, func(p experiment.Progress) {
		if p.Run < p.Runs {
			bar.Describe(fmt.Sprintf("run %d/%d %s %s", p.Run+1, p.Runs, p.Label, p.Phase))
		}
		n := done + p.Step
		if p.Finished > 0 {
			n = 0
			for _, r := range x.Results() {
				n += r.Steps
			}
			done = n
			if p.Run < p.Runs {
				n += p.Step
			}
		}
		bar.Set(n)
	})
	bar.Finish()
	if !*quiet && !*asJSON && !*markdown {
		fmt.Fprintln(stderr)
	}
	rep.WallSecs = time.Since(start).Seconds()
	for _, r := range results {
		er := experimentResult{Result: r}
		row, ok := paper.Lookup5(r.Targets)
		if kind == "ranks" {
			row, ok = paper.Lookup6(r.Targets, r.Rank)
		}
		if ok && r.Method == train.MethodLoRA {
			er.PaperWikiSQL, er.PaperMultiNLI = &row.WikiSQL, &row.MultiNLI
		}
		rep.Runs = append(rep.Runs, er)
	}
	if *markdown {
		fmt.Fprint(stdout, experimentMarkdown(rep))
		return nil
	}
	return emit(stdout, *asJSON, rep, func() { fmt.Fprint(stdout, experimentText(rep)) })
}

// resolveDir finds a model or task: an existing directory as given, else
// the name under root (relative to the working directory).
func resolveDir(name, root, what string) (string, error) {
	if st, err := os.Stat(name); err == nil && st.IsDir() {
		return name, nil
	}
	p := filepath.Join(root, name)
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		return p, nil
	}
	return "", usageError{fmt.Sprintf("--%s %q: no such directory, and no %s (run from the repository's top folder, or give a path)",
		map[string]string{"model": "base", "task": "task"}[what], name, p)}
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func fmtLoss(v experiment.Loss) string {
	if v.NaN() {
		return "–"
	}
	return fmt.Sprintf("%.4f", v)
}

func paperCell(p *float64) string {
	if p == nil {
		return "–"
	}
	return fmt.Sprintf("%.1f", *p)
}

// experimentRows are the table's cells, shared by text and Markdown.
func experimentRows(rep experimentReport) (head []string, rows [][]string) {
	head = []string{"run", "r", "trainable", "val loss", "best val", "accuracy", "steps", "wall", "tokens/s", "paper WikiSQL", "paper MultiNLI"}
	for _, r := range rep.Runs {
		rank, acc := "", "–"
		if r.Method == train.MethodLoRA {
			rank = fmt.Sprint(r.Rank)
			if r.FullRank {
				rank += " (full rank)"
			}
		}
		if r.Accuracy != nil {
			acc = fmt.Sprintf("%.1f%%", 100**r.Accuracy)
		}
		label := r.Label
		if r.Error != "" {
			label += " (stopped: " + r.Error + ")"
		}
		rows = append(rows, []string{label, rank, fmt.Sprint(r.TrainableParams), fmtLoss(r.ValLoss), fmtLoss(r.BestValLoss), acc,
			fmt.Sprint(r.Steps), fmt.Sprintf("%.1f s", r.WallSeconds), fmt.Sprintf("%.0f", r.TokensPerSec),
			paperCell(r.PaperWikiSQL), paperCell(r.PaperMultiNLI)})
	}
	return head, rows
}

func experimentTitle(rep experimentReport) string {
	if rep.Experiment == "targets" {
		return fmt.Sprintf("Which weights to adapt (paper Table 5): %s on %s, every run trains %d parameters", rep.Model, rep.Task, rep.Budget)
	}
	return fmt.Sprintf("Rank sweep (paper Table 6): %s on %s", rep.Model, rep.Task)
}

func experimentText(rep experimentReport) string {
	var b strings.Builder
	head, rows := experimentRows(rep)
	width := make([]int, len(head))
	for i, h := range head {
		width[i] = len([]rune(h))
	}
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(cells []string) {
		for i, c := range cells {
			fmt.Fprintf(&b, "%-*s  ", width[i], c)
		}
		b.WriteString("\n")
	}
	b.WriteString(experimentTitle(rep) + "\n")
	line(head)
	for _, r := range rows {
		line(r)
	}
	fmt.Fprintf(&b, "%d steps per run, seed %d, α = %g for every rank; %.0f s in all. Paper: %s.\n",
		rep.Config.Steps, rep.Config.Seed, rep.Config.Alpha, rep.WallSecs, rep.Citation)
	return b.String()
}

func experimentMarkdown(rep experimentReport) string {
	var b strings.Builder
	head, rows := experimentRows(rep)
	fmt.Fprintf(&b, "## %s\n\n", experimentTitle(rep))
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|" + strings.Repeat("---|", len(head)) + "\n")
	for _, r := range rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	c := rep.Config
	fmt.Fprintf(&b, "\n%d steps per run (batch %d × %d tokens), LoRA lr %g, full fine-tuning lr %g, α = %g for every rank, seed %d; validation loss in nats per completion token; %.0f s in all. Paper columns: GPT-3 175B validation accuracy (%%), %s.\n",
		c.Steps, c.Batch, c.SeqLen, c.LR, c.FullLR, c.Alpha, c.Seed, rep.WallSecs, rep.Citation)
	return b.String()
}
