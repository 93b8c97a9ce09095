package eval

import (
	"context"
	"math"
	"testing"

	"github.com/supplyline/supplyline/dataset"
)

// TestStationarySlowChains: base-stock levels far below a mean of 11.5
// (L = 2, the seed-8 demo world's S02/P002) keep a few states the chain
// leaves only rarely; the power method had not settled after 20,000 damped
// steps and the whole replenish task failed. They are now solved directly,
// and the solution is stationary to rounding.
func TestStationarySlowChains(t *testing.T) {
	ctx := context.Background()
	task := ReplenishTask{Demand: dataset.DemandProcess{Base: 11.48}, LeadTime: 2}.WithDefaults()
	dp, err := task.SolveDP(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := dp.m
	for S := 1; S <= 6; S++ {
		st, err := dp.Stationary(ctx, BaseStock{S: S})
		if err != nil {
			t.Fatalf("S=%d: %v", S, err)
		}
		if !st.Direct {
			t.Errorf("S=%d settled by the power method (%d steps); the test expects a slow chain", S, st.Iterations)
		}
		fixed := m.table(BaseStock{S: S})
		pi, ok := m.stationaryDirect(fixed, m.B*m.P)
		if !ok {
			t.Fatalf("S=%d: no direct solution", S)
		}
		var mass, resid float64
		next := make([]float64, len(pi))
		m.step(next, pi, fixed)
		for i, p := range next {
			mass += pi[i]
			resid += math.Abs(p - pi[i])
		}
		if math.Abs(mass-1) > 1e-12 || resid > 1e-12 {
			t.Errorf("S=%d: mass %v, |pi P - pi| = %g", S, mass, resid)
		}
		if st.Cost <= 0 || st.FillRate < 0 || st.FillRate > 1 {
			t.Errorf("S=%d: %+v", S, st)
		}
	}
	// On a chain the power method settles, the two agree.
	for _, S := range []int{14, 28} {
		power, err := dp.Stationary(ctx, BaseStock{S: S})
		if err != nil || power.Direct {
			t.Fatalf("S=%d: %+v %v", S, power, err)
		}
		fixed := m.table(BaseStock{S: S})
		pi, ok := m.stationaryDirect(fixed, m.B*m.P)
		if !ok {
			t.Fatalf("S=%d: no direct solution", S)
		}
		direct := m.summarise(pi, 1, fixed, 0)
		if math.Abs(direct.Cost-power.Cost) > 1e-9 || math.Abs(direct.FillRate-power.FillRate) > 1e-10 || direct.States != power.States {
			t.Errorf("S=%d: direct %+v, power method %+v", S, direct, power)
		}
	}
	bs, cost, err := dp.BestBaseStock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if bs.S < 20 || bs.S > 40 || cost > 10 {
		t.Errorf("best base-stock %d at %.3f per day", bs.S, cost)
	}
}

func TestSCCs(t *testing.T) {
	// 0 -> 1 -> 2 -> 0, 2 -> 3, 3 -> 4 -> 3, 5 alone.
	adj := [][]int{{1}, {2}, {0, 3}, {4}, {3}, nil}
	comp := sccs(adj)
	same := func(a, b int) bool { return comp[a] == comp[b] }
	if !same(0, 1) || !same(1, 2) || !same(3, 4) || same(0, 3) || same(5, 0) || same(5, 3) {
		t.Fatalf("components %v", comp)
	}
}
