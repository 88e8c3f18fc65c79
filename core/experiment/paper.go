package experiment

// Citation is where the paper numbers of this file come from.
const Citation = "Hu et al., LoRA: Low-Rank Adaptation of Large Language Models, arXiv:2106.09685v2 (2021), Tables 5 and 6 (GPT-3 175B)"

// PaperRow is one configuration of the paper's GPT-3 175B experiments and
// its validation accuracy in percent on WikiSQL (natural language to SQL,
// ±0.5% across seeds) and MultiNLI (entailment, ±0.1%).
type PaperRow struct {
	Targets  []string // adapted attention projections
	Rank     int
	WikiSQL  float64
	MultiNLI float64
}

// Table5 is the paper's Table 5: LoRA on different attention weights of
// GPT-3 175B under the same budget of 18M trainable parameters (r = 8 for
// one weight type, 4 for two, 2 for four; all 96 layers).
var Table5 = []PaperRow{
	{[]string{"q_proj"}, 8, 70.4, 91.0},
	{[]string{"k_proj"}, 8, 70.0, 90.8},
	{[]string{"v_proj"}, 8, 73.0, 91.0},
	{[]string{"o_proj"}, 8, 73.2, 91.3},
	{[]string{"q_proj", "k_proj"}, 4, 71.4, 91.3},
	{[]string{"q_proj", "v_proj"}, 4, 73.7, 91.3},
	{[]string{"q_proj", "k_proj", "v_proj", "o_proj"}, 2, 73.7, 91.7},
}

// Table5Budget is the paper's trainable-parameter budget for Table 5.
const Table5Budget = 18_000_000

// Table6 is the paper's Table 6: validation accuracy at r = 1, 2, 4, 8 and
// 64 for three target sets. (The paper has no r = 16 column.)
var Table6 = []PaperRow{
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

// PaperTable5 returns the Table 5 row for targets (in any order), if the
// paper has one.
func PaperTable5(targets []string) (PaperRow, bool) {
	for _, r := range Table5 {
		if sameSet(r.Targets, targets) {
			return r, true
		}
	}
	return PaperRow{}, false
}

// PaperTable6 returns the Table 6 row for targets at rank r, if the paper
// has one.
func PaperTable6(targets []string, r int) (PaperRow, bool) {
	for _, row := range Table6 {
		if row.Rank == r && sameSet(row.Targets, targets) {
			return row, true
		}
	}
	return PaperRow{}, false
}

func sameSet(a, b []string) bool {
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
