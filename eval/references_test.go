package eval

import (
	"context"
	"math"
	"reflect"
	"runtime"
	"testing"

	"github.com/supplyline/supplyline/dataset"
)

// exactCases are small instances whose chains the tests solve exactly.
var exactCases = []struct {
	name string
	task ReplenishTask
}{
	{"poisson-L1", ReplenishTask{LeadTime: 1, Demand: dataset.DemandProcess{Base: 4}}},
	{"poisson-L2", ReplenishTask{LeadTime: 2, Demand: dataset.DemandProcess{Base: 3}, LostSale: 4}},
	{"poisson-L3", ReplenishTask{LeadTime: 3, Demand: dataset.DemandProcess{Base: 2}}},
	{"negbin-L2", ReplenishTask{LeadTime: 2, Demand: dataset.DemandProcess{Base: 3, Dispersion: 0.5}}},
	{"promo-L2", ReplenishTask{LeadTime: 2, Demand: dataset.DemandProcess{Base: 2, PromoProb: 0.2, PromoLift: 3}}},
	{"backlog-poisson-L2", ReplenishTask{LeadTime: 2, Demand: dataset.DemandProcess{Base: 3}, Backlog: true}},
	{"backlog-negbin-L1", ReplenishTask{LeadTime: 1, Demand: dataset.DemandProcess{Base: 4, Dispersion: 0.3}, Backlog: true}},
}

// TestDPBeatsEveryBaseStockAndSS checks the optimum against the exact
// stationary cost of every base-stock level and a grid of (s,S) pairs, on
// the same truncated chain: the inequalities are exact, up to the solvers'
// tolerances (1e-9 relative for value iteration, 1e-13 for the power method).
func TestDPBeatsEveryBaseStockAndSS(t *testing.T) {
	ctx := context.Background()
	for _, tc := range exactCases {
		t.Run(tc.name, func(t *testing.T) {
			sol, err := tc.task.SolveDP(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tol := 1e-7 * math.Max(1, sol.Cost)
			// The optimal policy's own stationary cost is the DP's gain: two
			// independent computations of one number.
			own, err := sol.Stationary(ctx, sol.Policy())
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(own.Cost-sol.Cost) > tol {
				t.Errorf("optimal policy's stationary cost %.9f, DP gain %.9f", own.Cost, sol.Cost)
			}
			bestBS, bestBSCost, err := sol.BestBaseStock(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for s := 0; s <= sol.MaxOrder; s++ {
				g, err := sol.ExpectedCost(ctx, BaseStock{S: s})
				if err != nil {
					t.Fatal(err)
				}
				if g < sol.Cost-tol {
					t.Fatalf("base-stock S=%d expects %.9f, below the optimum %.9f", s, g, sol.Cost)
				}
				if g < bestBSCost-1e-12 {
					t.Errorf("base-stock S=%d expects %.9f, below the best found, S=%d at %.9f", s, g, bestBS.S, bestBSCost)
				}
			}
			bestSS, bestSSCost, err := sol.BestSS(ctx, bestBS.S)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range ssGrid(bestBS.S, sol.MaxOrder, sol.Backlog) {
				g, err := sol.ExpectedCost(ctx, p)
				if err != nil {
					t.Fatal(err)
				}
				if g < sol.Cost-tol {
					t.Fatalf("%s expects %.9f, below the optimum %.9f", p.Name(), g, sol.Cost)
				}
			}
			if bestSSCost > bestBSCost+1e-12 {
				t.Errorf("best (s,S) %s %.9f is worse than best base-stock %.9f, which the grid holds", bestSS.Name(), bestSSCost, bestBSCost)
			}
			nv, err := tc.task.Newsvendor()
			if err != nil {
				t.Fatal(err)
			}
			nvCost, err := sol.ExpectedCost(ctx, nv)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("DP %.4f (%d sweeps, A=%d M=%d B=%d); base-stock S=%d %.4f; %s %.4f; %s %.4f",
				sol.Cost, sol.Iterations, sol.MaxOrder, sol.MaxOnHand, sol.MaxBackorder, bestBS.S, bestBSCost, bestSS.Name(), bestSSCost, nv.Name(), nvCost)
			L1 := tc.task.WithDefaults().LeadTime == 1
			if (sol.Backlog || L1) && bestBSCost-sol.Cost > tol {
				// With backlog, or nothing outstanding at decision time, base-stock is optimal.
				t.Errorf("best base-stock %.9f, DP %.9f; base-stock is optimal here and they should agree", bestBSCost, sol.Cost)
			}
			if sol.Backlog && nv.S != bestBS.S {
				// With backlog and linear costs the critical fractile is the optimal level.
				t.Errorf("backlog: newsvendor S=%d, best base-stock S=%d; they should agree", nv.S, bestBS.S)
			}
		})
	}
}

// TestNewsvendorIsCriticalFractile checks the newsvendor level against the
// lead-time demand distribution computed independently, in closed form:
// the sum of L Poisson(m) days is Poisson(Lm), of L NB(r, m) days NB(Lr, Lm).
func TestNewsvendorIsCriticalFractile(t *testing.T) {
	for _, tc := range []struct {
		name string
		task ReplenishTask
	}{
		{"poisson-L1", ReplenishTask{LeadTime: 1, Demand: dataset.DemandProcess{Base: 4}}},
		{"poisson-L2", ReplenishTask{LeadTime: 2}},
		{"poisson-L3-cr-0.5", ReplenishTask{LeadTime: 3, Demand: dataset.DemandProcess{Base: 7}, LostSale: 2, Holding: 2}},
		{"negbin-L2", ReplenishTask{LeadTime: 2, Demand: dataset.DemandProcess{Base: 6, Dispersion: 0.4}, LostSale: 19}},
		{"negbin-L3", ReplenishTask{LeadTime: 3, Demand: dataset.DemandProcess{Base: 2, Dispersion: 1}, LostSale: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			task := tc.task.WithDefaults()
			nv, err := task.Newsvendor()
			if err != nil {
				t.Fatal(err)
			}
			cr := task.LostSale / (task.LostSale + task.Holding)
			L, m, disp := float64(task.LeadTime), task.Demand.Base, task.Demand.Dispersion
			logPMF := func(k int) float64 {
				if disp == 0 {
					lg, _ := math.Lgamma(float64(k) + 1)
					return float64(k)*math.Log(L*m) - L*m - lg
				}
				r, mu := L/disp, L*m
				a, _ := math.Lgamma(r + float64(k))
				b, _ := math.Lgamma(r)
				c, _ := math.Lgamma(float64(k) + 1)
				return a - b - c + r*math.Log(r/(r+mu)) + float64(k)*math.Log(mu/(r+mu))
			}
			cdf := func(s int) float64 {
				var c float64
				for k := 0; k <= s; k++ {
					c += math.Exp(logPMF(k))
				}
				return c
			}
			if !(cdf(nv.S) >= cr && (nv.S == 0 || cdf(nv.S-1) < cr)) {
				t.Errorf("newsvendor S=%d: F(S-1)=%.6f F(S)=%.6f, critical ratio %.4f", nv.S, cdf(nv.S-1), cdf(nv.S), cr)
			}
		})
	}
}

// TestParallelEqualsSerial: the scores do not depend on the number of
// workers or on GOMAXPROCS.
func TestParallelEqualsSerial(t *testing.T) {
	ctx := context.Background()
	run := func(workers, procs int) (TaskResult, TaskResult, TaskResult) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		exact, err := RunReplenish(ctx, ReplenishTask{Demand: dataset.DemandProcess{Base: 3}, Days: 60, Seed: 3, Workers: workers}, randomOrders{})
		if err != nil {
			t.Fatal(err)
		}
		sim, err := RunReplenish(ctx, ReplenishTask{Demand: dataset.DemandProcess{Base: 3, WeeklyAmp: 0.3}, Days: 60, Episodes: 5, Seed: 3, Workers: workers}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ech, err := EchelonTask{Stages: 3, Days: 60, Episodes: 5, Seed: 3, Workers: workers}.Run(ctx, Agent{})
		if err != nil {
			t.Fatal(err)
		}
		return exact, sim, ech
	}
	a1, b1, c1 := run(1, 1)
	a2, b2, c2 := run(4, 2)
	a3, b3, c3 := run(0, 2)
	for i, pair := range [][2]TaskResult{{a1, a2}, {a1, a3}, {b1, b2}, {b1, b3}, {c1, c2}, {c1, c3}} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("pair %d: serial and parallel results differ:\n%+v\n%+v", i, pair[0], pair[1])
		}
	}
}

func TestBacklogSimulator(t *testing.T) {
	task := ReplenishTask{Backlog: true, Days: 80, Seed: 2, Demand: dataset.DemandProcess{Base: 6, Dispersion: 0.3}}.WithDefaults()
	for _, p := range []Policy{orderZero{}, BaseStock{S: 9}, SS{Low: 4, S: 14}} {
		for _, path := range task.demandPaths(3, evalStream) {
			ep := task.simulate(p, path)
			if ep.initial+ep.received-ep.demand != ep.finalOnHand {
				t.Errorf("%s: initial %d + received %d - demand %d != final net inventory %d", p.Name(), ep.initial, ep.received, ep.demand, ep.finalOnHand)
			}
			if ep.ordered != ep.received+ep.finalPipeline || ep.lost != 0 || ep.sold > ep.demand {
				t.Errorf("%s: ordered %d received %d pipeline %d lost %d sold %d", p.Name(), ep.ordered, ep.received, ep.finalPipeline, ep.lost, ep.sold)
			}
		}
	}
	// Ordering nothing piles up backorders: the cost grows without bound.
	zero, err := task.Evaluate(context.Background(), orderZero{})
	if err != nil {
		t.Fatal(err)
	}
	bs, err := task.Evaluate(context.Background(), BaseStock{S: 14})
	if err != nil {
		t.Fatal(err)
	}
	if zero.CostPerDay < 10*bs.CostPerDay {
		t.Errorf("backlog: ordering nothing %.3f, base-stock %.3f", zero.CostPerDay, bs.CostPerDay)
	}
}

func TestRunReplenishWithoutExactChain(t *testing.T) {
	res, err := RunReplenish(context.Background(), ReplenishTask{Demand: dataset.DemandProcess{Base: 5, YearlyAmp: 0.3}, Seed: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.OptimumCost != nil || res.OptimumNote == "" || res.Params["search"] != "simulated tuning paths" {
		t.Errorf("yearly demand: optimum %v, note %q, search %v", res.OptimumCost, res.OptimumNote, res.Params["search"])
	}
	for _, p := range res.Policies {
		if p.ExpectedCost != nil || p.CostCI95 <= 0 {
			t.Errorf("%s: expected cost %v, CI %g", p.Name, p.ExpectedCost, p.CostCI95)
		}
	}
}
