package eval

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/supplyline/supplyline/dataset"
)

// randomEchelon orders at random, sometimes below zero.
type randomEchelon struct{ rng *rand.Rand }

func (randomEchelon) Name() string { return "random" }
func (p randomEchelon) Orders(_ []EchelonDay, today EchelonDay) []int {
	out := make([]int, len(today.Stages))
	for i := range out {
		out[i] = p.rng.IntN(14) - 2
	}
	return out
}

func TestEchelonConservation(t *testing.T) {
	for _, tc := range []struct {
		name string
		task EchelonTask
	}{
		{"3-stages", EchelonTask{Stages: 3, LeadTimes: []int{1, 2, 3}, Days: 90, Seed: 1}},
		{"4-stages-negbin", EchelonTask{Demand: dataset.DemandProcess{Base: 6, Dispersion: 0.5}, Days: 90, Seed: 2}},
	} {
		task := tc.task.WithDefaults()
		for _, p := range []EchelonPolicy{PassThrough{}, EchelonBaseStock{S: task.NaiveEchelonLevels()}, task.NaiveInstallation(), randomEchelon{rand.New(rand.NewPCG(1, 1))}} {
			t.Run(tc.name+"/"+p.Name(), func(t *testing.T) {
				for _, path := range drawPaths(task.Demand, task.Seed, task.Days, 3, evalStream) {
					ep := task.simulate(p, path)
					f := ep.final
					for i := range task.Stages {
						if ep.initial[i]+ep.received[i]-ep.shipped[i] != f.Stages[i].OnHand {
							t.Errorf("stage %d: initial %d + received %d - shipped %d != on hand %d", i, ep.initial[i], ep.received[i], ep.shipped[i], f.Stages[i].OnHand)
						}
						// What stage i ordered was shipped to it or is still owed.
						shippedToI := ep.received[i] + f.Stages[i].InTransit
						if i < task.Stages-1 && ep.ordered[i] != ep.shipped[i+1]+f.Stages[i].Unfilled {
							t.Errorf("stage %d: ordered %d != shipped by its supplier %d + unfilled %d", i, ep.ordered[i], ep.shipped[i+1], f.Stages[i].Unfilled)
						}
						if i < task.Stages-1 && ep.shipped[i+1] != shippedToI {
							t.Errorf("stage %d: supplier shipped %d, received %d + in transit %d", i, ep.shipped[i+1], ep.received[i], f.Stages[i].InTransit)
						}
						if i == task.Stages-1 && ep.ordered[i] != shippedToI {
							t.Errorf("last stage: ordered %d, received %d + in transit %d", ep.ordered[i], ep.received[i], f.Stages[i].InTransit)
						}
						// The echelon position moves only by the stage's orders and demand.
						init := 0
						for j := 0; j <= i; j++ {
							init += ep.initial[j]
						}
						if got, want := f.EchelonPosition(i), init+ep.ordered[i]-ep.demand; got != want {
							t.Errorf("stage %d: echelon position %d, want initial %d + ordered %d - demand %d", i, got, init, ep.ordered[i], ep.demand)
						}
						if f.Stages[i].OnHand < 0 || f.Stages[i].Backorders < 0 || f.Stages[i].InTransit < 0 {
							t.Errorf("stage %d negative: %+v", i, f.Stages[i])
						}
						if f.Stages[i].OnHand > 0 && f.Stages[i].Backorders > 0 {
							t.Errorf("stage %d holds %d while it owes %d", i, f.Stages[i].OnHand, f.Stages[i].Backorders)
						}
					}
					if ep.demand != ep.served+f.Stages[0].Backorders || ep.shipped[0] != ep.served {
						t.Errorf("customers: demand %d, served %d, backordered %d", ep.demand, ep.served, f.Stages[0].Backorders)
					}
				}
			})
		}
	}
}

// TestEchelonBaseStockBeatsNaive: the searched echelon base-stock beats
// each naive policy by more than the 95% half-width of the paired
// per-episode difference on the same demand paths.
func TestEchelonBaseStockBeatsNaive(t *testing.T) {
	for _, task := range []EchelonTask{
		{Seed: 1, Episodes: 16},
		{Stages: 3, LeadTimes: []int{1, 1, 3}, Holding: []float64{3, 2, 2}, Backorder: 10, Demand: dataset.DemandProcess{Base: 8, Dispersion: 0.2}, Seed: 2, Episodes: 16},
	} {
		t.Run(fmt.Sprint(task.WithDefaults().Stages, "-stages"), func(t *testing.T) {
			res, err := task.Run(context.Background(), Agent{})
			if err != nil {
				t.Fatal(err)
			}
			tuned := res.Policies[0]
			if !strings.HasPrefix(tuned.Name, "echelon-base-stock(") || res.BestBaseline != tuned.Name || res.OptimumCost != nil || !strings.Contains(res.OptimumNote, "Clark-Scarf") {
				t.Fatalf("result %+v", res)
			}
			for _, p := range res.Policies[1:] {
				ci := pairedCI95(p, tuned)
				t.Logf("%s %.3f vs %s %.3f: difference %.3f ± %.3f", tuned.Name, tuned.CostPerDay, p.Name, p.CostPerDay, p.CostPerDay-tuned.CostPerDay, ci)
				if strings.HasPrefix(p.Name, "echelon-base-stock-naive") {
					// The same policy form at its search's starting levels: the
					// search must not make it worse, and may gain little.
					if p.CostPerDay-tuned.CostPerDay < -ci {
						t.Errorf("search made %s worse: %.3f vs %.3f", p.Name, tuned.CostPerDay, p.CostPerDay)
					}
					continue
				}
				if p.CostPerDay-tuned.CostPerDay <= ci {
					t.Errorf("%s %.3f does not clearly beat %s %.3f (paired half-width %.3f)", tuned.Name, tuned.CostPerDay, p.Name, p.CostPerDay, ci)
				}
			}
		})
	}
}

func TestEchelonValidate(t *testing.T) {
	for name, task := range map[string]EchelonTask{
		"one-stage":        {Stages: 1},
		"holding-rises":    {Holding: []float64{1, 2, 3, 4}},
		"lead-times-count": {Stages: 3, LeadTimes: []int{1, 2}},
		"zero-lead":        {LeadTimes: []int{0, 1, 1}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := task.Run(context.Background(), Agent{}); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestFormatEchelonDay(t *testing.T) {
	d := EchelonDay{Day: 3, Demand: 4, Stages: []EchelonStage{{OnHand: 1, Backorders: 0, InTransit: 5, Unfilled: 2, Order: 6}, {OnHand: 9, Order: 3}}}
	want := "d=3 dem=4 | s0 oh=1 bo=0 tr=5 uf=2 ord=6 | s1 oh=9 bo=0 tr=0 uf=0 ord=3\n"
	if got := FormatEchelonDay(d); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
