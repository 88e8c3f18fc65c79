package app

import "github.com/vugu/vugu"

// The panel's explanations are fixed HTML: written once here and set as
// inner HTML, instead of as vugu elements, which would each cost generated
// code in ui.wasm.
const (
	explainTargets = `<p>Suppose you may train only a fixed number of extra numbers — a <b>budget</b>. LoRA on one C×C attention matrix at rank r costs r·2C numbers per layer, so the same budget buys rank 8 on one matrix, rank 4 on two, or rank 2 on all four of W<sub>q</sub>, W<sub>k</sub>, W<sub>v</sub>, W<sub>o</sub>. Which is better: one matrix changed richly, or several changed a little?</p> <p>The paper (GPT-3 175B, an 18M budget) found that <b>adapting more matrices at a smaller rank beats putting everything into one</b>: W<sub>q</sub>,W<sub>v</sub> at r = 4 or all four at r = 2 beat W<sub>q</sub> or W<sub>k</sub> alone at r = 8. Run the same experiment on your model and task: every run trains the same number of parameters, on the same batches, from the same seed.</p>`
	explainRanks   = `<p>The rank r is how many independent directions the update ΔW = B·A may use. Larger r means more trainable numbers — but does the task need them? This trains the same matrices at r = 1, 2, 4, 8, 16 and 64, plus full fine-tuning (every weight trains) and the frozen base (nothing trains) as the two reference lines.</p> <p>The paper found that <b>a very small r suffices</b>: for W<sub>q</sub>,W<sub>v</sub> on GPT-3, r = 1 was already within noise of r = 64 — the change a task needs has a very low "intrinsic rank". On a 64-wide model r = 64 is full rank: B·A can then be any matrix, and a larger r would only add parameters, so the sweep stops there.</p>`
	readingTable   = `<p>Your numbers are validation loss (lower is better) on a small character-level model after a few hundred steps; the paper's are validation accuracy in percent (higher is better) on GPT-3 175B after full training. Compare the <i>order</i> of the rows, not the values. Seed-to-seed noise in the paper was ±0.5% on WikiSQL and ±0.1% on MultiNLI, so differences smaller than that are ties. α is the same for every run (the paper's practice), so the update is scaled by α/r.</p>`
)

func (c *ExperimentPanel) explainHTML() vugu.HTML {
	if c.isTab("ranks") {
		return vugu.HTML(explainRanks)
	}
	return vugu.HTML(explainTargets)
}

func (c *ExperimentPanel) readingHTML() vugu.HTML {
	return vugu.HTML(readingTable + "<p class=\"hint\">" + c.citation() + "</p>")
}
