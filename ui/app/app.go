// Package app is the playground's page: vugu components (the .vugu files,
// compiled by `go generate` into 0_components_gen.go) over one App value
// that holds everything the page shows.
//
// The App never trains. It talks to the training worker through the
// Trainer interface (implemented over the worker's message protocol in
// trainer_js.go) and to the browser through Host (downloads, storage,
// fetches), so every component renders natively under staticrender with
// fakes and is tested by plain `go test`.
package app

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/lora-playground/lora-playground/core/params"
	"github.com/lora-playground/lora-playground/ui/state"
	"github.com/lora-playground/lora-playground/ui/viz"
	"github.com/vugu/vugu/js"
)

// Trainer is what the page asks of the training worker. Every call returns
// at once; results arrive later through the App's On* methods.
type Trainer interface {
	// Start begins a fresh run with cfg (loading the base model and data as
	// needed). custom is the user's own text when cfg.Task is CustomTask.
	Start(cfg state.State, custom string)
	Play()
	Pause()
	// Step trains exactly n steps, then stops.
	Step(n int)
	Sample(prompt string, seed int64, tokens int)
	Merge()
	Export()
	Import(name string, data []byte)
	// Inspect asks for one matrix's A, B and singular values.
	Inspect(path string)
}

// Host is the browser around the page.
type Host interface {
	Download(name, mime string, data []byte)
	DownloadPNGFromSVG(name, svg string, width, height int)
	SetHash(hash string)
	// ReadFile reads the file chosen in an <input type=file> (the event's
	// target) and calls done with the App locked for rendering.
	ReadFile(input js.Value, done func(name string, data []byte))
}

// Delta is one adapted matrix ΔW = scale·B·A as the worker last reported it.
type Delta struct {
	Path       string // e.g. "h.0.attn.q_proj"
	Rows, Cols int    // ΔW is Rows×Cols (= the weight's [out, in])
	Rank       int
	DW         []float32 // Rows·Cols, row-major
	A          []float32 // Rank×Cols
	B          []float32 // Rows×Rank
	SV         []float32 // singular values of ΔW, largest first (may be nil until asked)
	Version    int       // bumps on every update so canvases redraw only when needed
}

// Run is one training run's record for the chart and the comparison table.
type Run struct {
	ID        int
	Config    state.State
	Train     []viz.Point
	Val       []viz.Point
	Trainable int64
	BestVal   float64 // NaN until a validation pass
	Accuracy  float64 // NaN when the task has no metric
	Elapsed   time.Duration
	Finished  bool
}

// Label names a run the way the chart legend and the table show it.
func (r Run) Label() string {
	c := r.Config
	switch c.Method {
	case state.Full:
		return fmt.Sprintf("#%d full", r.ID)
	case state.Bias:
		return fmt.Sprintf("#%d bitfit", r.ID)
	case state.Adaptive:
		return fmt.Sprintf("#%d adaptive r=%d→%d", r.ID, c.InitRank, c.TargetRank)
	}
	var t []string
	for _, m := range c.Targets {
		t = append(t, strings.TrimSuffix(m, "_proj"))
	}
	return fmt.Sprintf("#%d r=%d %s", r.ID, c.Rank, strings.Join(t, ","))
}

// TaskInfo is a task's task.json.
type TaskInfo struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Kind        string `json:"kind"`
	Metric      string `json:"metric"`
}

// MergeResult is what the worker measured when folding ΔW into W.
type MergeResult struct {
	MaxLogitDiff float64
	Shapes       []ShapeCheck
}

// ShapeCheck is one weight's shape before and after merging.
type ShapeCheck struct {
	Path          string
	Before, After [2]int
}

// SampleView is the samples panel.
type SampleView struct {
	Prompt  string
	Seed    int64
	Tokens  int
	Base    string
	Adapted string
	Busy    bool
}

// MaxRuns is how many runs the chart keeps overlaid: enough for r=1, r=8
// and full fine-tuning side by side with room for a few more.
const MaxRuns = 6

// App is the whole page's state. Components read it and call its methods;
// nothing else mutates it.
type App struct {
	State    state.State // what the controls show
	Applied  state.State // what the current run was started with
	Problems []string    // link settings that could not be used

	Models        []string
	Tasks         []TaskInfo
	Archs         map[string]params.Arch // model name → shape, from models/<name>/config.json
	Custom        string                 // "your own text"
	appliedCustom string                 // the text the current run trains on
	Unknown       string                 // the run's characters outside the vocabulary, as the worker reports them

	Started bool // a run exists in the worker
	Playing bool
	Steps   int
	Loss    float64 // latest training loss, NaN before the first step
	ValLoss float64 // latest validation loss, NaN before the first pass
	TokPerS float64

	Runs []Run // oldest first; the current run is last
	// References is results.json (runs measured natively with the CLI), nil
	// when the site ships none.
	References *References
	nextRun    int
	Deltas     []Delta
	Selected   string // Path of the enlarged ΔW, "" for none

	Draws DrawQueue // heatmaps waiting to be drawn after this render

	Sample    SampleView
	Merged    *MergeResult
	Smoothing float64
	ShowRaw   bool

	Status string // one line about what the worker is doing
	Error  string // last error, shown until the next action

	T Trainer
	H Host
	// Net reaches the edge API for sharing; nil where there is none.
	Net Net

	Shared  ShareView
	sharing bool

	// Adaptive is the rank allocation of an adaptive-rank run (adaptive-panel.go), nil otherwise.
	Adaptive *AdaptiveView // the export in flight is for Share, not a download

	// Analyzer runs the paper's analyses in the worker (analysis.go); nil
	// where there is none. An is what their panels show.
	Analyzer Analyzer
	An       AnalysisView
	Exp      ExperimentsView // the paper's experiments (experiments.go)

	// Cores is navigator.hardwareConcurrency (0 unknown); Workers is what
	// the worker last said about data-parallel training (workers.go).
	Cores       int
	Workers     WorkersView
	sentWorkers int

	now func() time.Time
	t0  time.Time // when the current run last started playing
}

// New returns an App showing s.
func New(s state.State, t Trainer, h Host) *App {
	return &App{
		State: s, Applied: s.Clone(),
		Archs: map[string]params.Arch{},
		Loss:  math.NaN(), ValLoss: math.NaN(),
		Sample:    SampleView{Prompt: "", Seed: 1, Tokens: 64},
		Smoothing: 0.6, ShowRaw: true,
		T: t, H: h, now: time.Now,
	}
}

// Current is the run being trained, or nil.
func (a *App) Current() *Run {
	if len(a.Runs) == 0 || a.Runs[len(a.Runs)-1].Finished {
		return nil
	}
	return &a.Runs[len(a.Runs)-1]
}

// RestartNeeded lists the settings changed since the run started that only
// take effect after Reset.
func (a *App) RestartNeeded() []string {
	if !a.Started || a.Steps == 0 {
		return nil
	}
	r := a.State.NeedsRestart(a.Applied)
	if a.State.Task == state.CustomTask && a.Applied.Task == state.CustomTask && a.Custom != a.appliedCustom {
		r = append(r, "your text")
	}
	return r
}

// CustomChanged is called when the user's own text changes.
func (a *App) CustomChanged() {
	if a.State.Task == state.CustomTask && a.Started && a.Steps == 0 {
		a.startRun()
	}
}

// Changed is called after any control edits a.State: it rewrites the URL
// and, if no step has been taken yet, silently starts the run afresh so the
// first Play uses what the controls show. After the first step changes wait
// for Reset (see RestartNeeded).
func (a *App) Changed() {
	a.Error = ""
	if a.H != nil {
		a.H.SetHash(a.State.Hash())
	}
	if err := a.State.Validate(); err != nil {
		a.Error = err.Error()
		return
	}
	a.ApplyWorkers() // the run is kept: workers change speed, not results
	if !a.Started {
		return
	}
	// Before the first step nothing is lost by starting afresh, so the
	// worker always holds what the controls show.
	if a.Steps == 0 && len(a.State.NeedsRestart(a.Applied)) > 0 {
		a.startRun()
		return
	}
	a.Applied.Hide = a.State.Hide
}

// startRun archives the current run (if it trained) and starts a new one
// with the controls' configuration.
func (a *App) startRun() {
	if err := a.State.Validate(); err != nil {
		a.Error = err.Error()
		return
	}
	if a.State.Task == state.CustomTask && strings.TrimSpace(a.Custom) == "" {
		a.Error = "paste or upload some text to train on your own text"
		return
	}
	if cur := a.Current(); cur != nil {
		if len(cur.Train) == 0 {
			a.Runs = a.Runs[:len(a.Runs)-1] // nothing to compare: drop it
		} else {
			cur.Finished = true
		}
	}
	if len(a.Runs) >= MaxRuns {
		a.Runs = slices.Delete(a.Runs, 0, len(a.Runs)-MaxRuns+1)
	}
	a.nextRun++
	a.Applied = a.State.Clone()
	a.appliedCustom = a.Custom
	a.Runs = append(a.Runs, Run{ID: a.nextRun, Config: a.Applied, BestVal: math.NaN(), Accuracy: math.NaN(), Trainable: a.trainable()})
	a.Started, a.Playing, a.Steps = true, false, 0
	a.Loss, a.ValLoss, a.TokPerS = math.NaN(), math.NaN(), 0
	a.Deltas, a.Selected, a.Merged = nil, "", nil
	a.Adaptive = nil
	a.Unknown = ""
	a.Sample.Base, a.Sample.Adapted = "", ""
	a.Status = "loading " + a.Applied.Model + " and " + a.Applied.Task + "…"
	a.T.Start(a.Applied, a.Custom)
}

func (a *App) trainable() int64 {
	arch, ok := a.Archs[a.State.Model]
	if !ok {
		return 0
	}
	c, err := Count(arch, a.State)
	if err != nil {
		return 0
	}
	return c.Trainable
}

// TogglePlay starts or pauses training.
func (a *App) TogglePlay() {
	a.Error = ""
	if a.Playing {
		a.Playing = false
		a.T.Pause()
		a.stopClock()
		return
	}
	if !a.Started || len(a.RestartNeeded()) > 0 && a.Steps == 0 {
		a.startRun()
	}
	if a.Error != "" {
		return
	}
	a.Playing = true
	a.t0 = a.now()
	a.T.Play()
}

// StepOnce trains one step (pausing first if playing).
func (a *App) StepOnce() {
	a.Error = ""
	if a.Playing {
		a.Playing = false
		a.T.Pause()
		a.stopClock()
	}
	if !a.Started {
		a.startRun()
		if a.Error != "" {
			return
		}
	}
	a.T.Step(1)
}

// Reset starts a new run with the controls' configuration; the old one
// stays on the chart and in the table.
func (a *App) Reset() {
	a.Error = ""
	if a.Playing {
		a.T.Pause()
		a.stopClock()
	}
	a.startRun()
}

func (a *App) stopClock() {
	if cur := a.Current(); cur != nil && !a.t0.IsZero() {
		cur.Elapsed += a.now().Sub(a.t0)
	}
	a.t0 = time.Time{}
}

// Generate asks for base and adapted samples of the same prompt and seed.
func (a *App) Generate() {
	if !a.Started {
		a.startRun()
		if a.Error != "" {
			return
		}
	}
	a.Sample.Busy = true
	a.T.Sample(a.Sample.Prompt, a.Sample.Seed, a.Sample.Tokens)
	a.serverSample()
}

// Merge asks the worker to fold ΔW into W and measure the difference.
func (a *App) Merge() {
	if !a.Started || !a.Applied.LoRALike() {
		a.Error = "merging folds LoRA's B·A into W; start a LoRA run first"
		return
	}
	a.Status = "merging…"
	a.T.Merge()
}

// Select enlarges one ΔW; selecting it again closes the detail.
func (a *App) Select(path string) {
	if a.Selected == path || path == "" {
		a.Selected = ""
		return
	}
	a.Selected = path
	a.T.Inspect(path)
}

// SelectedDelta is the enlarged ΔW, or nil.
func (a *App) SelectedDelta() *Delta {
	for i := range a.Deltas {
		if a.Deltas[i].Path == a.Selected {
			return &a.Deltas[i]
		}
	}
	return nil
}

// Series is every kept run as chart input.
func (a *App) Series() []viz.Series {
	s := make([]viz.Series, len(a.Runs))
	for i, r := range a.Runs {
		s[i] = viz.Series{Label: r.Label(), Train: r.Train, Val: r.Val}
	}
	return s
}

// chartOptions is how the loss chart is drawn, on the page and in exports.
func (a *App) chartOptions() viz.ChartOptions {
	return viz.ChartOptions{Width: ChartW, Height: ChartH, Smoothing: a.Smoothing, ShowRaw: a.ShowRaw}
}

// ChartSVG is the loss chart as SVG, built only when asked for (the page
// draws it to a canvas).
func (a *App) ChartSVG() string { return viz.LossChartSVG(a.Series(), a.chartOptions()) }

// ExportCSV downloads every kept run's curves.
func (a *App) ExportCSV() {
	a.H.Download("lora-playground-loss.csv", "text/csv", []byte(viz.LossCSV(a.Series(), a.Smoothing)))
}

// ExportSVG downloads the loss chart as SVG.
func (a *App) ExportSVG() {
	a.H.Download("lora-playground-loss.svg", "image/svg+xml", []byte(a.ChartSVG()))
}

// ExportPNG downloads the loss chart as PNG (rasterised by the browser).
func (a *App) ExportPNG() {
	a.H.DownloadPNGFromSVG("lora-playground-loss.png", a.ChartSVG(), ChartW, ChartH)
}

// --- results from the worker -------------------------------------------

// OnReady is called when the worker has loaded model and data for the run.
func (a *App) OnReady(trainable int64) {
	if cur := a.Current(); cur != nil && trainable > 0 {
		cur.Trainable = trainable
	}
	a.Status = "ready: press play or step"
}

// OnProgress records training losses for steps (first step = steps[0]).
func (a *App) OnProgress(steps []int, losses []float64, tokPerS float64) {
	cur := a.Current()
	for i, s := range steps {
		if cur != nil {
			cur.Train = append(cur.Train, viz.Point{Step: s, Loss: losses[i]})
		}
		a.Steps, a.Loss = s, losses[i]
	}
	if tokPerS > 0 {
		a.TokPerS = tokPerS
	}
	if a.Playing {
		a.Status = fmt.Sprintf("training: %.0f tokens/s%s", a.TokPerS, a.workersText())
	} else {
		a.Status = "paused"
	}
}

// OnEval records a validation pass at step.
func (a *App) OnEval(step int, loss, accuracy float64) {
	a.ValLoss = loss
	cur := a.Current()
	if cur == nil {
		return
	}
	cur.Val = append(cur.Val, viz.Point{Step: step, Loss: loss})
	if math.IsNaN(cur.BestVal) || loss < cur.BestVal {
		cur.BestVal = loss
	}
	if !math.IsNaN(accuracy) {
		cur.Accuracy = accuracy
	}
}

// OnDeltas replaces the heatmaps' data. Matrices keep their Version
// counting so canvases know to redraw.
func (a *App) OnDeltas(ds []Delta) {
	old := map[string]int{}
	for _, d := range a.Deltas {
		old[d.Path] = d.Version
	}
	for i := range ds {
		ds[i].Version = old[ds[i].Path] + 1
		if ds[i].SV == nil {
			for _, d := range a.Deltas {
				if d.Path == ds[i].Path && d.Rows == ds[i].Rows && d.Cols == ds[i].Cols {
					ds[i].SV = d.SV // keep the last spectrum until a fresh one comes
				}
			}
		}
	}
	a.Deltas = ds
}

// OnSample shows a generated pair.
func (a *App) OnSample(base, adapted string) {
	a.Sample.Base, a.Sample.Adapted, a.Sample.Busy = base, adapted, false
}

// OnMerged shows the merge measurement.
func (a *App) OnMerged(m MergeResult) {
	a.Merged = &m
	a.Status = "merged: ΔW folded into W"
}

// OnPaused is called when the worker stops by itself (e.g. after Step(n)).
func (a *App) OnPaused() {
	if a.Playing {
		a.Playing = false
		a.stopClock()
	}
}

// OnError shows a worker error and stops training.
func (a *App) OnError(msg string) {
	a.Error = msg
	a.Sample.Busy = false
	a.OnPaused()
}

// --- parameter panel ----------------------------------------------------

// Count is the parameter count of s on arch, under core/params.
func Count(arch params.Arch, s state.State) (params.Count, error) {
	m, r := params.Method(s.Method), s.Rank
	if s.Method == state.Adaptive { // trains LoRA-shaped P, Q at r⁽⁰⁾ (λ adds r⁽⁰⁾ numbers per matrix)
		m, r = params.Method(state.LoRA), s.InitRank
	}
	return params.Calculate(arch, m, params.LoRA{Rank: r, Targets: s.Targets})
}

// GPT3 is the same configuration on GPT-3 175B: the LoRA paper's scale.
func GPT3(s state.State) (params.Count, error) {
	a, err := params.Preset("gpt3-175b")
	if err != nil {
		return params.Count{}, err
	}
	return Count(a, s)
}

// Export asks the worker for the adapter as a PEFT archive.
func (a *App) Export() {
	if !a.Started || !a.Applied.LoRALike() {
		a.Error = "export writes a LoRA adapter; train a LoRA run first"
		return
	}
	a.Status = "packing the adapter…"
	a.T.Export()
}

// OnExported downloads the archive the worker packed.
func (a *App) OnExported(name string, data []byte) {
	if a.sharing && a.Net != nil {
		a.sharing = false
		a.Status = fmt.Sprintf("packed %s (%s) for sharing", name, Bytes(int64(len(data))))
		a.upload(data)
		return
	}
	a.Status = fmt.Sprintf("exported %s (%s)", name, Bytes(int64(len(data))))
	a.H.Download(name, "application/zip", data)
}

// Import sends a PEFT archive to the worker, which checks it against the
// loaded base model.
func (a *App) Import(name string, data []byte) {
	a.Error = ""
	if !a.Started {
		a.startRun()
		if a.Error != "" {
			return
		}
	}
	if a.Playing {
		a.Playing = false
		a.T.Pause()
		a.stopClock()
	}
	a.Status = "importing " + name + "…"
	a.T.Import(name, data)
}

// OnInspect replaces one matrix with its detailed view (A, B, spectrum).
func (a *App) OnInspect(d Delta) {
	for i := range a.Deltas {
		if a.Deltas[i].Path == d.Path {
			d.Version = a.Deltas[i].Version + 1
			a.Deltas[i] = d
			return
		}
	}
	d.Version = 1
	a.Deltas = append(a.Deltas, d)
}

// startRunImported starts a run for an adapter the worker has just
// imported: like Reset, but the worker already holds the run, so nothing is
// sent.
func (a *App) startRunImported() {
	t := a.T
	a.T = nopTrainer{}
	a.startRun()
	a.T = t
	a.Status = ""
}

// nopTrainer swallows requests; see startRunImported.
type nopTrainer struct{}

func (nopTrainer) Start(state.State, string) {}
func (nopTrainer) Play()                     {}
func (nopTrainer) Pause()                    {}
func (nopTrainer) Step(int)                  {}
func (nopTrainer) Sample(string, int64, int) {}
func (nopTrainer) Merge()                    {}
func (nopTrainer) Export()                   {}
func (nopTrainer) Import(string, []byte)     {}
func (nopTrainer) Inspect(string)            {}

// SetArch records a model's shape (from its config.json) for the
// parameter panel.
func (a *App) SetArch(name string, vocab, ctx, embd, heads, layers int) {
	a.Archs[name] = params.Arch{Name: name, VocabSize: vocab, NCtx: ctx, NEmbd: embd, NHead: heads, NLayer: layers}
	if cur := a.Current(); cur != nil && cur.Trainable == 0 && cur.Config.Model == name {
		if c, err := Count(a.Archs[name], cur.Config); err == nil {
			cur.Trainable = c.Trainable
		}
	}
}

// Elapsed is r's training time, counting the stretch in progress.
func (a *App) Elapsed(r Run) time.Duration {
	if cur := a.Current(); cur != nil && cur.ID == r.ID && a.Playing && !a.t0.IsZero() {
		return r.Elapsed + a.now().Sub(a.t0)
	}
	return r.Elapsed
}
