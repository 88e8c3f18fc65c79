// Package paper holds the LoRA paper's measured numbers that the
// playground shows beside the learner's own: Tables 5 and 6 of Hu et al.
// (2021), GPT-3 175B validation accuracy on WikiSQL and MultiNLI. It is
// data only and imports nothing, so the page (ui/) can use it without the
// training engine. The numbers were checked against the text of
// arXiv:2106.09685v2; the ICLR 2022 version prints Table 6 (there Table 4)
// with W_q,W_v at r = 8 on MultiNLI as 91.7 rather than 91.6.
package paper

// Citation is where the paper numbers of this file come from.
const Citation = "Hu et al., LoRA: Low-Rank Adaptation of Large Language Models, arXiv:2106.09685v2 (2021), Tables 5 and 6 (GPT-3 175B)"

// Row is one configuration of the paper's GPT-3 175B experiments and
// its validation accuracy in percent on WikiSQL (natural language to SQL,
// ±0.5% across seeds) and MultiNLI (entailment, ±0.1%).
type Row struct {
	Targets  []string // adapted attention projections
	Rank     int
	WikiSQL  float64
	MultiNLI float64
}

// Table5 is the paper's Table 5: LoRA on different attention weights of
// GPT-3 175B under the same budget of 18M trainable parameters (r = 8 for
// one weight type, 4 for two, 2 for four; all 96 layers).
var Table5 = []Row{
	{[]string{"q_proj"}, 8, 70.4, 91.0},
	{[]string{"k_proj"}, 8, 70.0, 90.8},
	{[]string{"v_proj"}, 8, 73.0, 91.0},
	{[]string{"o_proj"}, 8, 73.2, 91.3},
	{[]string{"q_proj", "k_proj"}, 4, 71.4, 91.3},
	{[]string{"q_proj", "v_proj"}, 4, 73.7, 91.3},
	{[]string{"q_proj", "k_proj", "v_proj", "o_proj"}, 2, 73.7, 91.7},
}

// Budget5 is the paper's trainable-parameter budget for Table 5.
const Budget5 = 18_000_000

// Table6 is the paper's Table 6: validation accuracy at r = 1, 2, 4, 8 and
// 64 for three target sets. (The paper has no r = 16 column.)
var Table6 = []Row{
	{[]string{"q_proj"}, 1, 68.8, 90.7},
	{[]string{"q_proj"}, 2, 69.6, 90.9},
	{[]string{"q_proj"}, 4, 70.5, 91.1},
	{[]string{"q_proj"}, 8, 70.4, 90.7},
	{[]string{"q_proj"}, 64, 70.0, 90.7},
	{[]string{"q_proj", "v_proj"}, 1, 73.4, 91.3},
	{[]string{"q_proj", "v_proj"}, 2, 73.3, 91.4},
	{[]string{"q_proj", "v_proj"}, 4, 73.7, 91.3},
	{[]string{"q_proj", "v_proj"}, 8, 73.8, 91.6},
	{[]string{"q_proj", "v_proj"}, 64, 73.5, 91.4},
	{[]string{"q_proj", "k_proj", "v_proj", "o_proj"}, 1, 74.1, 91.2},
	{[]string{"q_proj", "k_proj", "v_proj", "o_proj"}, 2, 73.7, 91.7},
	{[]string{"q_proj", "k_proj", "v_proj", "o_proj"}, 4, 74.0, 91.7},
	{[]string{"q_proj", "k_proj", "v_proj", "o_proj"}, 8, 74.0, 91.5},
	{[]string{"q_proj", "k_proj", "v_proj", "o_proj"}, 64, 73.9, 91.4},
}

// Lookup5 returns the Table 5 row for targets (in any order), if the
// paper has one.
func Lookup5(targets []string) (Row, bool) {
	for _, r := range Table5 {
		if SameTargets(r.Targets, targets) {
			return r, true
		}
	}
	return Row{}, false
}

// Lookup6 returns the Table 6 row for targets at rank r, if the paper
// has one.
func Lookup6(targets []string, r int) (Row, bool) {
	for _, row := range Table6 {
		if row.Rank == r && SameTargets(row.Targets, targets) {
			return row, true
		}
	}
	return Row{}, false
}

// SameTargets reports whether a and b name the same modules, in any order.
func SameTargets(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		found := false
		for _, y := range b {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
