package eval

import (
	"math"
	"strings"
	"testing"
)

func TestPromotionRuleDecide(t *testing.T) {
	sum := func(id string, bpb, cost float64) Summary {
		return Summary{RunID: id, Metrics: map[string]float64{MetricBitsPerByte: bpb, "replenish.model_cost": cost}}
	}
	champ := sum("champ", 0.50, 10)
	tests := []struct {
		name       string
		rule       PromotionRule
		champion   *Summary
		challenger Summary
		promote    bool
		reason     string
	}{
		{"first challenger", PromotionRule{}, nil, sum("a", 0.9, 99), true, "no champion yet"},
		{"better primary, other metric within 5%", PromotionRule{}, &champ, sum("b", 0.40, 10.4), true, "improves"},
		{"better primary, other metric regresses", PromotionRule{}, &champ, sum("c", 0.40, 11), false, "regresses by more than 5%"},
		{"equal primary", PromotionRule{}, &champ, sum("d", 0.50, 9), false, "does not improve"},
		{"looser regression bound", PromotionRule{MaxRegression: 0.2}, &champ, sum("e", 0.40, 11), true, "improves"},
		{"no regression allowed", PromotionRule{MaxRegression: -1}, &champ, sum("f", 0.40, 10.01), false, "regresses"},
		{"other primary", PromotionRule{Primary: "replenish.model_cost"}, &champ, sum("g", 0.51, 9), true, "replenish.model_cost improves"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := tc.rule.Decide(tc.champion, tc.challenger)
			if err != nil {
				t.Fatal(err)
			}
			if d.Promote != tc.promote || !strings.Contains(strings.Join(d.Reasons, "; "), tc.reason) {
				t.Errorf("decision %+v, want promote=%v with a reason containing %q", d, tc.promote, tc.reason)
			}
		})
	}
}

func TestPromotionRuleRefusesBadChallengers(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Summary
		want string
	}{
		{"no run id", Summary{Metrics: map[string]float64{MetricBitsPerByte: 1}}, "run_id"},
		{"no metrics", Summary{RunID: "x"}, "metrics: none"},
		{"NaN", Summary{RunID: "x", Metrics: map[string]float64{MetricBitsPerByte: math.NaN()}}, "not finite"},
		{"no primary", Summary{RunID: "x", Metrics: map[string]float64{"replenish.model_cost": 1}}, "no primary metric"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := (PromotionRule{}).Decide(nil, tc.s); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestScorecardSummary(t *testing.T) {
	sc := Scorecard{RunID: "r", Step: 7, HeldOut: &HeldOut{BitsPerByte: 0.6},
		Tasks: []TaskResult{{Name: "replenish", ModelPolicy: "model", ModelCost: 12}, {Name: "no-model"}}}
	s := sc.Summary()
	if s.RunID != "r" || s.Step != 7 || s.Metrics[MetricBitsPerByte] != 0.6 || s.Metrics["replenish.model_cost"] != 12 || len(s.Metrics) != 2 {
		t.Errorf("summary %+v", s)
	}
}
