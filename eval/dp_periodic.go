package eval

import (
	"context"
	"fmt"
	"math"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/tokenize"
)

// The exact optimum under periodic demand: the synthetic world's
// known-demand mode draws Poisson demand whose mean follows the weekday
// (DemandProcess.WeeklyAmp), the same every week. The state at a decision
// is then the stationary DP's state plus the weekday, and the optimal
// policy depends on both. dpModel's chain is kept per weekday (tomorrow's
// demand distribution and day cost), with the truncation of the busiest
// weekday for all, and relative value iteration runs on the week: one
// iteration applies the seven daily Bellman operators backwards from the
// end of the week, an operator on the week-start values whose chain is
// aperiodic; its gain divided by seven is the optimal cost per day.

// periodLen is the demand period in days.
const periodLen = 7

// periodicDemand reports whether d is periodic with the week and otherwise
// exact: a weekly cycle, no yearly cycle or trend.
func periodicDemand(d dataset.DemandProcess) bool {
	return d.WeeklyAmp != 0 && d.YearlyAmp == 0 && d.Trend == 0
}

// dayProcess is the stationary process of weekday p of d: the same draw
// with the weekday's mean.
func dayProcess(d dataset.DemandProcess, p int) dataset.DemandProcess {
	day := d
	day.Base, day.WeeklyAmp = d.Mean(p), 0
	return day
}

// solvePeriodicDP solves t (defaults applied, valid) for weekly demand.
func (t ReplenishTask) solvePeriodicDP(ctx context.Context) (*DPSolution, error) {
	base, days, err := t.periodicModels()
	if err != nil {
		return nil, err
	}
	s := &DPSolution{LeadTime: base.L, MaxOrder: base.A, MaxOnHand: base.M, MaxBackorder: base.B, Backlog: t.Backlog, m: base, Periodic: true, days: days}
	s.Cost, s.Lower, s.Upper, s.Iterations, s.weekly, err = iterateWeek(ctx, days)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// withDemand is m (its truncation) with t's demand and costs: the
// distribution of a day's demand and the expected cost and sales of a day
// met with y units, y in [-B, M].
func (m dpModel) withDemand(t ReplenishTask) dpModel {
	d := m
	d.lambda = dailyMean(t.Demand)
	d.pmf = demandPMF(t.Demand, m.M+m.B)
	d.tail = make([]float64, m.M+m.B+2)
	d.tail[0] = 1
	for k := 1; k <= m.M+m.B+1; k++ {
		d.tail[k] = math.Max(0, d.tail[k-1]-d.pmf[k-1])
	}
	d.cost = make([]float64, m.nx())
	d.served = make([]float64, m.nx())
	for y := -m.B; y <= m.M; y++ {
		var over float64
		for k := 0; k < y; k++ {
			over += float64(y-k) * d.pmf[k]
		}
		short := d.lambda - float64(y) + over
		d.cost[y+m.B] = t.Holding*over + t.LostSale*math.Max(0, short)
		d.served[y+m.B] = math.Max(0, d.lambda-short-float64(min(y, 0)))
	}
	return d
}

// bellman applies the Bellman operator of a decision whose next day is
// drawn from tomorrow: tv[s] = min_a cost(y) + E v(next state), with the
// argmins in action; with fixed set, the fixed action's value instead (the
// policy-evaluation operator). e is scratch of the state space's size.
func bellman(tomorrow dpModel, v, tv, e []float64, action, fixed []int32) {
	m := tomorrow
	for y := -m.B; y <= m.M; y++ {
		yi := y + m.B
		for rest := 0; rest < m.P; rest++ {
			acc := m.cost[yi] + m.tail[yi]*v[rest]
			for k := 0; k < yi; k++ {
				acc += m.pmf[k] * v[(yi-k)*m.P+rest]
			}
			e[yi*m.P+rest] = acc
		}
	}
	for s := range tv {
		if fixed != nil {
			y, rest := m.next(s, int(fixed[s]))
			tv[s] = e[(y+m.B)*m.P+rest]
			continue
		}
		best, arg := math.Inf(1), 0
		for a := 0; a <= m.A; a++ {
			y, rest := m.next(s, a)
			if c := e[(y+m.B)*m.P+rest]; c < best {
				best, arg = c, a
			}
		}
		tv[s] = best
		action[s] = int32(arg)
	}
}

// iterateWeek is relative value iteration on the week. days[p] holds day
// p's demand; the decision at the end of day p faces day p+1's. It returns
// the optimal cost per day, its bounds, the iterations and the actions by
// the decision's weekday.
func iterateWeek(ctx context.Context, days []dpModel) (g, lo, hi float64, iters int, action [][]int32, err error) {
	return weekIteration(ctx, days, nil)
}

// weekIteration is iterateWeek, or with fixed (one table per weekday) the
// long-run cost per day of that fixed policy.
func weekIteration(ctx context.Context, days []dpModel, fixed [][]int32) (g, lo, hi float64, iters int, action [][]int32, err error) {
	n := days[0].nx() * days[0].P
	v := make([]float64, n) // values at the week's start, the decision of day 0
	next := make([]float64, n)
	cur := make([]float64, n)
	e := make([]float64, n)
	action = make([][]int32, periodLen)
	for p := range action {
		action[p] = make([]int32, n)
	}
	const maxIter = 20000
	for iters = 1; iters <= maxIter; iters++ {
		if err := ctx.Err(); err != nil {
			return 0, 0, 0, iters, nil, err
		}
		// Backwards through the week: the decision of day 6 faces day 0
		// of the next week, whose values are v.
		copy(next, v)
		for p := periodLen - 1; p >= 0; p-- {
			var f []int32
			if fixed != nil {
				f = fixed[p]
			}
			bellman(days[(p+1)%periodLen], next, cur, e, action[p], f)
			next, cur = cur, next
		}
		var done bool
		if lo, hi, done = relativeStep(v, next); done {
			return (lo + hi) / 2 / periodLen, lo / periodLen, hi / periodLen, iters, action, nil
		}
	}
	return 0, lo, hi, maxIter, nil, fmt.Errorf("%w: weekly value iteration did not converge in %d sweeps", ErrNoOptimum, maxIter)
}

// weeklyPolicy plays a periodic solution: the decision at the end of day d
// (the episode's day index, len(history)) uses the table of weekday d mod 7.
type weeklyPolicy struct{ s *DPSolution }

func (p weeklyPolicy) Name() string { return "dp-optimal" }

func (p weeklyPolicy) Order(history []tokenize.InventoryDay, today tokenize.InventoryDay) int {
	return int(p.s.weekly[len(history)%periodLen][p.s.state(history, today)])
}

// WeeklyCost is the exact long-run cost per day, under weekly demand, of
// p, a policy that depends only on the DP's state (not on the weekday),
// such as BaseStock, on the same truncated chains.
func (s *DPSolution) WeeklyCost(ctx context.Context, p Policy) (float64, error) {
	if !s.Periodic {
		return s.ExpectedCost(ctx, p)
	}
	table := s.m.table(p)
	fixed := make([][]int32, periodLen)
	for i := range fixed {
		fixed[i] = table
	}
	g, _, _, _, _, err := weekIteration(ctx, s.days, fixed)
	return g, err
}

// periodicModels builds the weekday chains of t's weekly program, or
// returns ErrNoOptimum when a weekday's demand is not exact or the program
// is too large.
func (t ReplenishTask) periodicModels() (dpModel, []dpModel, error) {
	// The busiest weekday sets the truncation for all.
	busiest := 0
	for p := 1; p < periodLen; p++ {
		if t.Demand.Mean(p) > t.Demand.Mean(busiest) {
			busiest = p
		}
	}
	top := t
	top.Demand = dayProcess(t.Demand, busiest)
	base, err := top.dpModel()
	if err != nil {
		return dpModel{}, nil, err
	}
	if float64(base.nx())*float64(base.P)*float64(base.A+1+base.nx()/2)*periodLen > 4*maxDPWork {
		return dpModel{}, nil, fmt.Errorf("%w: weekly demand with lead time %d and orders up to %d is too large a program", ErrNoOptimum, t.LeadTime, base.A)
	}
	days := make([]dpModel, periodLen)
	for p := range days {
		day := t
		day.Demand = dayProcess(t.Demand, p)
		if err := checkExactDemand(day.Demand); err != nil {
			return dpModel{}, nil, err
		}
		days[p] = base.withDemand(day)
	}
	return base, days, nil
}

// hasExactOptimum reports whether SolveDP can solve t exactly: its demand
// is exact (stationary, or weekly with every weekday exact) and its
// program is within the size caps. It builds the chains, it does not
// iterate them.
func (t ReplenishTask) hasExactOptimum() bool {
	t = t.WithDefaults()
	if t.Validate() != nil {
		return false
	}
	if periodicDemand(t.Demand) {
		_, _, err := t.periodicModels()
		return err == nil
	}
	_, err := t.dpModel()
	return err == nil
}
