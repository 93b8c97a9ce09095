package eval

import (
	"context"
	"testing"
)

func TestStageDayPositionIsInstallationPosition(t *testing.T) {
	hist := []EchelonDay{{Day: 0, Demand: 3, Stages: []EchelonStage{{Order: 4}, {Order: 6}, {Order: 2}}}}
	today := EchelonDay{Day: 1, Demand: 7, Stages: []EchelonStage{
		{OnHand: 2, Backorders: 5, InTransit: 4, Unfilled: 3},
		{OnHand: 9, Backorders: 3, InTransit: 1, Unfilled: 0},
		{OnHand: 0, Backorders: 0, InTransit: 8},
	}}
	for i := range today.Stages {
		d := stageDay(hist, today, i)
		if d.Position() != today.InstallationPosition(i) {
			t.Errorf("stage %d: pos %d, installation position %d", i, d.Position(), today.InstallationPosition(i))
		}
		wantDem := today.Demand
		if i > 0 {
			wantDem = hist[0].Stages[i-1].Order
		}
		if d.Demand != wantDem || d.Lost != 0 || d.Weekday != 1 {
			t.Errorf("stage %d: %+v, want demand %d", i, d, wantDem)
		}
	}
}

func TestEchelonModelPolicyPlaysEveryStage(t *testing.T) {
	tok := newCharTokenizer()
	m := randomModel(t, testModelConfig(tok.VocabSize(), 96), 4)
	task := EchelonTask{Days: 20, WarmupDays: 2, Episodes: 2, LeadTimes: []int{1, 2, 3}}
	agent := Agent{Echelon: func(lts []int) (EchelonPolicy, error) { return NewEchelonModelPolicy(m, tok, lts) }}
	var costs []float64
	for _, workers := range []int{1, 2} {
		task.Workers = workers
		res, err := task.Run(context.Background(), agent)
		if err != nil {
			t.Fatal(err)
		}
		if res.ModelPolicy != "model" || len(res.Policies) == 0 || res.Policies[0].Decisions != 40 {
			t.Fatalf("workers %d: %+v", workers, res.Policies)
		}
		costs = append(costs, res.ModelCost)
	}
	if costs[0] != costs[1] {
		t.Errorf("model cost %v with 1 worker, %v with 2", costs[0], costs[1])
	}

	// Each stage's own history carries the chain's days, orders included.
	p, err := NewEchelonModelPolicy(m, tok, []int{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	var days []EchelonDay
	for d := 0; d < 5; d++ {
		today := EchelonDay{Day: d, Demand: d + 1, Stages: []EchelonStage{{OnHand: 3}, {OnHand: 10 - d}}}
		q := p.Orders(days, today)
		if len(q) != 2 {
			t.Fatalf("day %d: %d orders", d, len(q))
		}
		today.Stages[0].Order, today.Stages[1].Order = q[0], q[1]
		days = append(days, today)
	}
	for i, h := range p.hist {
		if len(h) != 4 {
			t.Fatalf("stage %d: %d history days, want 4", i, len(h))
		}
		for k, d := range h {
			if d.Order != days[k].Stages[i].Order {
				t.Errorf("stage %d day %d: order %d, chain %d", i, k, d.Order, days[k].Stages[i].Order)
			}
		}
	}
}
