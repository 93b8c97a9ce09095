package eval

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/tokenize"
)

// orderZero never orders: the silly policy every baseline must beat.
type orderZero struct{}

func (orderZero) Name() string                                                 { return "order-zero" }
func (orderZero) Order(_ []tokenize.InventoryDay, _ tokenize.InventoryDay) int { return 0 }

// randomOrders orders uniformly at random, sometimes above any cap and
// sometimes below zero, to exercise the simulator's edges.
type randomOrders struct{ rng *rand.Rand }

func (randomOrders) Name() string { return "random" }

// Fork gives every episode its own generator, seeded alike, so episodes
// can run in parallel and still give the same result.
func (randomOrders) Fork() Policy { return randomOrders{rand.New(rand.NewPCG(1, 2))} }
func (p randomOrders) Order(_ []tokenize.InventoryDay, _ tokenize.InventoryDay) int {
	return p.rng.IntN(60) - 5
}

func TestSimulatorConservation(t *testing.T) {
	demands := map[string]dataset.DemandProcess{
		"poisson":  {Base: 5},
		"seasonal": {Base: 8, WeeklyAmp: 0.4, YearlyAmp: 0.2, Trend: 0.1, PromoLift: 2, PromoProb: 0.1, Dispersion: 0.3},
		"zero":     {Base: 0.0001},
	}
	policies := map[string]func() Policy{
		"order-zero": func() Policy { return orderZero{} },
		"base-stock": func() Policy { return BaseStock{S: 17} },
		"random":     func() Policy { return randomOrders{rand.New(rand.NewPCG(1, 2))} },
	}
	for dname, dem := range demands {
		for pname, mk := range policies {
			for _, lt := range []int{1, 2, 4} {
				t.Run(dname+"/"+pname+"/L"+string(rune('0'+lt)), func(t *testing.T) {
					task := ReplenishTask{Demand: dem, LeadTime: lt, Days: 90, MaxOrder: 40, Seed: 5}.WithDefaults()
					for _, path := range task.demandPaths(3, evalStream) {
						ep := task.simulate(mk(), path)
						if ep.demand != ep.sold+ep.lost {
							t.Errorf("demand %d != sold %d + lost %d", ep.demand, ep.sold, ep.lost)
						}
						if ep.initial+ep.received-ep.sold != ep.finalOnHand {
							t.Errorf("initial %d + received %d - sold %d != final on hand %d", ep.initial, ep.received, ep.sold, ep.finalOnHand)
						}
						if ep.ordered != ep.received+ep.finalPipeline {
							t.Errorf("ordered %d != received %d + final pipeline %d", ep.ordered, ep.received, ep.finalPipeline)
						}
						for d, day := range ep.days {
							want := 0
							for k := max(0, d-lt+1); k < d; k++ {
								want += ep.days[k].Order
							}
							if day.Pipeline != want {
								t.Fatalf("day %d: pipeline %d, want the last %d orders' sum %d", d, day.Pipeline, lt-1, want)
							}
							if day.OnHand < 0 || day.Order < 0 || day.Order > task.MaxOrder || day.Lost < 0 || day.Lost > day.Demand {
								t.Fatalf("day %d out of range: %+v", d, day)
							}
							if day.Lost > 0 && endOnHand(day) != 0 {
								t.Fatalf("day %d lost sales with %d left on the shelf", d, endOnHand(day))
							}
							if day.Weekday != d%7 || day.Demand != path[d] {
								t.Fatalf("day %d: weekday %d demand %d, want %d %d", d, day.Weekday, day.Demand, d%7, path[d])
							}
						}
						if ep.scoredDays != task.Days-task.WarmupDays {
							t.Errorf("scored %d days, want %d", ep.scoredDays, task.Days-task.WarmupDays)
						}
					}
				})
			}
		}
	}
}

func TestSimulatorCountsInvalidAndCapped(t *testing.T) {
	task := ReplenishTask{Days: 50, WarmupDays: -1, Episodes: 2, MaxOrder: 30}
	r, err := task.Evaluate(context.Background(), randomOrders{rand.New(rand.NewPCG(3, 4))})
	if err != nil {
		t.Fatal(err)
	}
	if r.Decisions != 100 || r.InvalidActions == 0 || r.CappedActions == 0 {
		t.Errorf("decisions %d invalid %d capped %d; want 100 and some of each", r.Decisions, r.InvalidActions, r.CappedActions)
	}
}

func TestCommonRandomNumbers(t *testing.T) {
	task := ReplenishTask{Seed: 11}.WithDefaults()
	a, b := task.demandPaths(task.Episodes, evalStream), task.demandPaths(task.Episodes, evalStream)
	tune := task.demandPaths(task.Episodes, tuningStream)
	same := true
	for e := range a {
		for d := range a[e] {
			if a[e][d] != b[e][d] {
				t.Fatalf("episode %d day %d: %d then %d", e, d, a[e][d], b[e][d])
			}
			same = same && a[e][d] == tune[e][d]
		}
	}
	if same {
		t.Error("tuning paths equal evaluation paths")
	}
}

func TestBaseStockBaselines(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		task ReplenishTask
	}{
		{"poisson-L2", ReplenishTask{Seed: 1}},
		{"poisson-L1-high-penalty", ReplenishTask{LeadTime: 1, LostSale: 19, Demand: dataset.DemandProcess{Base: 3}, Seed: 2}},
		{"seasonal-L3", ReplenishTask{LeadTime: 3, Demand: dataset.DemandProcess{Base: 10, WeeklyAmp: 0.3, Dispersion: 0.2}, Seed: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			zero, err := tc.task.Evaluate(ctx, orderZero{})
			if err != nil {
				t.Fatal(err)
			}
			tuned, tuneCost, err := tc.task.TuneBaseStock(ctx)
			if err != nil {
				t.Fatal(err)
			}
			naive := tc.task.NaiveBaseStock()
			tr, err := tc.task.Evaluate(ctx, tuned)
			if err != nil {
				t.Fatal(err)
			}
			nr, err := tc.task.Evaluate(ctx, naive)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("order-zero %.3f, naive S=%d %.3f, tuned S=%d %.3f (tuning paths %.3f)", zero.CostPerDay, naive.S, nr.CostPerDay, tuned.S, tr.CostPerDay, tuneCost)
			if tr.CostPerDay >= zero.CostPerDay {
				t.Errorf("tuned base-stock %.3f does not beat ordering nothing %.3f", tr.CostPerDay, zero.CostPerDay)
			}
			if tr.CostPerDay > nr.CostPerDay {
				t.Errorf("tuned base-stock %.3f is worse than the untuned S=%d %.3f", tr.CostPerDay, naive.S, nr.CostPerDay)
			}
			if zero.FillRate > 0.2 || tr.FillRate < 0.8 {
				t.Errorf("fill rates: order-zero %.3f, tuned %.3f", zero.FillRate, tr.FillRate)
			}
		})
	}
}

func TestDPOptimum(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		task ReplenishTask
	}{
		{"L1", ReplenishTask{LeadTime: 1, Demand: dataset.DemandProcess{Base: 4}, Seed: 4, Days: 300}},
		{"L2", ReplenishTask{LeadTime: 2, Demand: dataset.DemandProcess{Base: 3}, LostSale: 4, Seed: 5, Days: 300}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sol, err := tc.task.SolveDP(ctx)
			if err != nil {
				t.Fatal(err)
			}
			bestS, bestG := -1, math.Inf(1)
			for s := 0; s <= sol.MaxOrder; s++ {
				g, err := sol.ExpectedCost(ctx, BaseStock{S: s})
				if err != nil {
					t.Fatal(err)
				}
				if g < sol.Cost-1e-6 {
					t.Fatalf("base-stock S=%d expects %.6f per day, below the DP optimum %.6f", s, g, sol.Cost)
				}
				if g < bestG {
					bestS, bestG = s, g
				}
			}
			t.Logf("DP optimum %.4f (A=%d M=%d, %d sweeps); best base-stock S=%d expects %.4f (%.2f%% above)",
				sol.Cost, sol.MaxOrder, sol.MaxOnHand, sol.Iterations, bestS, bestG, 100*(bestG-sol.Cost)/sol.Cost)
			if tc.task.WithDefaults().LeadTime == 1 && bestG-sol.Cost > 1e-6 {
				// With L=1 nothing is outstanding at decision time, and base-stock is optimal.
				t.Errorf("L=1: best base-stock %.6f, DP %.6f; they should agree", bestG, sol.Cost)
			}
			dp, err := tc.task.Evaluate(ctx, sol.Policy())
			if err != nil {
				t.Fatal(err)
			}
			tuned, _, err := tc.task.TuneBaseStock(ctx)
			if err != nil {
				t.Fatal(err)
			}
			bs, err := tc.task.Evaluate(ctx, tuned)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("simulated: dp-optimal %.4f, tuned base-stock S=%d %.4f", dp.CostPerDay, tuned.S, bs.CostPerDay)
			if dp.CostPerDay > bs.CostPerDay*1.02 {
				t.Errorf("simulated DP policy %.4f is more than 2%% worse than base-stock %.4f", dp.CostPerDay, bs.CostPerDay)
			}
			if math.Abs(dp.CostPerDay-sol.Cost) > 0.1*sol.Cost {
				t.Errorf("simulated DP policy %.4f is far from its expectation %.4f", dp.CostPerDay, sol.Cost)
			}
		})
	}
}

func TestSolveDPNoOptimum(t *testing.T) {
	ctx := context.Background()
	for name, task := range map[string]ReplenishTask{
		"yearly":     {Demand: dataset.DemandProcess{Base: 5, WeeklyAmp: 0.2, YearlyAmp: 0.1}},
		"dispersion": {Demand: dataset.DemandProcess{Base: 5, Dispersion: 1.5}},
		"promo-high": {Demand: dataset.DemandProcess{Base: 20, PromoProb: 0.1, PromoLift: 4}},
		"trend":      {Demand: dataset.DemandProcess{Base: 5, Trend: 0.1}},
		"too-large":  {LeadTime: 5, Demand: dataset.DemandProcess{Base: 20}},
		"high-mean":  {LeadTime: 1, Demand: dataset.DemandProcess{Base: 80}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := task.SolveDP(ctx); !errors.Is(err, ErrNoOptimum) {
				t.Errorf("got %v, want ErrNoOptimum", err)
			}
		})
	}
}

func TestReplenishTaskValidate(t *testing.T) {
	for name, task := range map[string]ReplenishTask{
		"negative-lead": {LeadTime: -1},
		"warmup-all":    {Days: 10, WarmupDays: 10},
		"max-order":     {MaxOrder: 10000},
		"negative-cost": {Holding: -1},
		"bad-promo":     {Demand: dataset.DemandProcess{Base: 1, PromoProb: 2}},
	} {
		t.Run(name, func(t *testing.T) {
			if err := task.WithDefaults().Validate(); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("got %v, want ErrInvalidConfig", err)
			}
		})
	}
	if err := (ReplenishTask{}).WithDefaults().Validate(); err != nil {
		t.Errorf("zero task: %v", err)
	}
}

func TestRunReplenishBaselines(t *testing.T) {
	res, err := RunReplenish(context.Background(), ReplenishTask{LeadTime: 2, Demand: dataset.DemandProcess{Base: 4}, Seed: 9}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.ModelPolicy != "" || res.OptimumCost == nil || res.OptimumExpectedCost == nil || len(res.Policies) != 6 {
		t.Fatalf("unexpected result %+v", res)
	}
	for _, p := range res.Policies {
		if p.Name == res.BestBaseline && p.CostPerDay != res.BestBaselineCost {
			t.Errorf("best baseline %s costs %g in its row, %g in the summary", p.Name, p.CostPerDay, res.BestBaselineCost)
		}
	}
	for _, p := range res.Policies {
		if p.ExpectedCost == nil || p.CostCI95 <= 0 || p.Episodes != 8 {
			t.Errorf("%s: expected cost %v, CI %g over %d episodes", p.Name, p.ExpectedCost, p.CostCI95, p.Episodes)
			continue
		}
		if *p.ExpectedCost < *res.OptimumExpectedCost-1e-7 {
			t.Errorf("%s expects %.6f, below the optimum %.6f", p.Name, *p.ExpectedCost, *res.OptimumExpectedCost)
		}
		// The simulated cost is an estimate of the exact one: the two may
		// differ by sampling noise, bounded here by a wide multiple of the CI.
		if d := math.Abs(p.CostPerDay - *p.ExpectedCost); d > 4*p.CostCI95+0.05*(*p.ExpectedCost) {
			t.Errorf("%s: simulated %.4f ± %.4f, exact %.4f", p.Name, p.CostPerDay, p.CostCI95, *p.ExpectedCost)
		}
	}
}
