// Package experiment runs a list of fine-tuning runs that differ in one
// thing only — which weight matrices LoRA adapts, or its rank r — on the
// same base model, task, schedule and seed, and collects what each reached.
// It reproduces, on the playground's small models, two experiments of the
// LoRA paper (Hu et al. 2021, arXiv:2106.09685v2, §7.1–7.2):
//
// # Which weights to adapt (the paper's Table 5)
//
// A LoRA adapter on a weight W ∈ ℝ^{out×in} trains r·(in + out) numbers
// (B is out×r, A is r×in). Every attention projection of a GPT-2 block is
// C×C, so adapting k of the four projections (W_q, W_k, W_v, W_o) in all L
// layers at rank r trains
//
//	N = L · k · r · 2C
//
// numbers. A fixed trainable-parameter budget N therefore buys rank
// r = N / (L·k·2C): one matrix type at r₁, two at r₁/2, all four at r₁/4.
// The paper fixed N = 18M on GPT-3 175B (L = 96, C = 12288), which is
// r = 8 for one type, 4 for two and 2 for four; [WhichWeights] builds the
// same runs for any model from r₁ (a multiple of 4), and [RankForBudget]
// does the division and refuses a budget that does not give a whole rank.
// The paper found that spreading the budget over more matrices at a smaller
// rank (W_q,W_v at r = 4; all four at r = 2) beats putting it all in W_q or
// W_k at r = 8.
//
// # Which rank (the paper's Table 6)
//
// [RankSweep] trains the same target set at several ranks, plus full
// fine-tuning and the frozen base as reference lines. The paper found that
// r = 1 or 2 already comes within noise of r = 64 when W_q and W_v are
// adapted: the update ΔW a task needs has a very low "intrinsic rank".
// A rank above min(in, out) adds parameters but no expressiveness (B·A
// cannot have a larger rank than its smaller side), so RankSweep refuses
// it; r = min(in, out) is allowed and marked full rank.
//
// # Keeping the comparison fair
//
// Every run starts from the same base weights, draws its training batches
// from a sampler seeded identically (so all runs see the same batches in the
// same order), uses the same learning-rate schedule, and is scored on the
// same ordered validation pass. LoRA's α is held fixed across runs, as in
// the paper (§4.1: "we simply set α to the first r we try and do not tune
// it"), so the scale α/r shrinks as r grows; with Adam this keeps the size
// of ΔW's updates roughly independent of r. Full fine-tuning has its own
// learning rate (Config.FullLR), since all of W moving at LoRA's rate
// diverges.
//
// # Stepping
//
// A [Runner] does its work in bounded slices: each [Runner.Step] call
// trains or evaluates until its time budget has passed (always at least one
// unit of work) and returns a [Progress]. A Web Worker calls it between
// messages; cancelling is simply not calling it again, and
// [Runner.Results] keeps every run that had finished. Everything is
// deterministic for a given seed on a given build, except the wall times.
//
// The paper's GPT-3 numbers live in package paper (core/experiment/paper),
// data only, so that the page can show them beside the learner's own
// without importing the training engine.
package experiment
