package paper

import "testing"

func TestPaperTables(t *testing.T) {
	// The paper's headline holds in
	// the data: q,v at r=4 beats q alone at r=8 on both tasks.
	qv, ok1 := Lookup5([]string{"v_proj", "q_proj"})
	q, ok2 := Lookup5([]string{"q_proj"})
	if !ok1 || !ok2 || !(qv.WikiSQL > q.WikiSQL && qv.MultiNLI > q.MultiNLI) {
		t.Errorf("Table 5: q,v %+v vs q %+v", qv, q)
	}
	if _, ok := Lookup6([]string{"q_proj", "v_proj"}, 16); ok {
		t.Error("Table 6 has no r=16 column")
	}
	r, ok := Lookup6([]string{"q_proj", "k_proj", "v_proj", "o_proj"}, 1)
	if !ok || r.WikiSQL != 74.1 || r.MultiNLI != 91.2 {
		t.Errorf("Table 6 q,k,v,o r=1: %+v", r)
	}
}
