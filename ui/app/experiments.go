package app

import (
	"fmt"
	"math"
	"strings"

	"github.com/lora-playground/lora-playground/core/experiment/paper"
	"github.com/lora-playground/lora-playground/ui/state"
	"github.com/lora-playground/lora-playground/ui/viz"
	"github.com/lora-playground/lora-playground/wasm/protocol"
	"github.com/vugu/vugu"
)

// ExperimentsView is the experiments panel's state: the LoRA paper's
// Table 5 (which weights to adapt under one budget) and Table 6 (which
// rank), run on the learner's model and task in a worker of their own, so
// the run on the page is never touched. Zero values mean the defaults.
type ExperimentsView struct {
	Tab         string   // protocol.ExperimentTargets or protocol.ExperimentRanks ("" = targets)
	Steps       int      // per run; 0 = DefaultExperimentSteps
	RankTargets []string // the rank sweep adapts these (one of RankTargetSets); nil = W_q,W_v
	// Status is the latest report per experiment kind: plan, progress and
	// every finished run's result (kept after a cancel).
	Status map[string]*protocol.ExperimentStatus
	Error  string
	X      *ExperimentClient // nil until the page has an experiment worker
}

// DefaultExperimentSteps makes a sweep of 6–8 runs finish in one to two
// minutes on nano in the browser (≈30K tokens/s with SIMD, 1K tokens a
// step on e2e), and separates the runs clearly.
const DefaultExperimentSteps = 200

// RankTargetSets are the paper's three target sets of Table 6.
var RankTargetSets = [][]string{{"q_proj"}, {"q_proj", "v_proj"}, {"q_proj", "k_proj", "v_proj", "o_proj"}}

// defaultRankSet is W_q,W_v, the paper's main choice.
const defaultRankSet = 1

func (v *ExperimentsView) tab() string {
	if v.Tab == protocol.ExperimentRanks {
		return v.Tab
	}
	return protocol.ExperimentTargets
}

func (v *ExperimentsView) steps() int {
	if v.Steps < 1 {
		return DefaultExperimentSteps
	}
	return min(v.Steps, protocol.MaxExperimentSteps)
}

func (v *ExperimentsView) rankSet() []string {
	if len(v.RankTargets) == 0 {
		return RankTargetSets[defaultRankSet]
	}
	return v.RankTargets
}

// Running reports whether an experiment is in progress.
func (v *ExperimentsView) Running() bool {
	for _, s := range v.Status {
		if s != nil && s.Running {
			return true
		}
	}
	return false
}

// ExperimentClient runs experiments through the protocol's experiment_*
// requests. Like Client it is pure Go, called with the page locked; post
// reaches the experiment worker (a second trainer worker, started on first
// use).
type ExperimentClient struct {
	App    *App
	post   func(protocol.Request)
	nextID int
}

// NewExperimentClient connects the page's experiments panel to post.
func NewExperimentClient(a *App, post func(protocol.Request)) *ExperimentClient {
	c := &ExperimentClient{App: a, post: post}
	a.Exp.X = c
	return c
}

// Spec is the experiment the panel would start now: the page's model,
// task and seed, the panel's tab, steps and target set.
func (a *App) ExperimentSpec() protocol.ExperimentSpec {
	v := &a.Exp
	s := protocol.ExperimentSpec{Kind: v.tab(), Model: a.State.Model, Task: a.State.Task, Steps: v.steps(), Seed: a.State.Seed}
	if s.Kind == protocol.ExperimentRanks {
		s.Targets = append([]string(nil), v.rankSet()...)
		s.Full, s.Frozen = true, true
	}
	return s
}

// Start begins the experiment of the panel's tab.
func (c *ExperimentClient) Start() {
	a := c.App
	v := &a.Exp
	v.Error = ""
	if v.Running() {
		v.Error = "an experiment is running; cancel it first"
		return
	}
	if a.State.Task == state.CustomTask {
		v.Error = "experiments run on the built-in tasks; choose one in Settings"
		return
	}
	spec := a.ExperimentSpec()
	if err := spec.Validate(); err != nil {
		v.Error = err.Error()
		return
	}
	c.nextID++
	c.post(protocol.Request{V: protocol.Version, ID: c.nextID, Type: protocol.TypeExperimentStart, Experiment: &spec})
	if v.Status == nil {
		v.Status = map[string]*protocol.ExperimentStatus{}
	}
	// Shown at once, replaced by the worker's plan.
	v.Status[spec.Kind] = &protocol.ExperimentStatus{Kind: spec.Kind, Model: spec.Model, Task: spec.Task, Steps: spec.Steps, Running: true, Phase: "starting"}
}

// Cancel stops the experiment after its current slice; finished runs stay.
func (c *ExperimentClient) Cancel() {
	if !c.App.Exp.Running() {
		return
	}
	c.nextID++
	c.post(protocol.Request{V: protocol.Version, ID: c.nextID, Type: protocol.TypeExperimentCancel})
}

// Handle applies one message from the experiment worker.
func (c *ExperimentClient) Handle(m protocol.Message) {
	v := &c.App.Exp
	switch {
	case m.Type == protocol.TypeError:
		v.Error = m.Message
		// A failed start leaves nothing running.
		for _, s := range v.Status {
			if s != nil && s.Phase == "starting" {
				s.Running, s.Phase = false, "failed"
			}
		}
	case m.Experiment != nil:
		if v.Status == nil {
			v.Status = map[string]*protocol.ExperimentStatus{}
		}
		v.Status[m.Experiment.Kind] = m.Experiment
	}
}

// ExpRow is one row of the panel's table.
type ExpRow struct {
	Label     string
	Rank      string
	Trainable string
	ValLoss   string
	Accuracy  string
	WikiSQL   string // the paper's, "—" where it has none
	MultiNLI  string
	Class     string // "done", "current", "planned" (the row's data-state)
}

// ExperimentPanel shows the paper's two experiments.
type ExperimentPanel struct {
	App *App
}

func (c *ExperimentPanel) v() *ExperimentsView { return &c.App.Exp }

func (c *ExperimentPanel) status() *protocol.ExperimentStatus {
	if c.v().Status == nil {
		return nil
	}
	return c.v().Status[c.v().tab()]
}

func (c *ExperimentPanel) isTab(t string) bool { return c.v().tab() == t }

func (c *ExperimentPanel) selected(t string) string {
	if c.isTab(t) {
		return "true"
	}
	return "false"
}

func (c *ExperimentPanel) setTab(t string) { c.v().Tab, c.v().Error = t, "" }

func (c *ExperimentPanel) hasAccuracy() bool {
	for _, t := range c.App.Tasks {
		if t.Name == c.App.State.Task {
			return t.Metric != ""
		}
	}
	return false
}

func (c *ExperimentPanel) canStart() bool { return c.v().X != nil && !c.v().Running() }

func (c *ExperimentPanel) runLabel() string {
	n := len(paper.Table5)
	if c.isTab(protocol.ExperimentRanks) {
		n = 8
	}
	return fmt.Sprintf("Run %d trainings × %d steps", n, c.v().steps())
}

func (c *ExperimentPanel) start() {
	if c.v().X != nil {
		c.v().X.Start()
	}
}

func (c *ExperimentPanel) cancel() {
	if c.v().X != nil {
		c.v().X.Cancel()
	}
}

func (c *ExperimentPanel) setSteps(s string) {
	c.v().Steps = max(1, min(atoi(s, c.v().steps()), protocol.MaxExperimentSteps))
}

func (c *ExperimentPanel) setRankSet(s string) {
	i := atoi(s, defaultRankSet)
	if i >= 0 && i < len(RankTargetSets) {
		c.v().RankTargets = RankTargetSets[i]
	}
}

func (c *ExperimentPanel) rankSetLabel(i int) string { return weightsLabel(RankTargetSets[i]) }

func (c *ExperimentPanel) rankSetIndex() int {
	for i, ts := range RankTargetSets {
		if strings.Join(ts, ",") == strings.Join(c.v().rankSet(), ",") {
			return i
		}
	}
	return defaultRankSet
}

// weightsLabel writes modules as the paper does: W_q,W_v.
func weightsLabel(ts []string) string {
	var s []string
	for _, t := range ts {
		s = append(s, "W_"+strings.TrimSuffix(t, "_proj"))
	}
	return strings.Join(s, ",")
}

func pct(v float64) string { return fmt.Sprintf("%.1f", v) }

// progress is the status line: what runs now, or how it ended.
func (c *ExperimentPanel) progress() string {
	s := c.status()
	switch {
	case s == nil:
		return ""
	case s.Phase == "starting":
		return "starting the experiment worker and loading the model…"
	case s.Phase == "failed":
		return "the experiment could not start"
	case s.Cancelled:
		return fmt.Sprintf("cancelled: %d of %d runs finished (kept below)", len(s.Results), len(s.Plan))
	case !s.Running:
		return fmt.Sprintf("done: %d runs in %.0f s", len(s.Results), s.Seconds)
	}
	label := ""
	if s.Run < len(s.Plan) {
		label = s.Plan[s.Run].Label
	}
	what := fmt.Sprintf("step %d of %d", s.Step, s.Steps)
	switch s.Phase {
	case "eval":
		what = "measuring validation loss"
	case "accuracy":
		what = "measuring exact-match accuracy"
	}
	if s.Run < len(s.Plan) && s.Plan[s.Run].Method == "none" {
		what = "measuring the untrained base"
	}
	return fmt.Sprintf("run %d of %d (%s): %s · %.0f s", s.Run+1, len(s.Plan), label, what, s.Seconds)
}

// progressValue is the share of the experiment done, for <progress>.
func (c *ExperimentPanel) progressValue() float64 {
	s := c.status()
	if s == nil || len(s.Plan) == 0 {
		return 0
	}
	if !s.Running {
		return 1
	}
	part := 0.0
	if s.Steps > 0 {
		part = float64(s.Step) / float64(s.Steps)
	}
	return math.Min(1, (float64(len(s.Results))+part)/float64(len(s.Plan)))
}

func (c *ExperimentPanel) running() bool { s := c.status(); return s != nil && s.Running }

// rows are the table: the plan with its results, or before any run the
// paper's choices alone.
func (c *ExperimentPanel) rows() []ExpRow {
	s := c.status()
	ranks := c.isTab(protocol.ExperimentRanks)
	var rows []ExpRow
	if s == nil || len(s.Plan) == 0 {
		if ranks {
			for _, r := range []int{1, 2, 4, 8, 16, 64} {
				rows = append(rows, c.paperCells(ExpRow{Label: weightsLabel(c.v().rankSet()), Rank: fmt.Sprint(r), Trainable: "—", ValLoss: "—", Accuracy: "—", Class: "planned"}, c.v().rankSet(), r))
			}
			return rows
		}
		for _, p := range paper.Table5 {
			rows = append(rows, c.paperCells(ExpRow{Label: weightsLabel(p.Targets), Rank: fmt.Sprint(p.Rank), Trainable: "—", ValLoss: "—", Accuracy: "—", Class: "planned"}, p.Targets, p.Rank))
		}
		return rows
	}
	for i, p := range s.Plan {
		row := ExpRow{Label: weightsLabel(p.Targets), Rank: fmt.Sprint(p.Rank), Trainable: Grouped(int64(p.Trainable)), ValLoss: "—", Accuracy: "—", Class: "planned"}
		switch p.Method {
		case "full":
			row.Label, row.Rank = "full fine-tuning", "—"
		case "none":
			row.Label, row.Rank, row.Trainable = "frozen base", "—", "0"
		}
		if p.FullRank {
			row.Rank += " (full rank)"
		}
		if i < len(s.Results) {
			r := s.Results[i]
			row.Class = "done"
			if r.ValLoss != nil {
				row.ValLoss = Loss(*r.ValLoss)
			}
			if r.Accuracy != nil {
				row.Accuracy = fmt.Sprintf("%.1f%%", 100**r.Accuracy)
			}
			if r.Error != "" {
				row.ValLoss = "stopped"
			}
		} else if i == s.Run && s.Running {
			row.Class, row.ValLoss = "current", "…"
		}
		if p.Method == "lora" {
			row = c.paperCells(row, p.Targets, p.Rank)
		} else {
			row.WikiSQL, row.MultiNLI = "—", "—"
		}
		rows = append(rows, row)
	}
	return rows
}

func (c *ExperimentPanel) paperCells(row ExpRow, targets []string, r int) ExpRow {
	row.WikiSQL, row.MultiNLI = "—", "—"
	p, ok := paper.Lookup5(targets)
	if c.isTab(protocol.ExperimentRanks) {
		p, ok = paper.Lookup6(targets, r)
	}
	if ok && (c.isTab(protocol.ExperimentRanks) || p.Rank == r) {
		row.WikiSQL, row.MultiNLI = pct(p.WikiSQL), pct(p.MultiNLI)
	}
	return row
}

func (c *ExperimentPanel) budgetText() string {
	s := c.status()
	if s == nil || s.Budget == 0 {
		return ""
	}
	return fmt.Sprintf("Every run below trains exactly %s numbers on %s (the paper's budget was 18M on GPT-3 175B).", Grouped(int64(s.Budget)), s.Model)
}

func (c *ExperimentPanel) citation() string { return "Paper numbers: " + paper.Citation + "." }

// loss returns a result's validation loss, NaN when it has none.
func resultLoss(r protocol.ExperimentResult) float64 {
	if r.ValLoss == nil || r.Error != "" {
		return math.NaN()
	}
	return *r.ValLoss
}

// chart is the rank sweep's chart (ranks tab), as inline SVG.
func (c *ExperimentPanel) chart() vugu.HTML {
	s := c.status()
	rc := viz.RankSweep{Full: math.NaN(), Frozen: math.NaN()}
	if s != nil {
		for i, r := range s.Results {
			p := s.Plan[i]
			switch p.Method {
			case "lora":
				rc.Points = append(rc.Points, viz.RankSweepPoint{Rank: p.Rank, Trainable: r.Trainable, Loss: resultLoss(r)})
			case "full":
				rc.Full, rc.FullTrainable = resultLoss(r), r.Trainable
			case "none":
				rc.Frozen = resultLoss(r)
			}
		}
	}
	return vugu.HTML(viz.RankSweepSVG(rc, 640, 260))
}

func (c *ExperimentPanel) hasResults() bool { s := c.status(); return s != nil && len(s.Results) > 0 }

// verdict says in plain words whether the learner's runs agree with the
// paper, once there is enough to say it.
func (c *ExperimentPanel) verdict() string {
	s := c.status()
	if s == nil || len(s.Results) == 0 {
		return ""
	}
	if s.Kind == protocol.ExperimentTargets {
		return targetsVerdict(s)
	}
	return ranksVerdict(s)
}

func targetsVerdict(s *protocol.ExperimentStatus) string {
	bestSingle, bestMulti := -1, -1
	for i, r := range s.Results {
		l := resultLoss(r)
		if math.IsNaN(l) {
			continue
		}
		if len(r.Targets) == 1 {
			if bestSingle < 0 || l < resultLoss(s.Results[bestSingle]) {
				bestSingle = i
			}
		} else if bestMulti < 0 || l < resultLoss(s.Results[bestMulti]) {
			bestMulti = i
		}
	}
	if bestSingle < 0 || bestMulti < 0 {
		return "The verdict comes once both a single-matrix run and a several-matrix run have finished."
	}
	one, many := s.Results[bestSingle], s.Results[bestMulti]
	d := resultLoss(one) - resultLoss(many)
	out := fmt.Sprintf("On your model the best single matrix was %s at r=%d (val loss %s); the best spread-out choice was %s at r=%d (%s). ",
		weightsLabel(one.Targets), one.Rank, Loss(resultLoss(one)), weightsLabel(many.Targets), many.Rank, Loss(resultLoss(many)))
	switch {
	case d > 0.01:
		out += fmt.Sprintf("Spreading the same budget over more matrices at a smaller rank won by %.3f nats: your model agrees with the paper.", d)
	case d < -0.01:
		out += fmt.Sprintf("Here one matrix at a larger rank won by %.3f nats: your small model and short run disagree with the paper's GPT-3 result.", -d)
	default:
		out += "The two are within 0.01 nats: too close to call on this run."
	}
	return out
}

// nearBest is how close (nats) a rank must come to the best rank to count
// as enough.
const nearBest = 0.05

func ranksVerdict(s *protocol.ExperimentStatus) string {
	best, bestR := math.Inf(1), 0
	full, frozen := math.NaN(), math.NaN()
	type pt struct {
		r int
		l float64
	}
	var pts []pt
	for i, r := range s.Results {
		l := resultLoss(r)
		switch s.Plan[i].Method {
		case "full":
			full = l
		case "none":
			frozen = l
		default:
			if !math.IsNaN(l) {
				pts = append(pts, pt{r.Rank, l})
				if l < best {
					best, bestR = l, r.Rank
				}
			}
		}
	}
	if len(pts) < 2 {
		return "The verdict comes once at least two ranks have finished."
	}
	// "A small r suffices" means a small r comes close to the largest one,
	// so there is no verdict until the largest planned rank has finished
	// (a sweep cancelled after r=1 and r=2 would otherwise "agree").
	largest, largestDone := 0, false
	for _, p := range s.Plan {
		if p.Method == "lora" && p.Rank > largest {
			largest = p.Rank
		}
	}
	for _, p := range pts {
		largestDone = largestDone || p.r == largest
	}
	if !largestDone {
		return fmt.Sprintf("So far the best finished rank is r=%d (val loss %s). The verdict waits for the largest rank, r=%d: whether a small r suffices is a comparison with it.", bestR, Loss(best), largest)
	}
	enough := bestR
	for _, p := range pts {
		if p.l <= best+nearBest && p.r < enough {
			enough = p.r
		}
	}
	out := fmt.Sprintf("The best rank was r=%d (val loss %s); the smallest rank within %.2f nats of it was r=%d. ", bestR, Loss(best), nearBest, enough)
	if enough <= 2 {
		out += "A very small r suffices here too: your model agrees with the paper."
	} else {
		out += "Here more rank kept helping, unlike the paper's GPT-3 runs, where r = 1 or 2 was already within noise of r = 64 — a tiny model trained for a few hundred steps is far from GPT-3."
	}
	if !math.IsNaN(full) {
		out += fmt.Sprintf(" Full fine-tuning reached %s", Loss(full))
		if !math.IsNaN(frozen) {
			out += fmt.Sprintf(" and the frozen base sits at %s", Loss(frozen))
		}
		out += "."
	}
	return out
}
