package eval

import (
	"context"
	"math"
	"testing"

	"github.com/supplyline/supplyline/dataset"
)

// A weekly cycle that vanishes gives the stationary optimum.
func TestPeriodicDPMatchesStationaryInTheLimit(t *testing.T) {
	ctx := context.Background()
	for _, L := range []int{1, 2} {
		flat, err := ReplenishTask{LeadTime: L, Demand: dataset.DemandProcess{Base: 4}}.SolveDP(ctx)
		if err != nil {
			t.Fatal(err)
		}
		weekly, err := ReplenishTask{LeadTime: L, Demand: dataset.DemandProcess{Base: 4, WeeklyAmp: 1e-12}}.SolveDP(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !weekly.Periodic || flat.Periodic {
			t.Fatalf("L=%d: periodic %v, %v", L, weekly.Periodic, flat.Periodic)
		}
		if math.Abs(weekly.Cost-flat.Cost) > 1e-6 {
			t.Errorf("L=%d: weekly DP %.9f, stationary DP %.9f", L, weekly.Cost, flat.Cost)
		}
	}
}

// Under a real weekly cycle the optimum is no worse than any base-stock
// level (each evaluated exactly on the same chains), strictly better than
// the best of them, and the simulated optimal policy costs what the
// program says.
func TestPeriodicDPBeatsEveryBaseStock(t *testing.T) {
	ctx := context.Background()
	task := ReplenishTask{LeadTime: 2, Demand: dataset.DemandProcess{Base: 4, WeeklyAmp: 0.5}, Episodes: 40, Days: 400, WarmupDays: 50}.WithDefaults()
	dp, err := task.SolveDP(ctx)
	if err != nil {
		t.Fatal(err)
	}
	best := math.Inf(1)
	for S := 0; S <= dp.MaxOrder; S++ {
		c, err := dp.WeeklyCost(ctx, BaseStock{S: S})
		if err != nil {
			t.Fatal(err)
		}
		if c < dp.Cost-1e-9 {
			t.Fatalf("base-stock S=%d costs %.6f, below the optimum %.6f", S, c, dp.Cost)
		}
		best = math.Min(best, c)
	}
	if !(dp.Cost < best-1e-3) {
		t.Errorf("a weekday-aware optimum %.4f should beat the best fixed level %.4f", dp.Cost, best)
	}
	r, err := task.Evaluate(ctx, dp.Policy())
	if err != nil {
		t.Fatal(err)
	}
	// 40 episodes of 350 scored days; fixed seed, so this cannot fail at random.
	if math.Abs(r.CostPerDay-dp.Cost) > 4*r.CostCI95+0.02 {
		t.Errorf("simulated optimal policy %.4f +- %.4f, program says %.4f", r.CostPerDay, r.CostCI95, dp.Cost)
	}
	t.Logf("weekly demand mean 4, amp 0.5, L=2: optimum %.4f, best base-stock %.4f, simulated optimum %.4f +- %.4f", dp.Cost, best, r.CostPerDay, r.CostCI95)

	res, err := RunReplenish(ctx, ReplenishTask{LeadTime: 2, Demand: task.Demand, Episodes: 4, Days: 60}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.OptimumExpectedCost == nil || res.OptimumCost == nil || *res.OptimumExpectedCost != dp.Cost || res.Params["search"] != "simulated tuning paths" {
		t.Errorf("RunReplenish reports no weekly optimum, or searched baselines on an exact chain: %+v", res)
	}
	for _, p := range res.Policies {
		if p.ExpectedCost != nil {
			t.Errorf("%s has an exact stationary cost under weekly demand", p.Name)
		}
	}
}

// A lead time of 3 at mean 5.93 (series S04/P001 of the demo world) has a
// base-stock chain whose power method cycled without settling; the lazy
// chain settles it, so every reference gets its exact cost.
func TestStationarySettlesPeriodicChains(t *testing.T) {
	res, err := RunReplenish(context.Background(), ReplenishTask{LeadTime: 3, Demand: dataset.DemandProcess{Base: 5.925973838427325}, Episodes: 2, Days: 40}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Policies {
		if p.ExpectedCost == nil {
			t.Errorf("%s has no exact cost", p.Name)
		}
	}
	if res.OptimumExpectedCost == nil {
		t.Fatal("no optimum")
	}
	for _, p := range res.Policies {
		if p.ExpectedCost != nil && *p.ExpectedCost < *res.OptimumExpectedCost-1e-9 {
			t.Errorf("%s's exact cost %.6f is below the optimum %.6f", p.Name, *p.ExpectedCost, *res.OptimumExpectedCost)
		}
	}
}
