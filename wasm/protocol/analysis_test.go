package protocol

import (
	"strings"
	"testing"
)

func TestAnalysisSpecValidate(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		spec AnalysisSpec
		want string // "" for valid
	}{
		{TypeAnalysisTrain, AnalysisSpec{Rank: 64, Seed: 2, Steps: 300}, ""},
		{TypeAnalysisTrain, AnalysisSpec{}, ""}, // the run's rank and steps
		{TypeAnalysisTrain, AnalysisSpec{Rank: -1}, "must not be negative"},
		{TypeAnalysisTrain, AnalysisSpec{Steps: MaxAnalysisSteps + 1}, "at most"},
		{TypeCombine, AnalysisSpec{Method: "cat", Weights: []float64{0.5, 0.5}}, ""},
		{TypeCombine, AnalysisSpec{Method: "svd", Weights: []float64{0.5, 0.5}}, "method"},
		{TypeCombine, AnalysisSpec{Method: "linear", Weights: []float64{1}}, "1 weights"},
		{TypeCombine, AnalysisSpec{Method: "cat", Weights: []float64{1, 1}, Tokens: MaxSampleTokens + 1}, "tokens"},
		{TypeSubspace, AnalysisSpec{Module: "h.0.attn.q_proj"}, ""},
	} {
		err := tc.spec.Validate(tc.typ)
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %+v: err = %v, want %q", tc.typ, tc.spec, err, tc.want)
		}
	}
}
