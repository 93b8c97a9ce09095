package eval

import (
	"context"
	"fmt"
	"math"

	"github.com/supplyline/supplyline/tokenize"
)

// The exact optimum of a ReplenishTask with stationary demand (Poisson or
// negative binomial, with or without promotions; see demand.go) or weekly
// periodic demand (dp_periodic.go), by relative value iteration on the
// long-run average cost, and the exact long-run cost of any fixed policy
// from the stationary distribution of its Markov chain (stationary demand)
// or by policy evaluation over the week (WeeklyCost).
//
// The state at the moment of decision (the end of a day) is x, the units on
// hand (net inventory, negative for backorders, in the backlog variant), and
// the orders still outstanding q1..q_{L-1}, q1 the one arriving next
// morning. Ordering a makes the outstanding vector (q1..q_{L-1}, a); next
// morning its first entry arrives, so y = x + q1 (or x + a when L = 1) units
// meet demand D, the day costs h·(y-D)+ + p·(D-y)+, and the new state is
// ((y-D)+, q2..q_{L-1}, a) with lost sales or (y-D, q2..q_{L-1}, a) with
// backlog. With lost sales the optimal policy depends on the whole vector,
// not only its sum, which is why base-stock is not optimal there and the gap
// is worth measuring; with backlog base-stock is optimal and the DP checks it.
//
// Truncation (the caps that keep the DP exact and bounded): orders run from
// 0 to A, the 1-1e-4 quantile of demand over L+1 days (any sane order-up-to
// level lies below it), on hand is clipped at M = 2A (clipping only ever
// throws stock away, which no optimal policy wants), and backorders at B,
// the 1-1e-7 quantile of demand over L+1 days (so a base-stock chain leaves
// the truncated space with probability below 1e-7 a day). With lost sales
// and a policy whose inventory position stays below M the truncated chain is
// the true chain. The state space is (M+B+1)·(A+1)^(L-1): a few thousand
// states for L = 2, about 10^5 for L = 3 at mean 5; problems whose sweep
// exceeds maxDPWork operations return ErrNoOptimum rather than run for
// minutes.

// maxDPWork bounds the operations of one value-iteration sweep.
const maxDPWork = 30_000_000

// DPSolution is a solved dynamic program: the optimal average cost and a
// policy table.
type DPSolution struct {
	// Cost is the optimal long-run expected cost per day.
	Cost float64
	// Lower and Upper bound Cost (the value-iteration span bounds).
	Lower, Upper float64
	// Iterations of relative value iteration.
	Iterations int
	// LeadTime, MaxOrder (A), MaxOnHand (M) and MaxBackorder (B, zero with
	// lost sales) describe the truncation.
	LeadTime, MaxOrder, MaxOnHand, MaxBackorder int
	// Backlog is true for the backlog variant.
	Backlog bool
	// Periodic is true for weekly demand (see dp_periodic.go): the policy
	// depends on the weekday, and the exact stationary analysis of fixed
	// policies (Stationary) does not apply.
	Periodic bool

	m      dpModel
	action []int32
	weekly [][]int32 // by the decision's weekday, when Periodic
	days   []dpModel // each weekday's chain, when Periodic
}

type dpModel struct {
	L, A, M, B int
	P          int       // (A+1)^(L-1) outstanding vectors
	P1         int       // (A+1)^(L-2), the weight of q1 in a vector index; 0 when L = 1
	lambda     float64   // mean daily demand
	pmf        []float64 // P(D = d), d in [0, M+B]
	tail       []float64 // P(D >= d), d in [0, M+B+1]
	cost       []float64 // expected cost of a day met with y units, index y+B, y in [-B, M]
	served     []float64 // E[min(D, y+)], index y+B
}

// nx is the number of on-hand values, -B..M.
func (m dpModel) nx() int { return m.M + m.B + 1 }

// SolveDP computes the exact optimum of t, or returns ErrNoOptimum when
// demand is neither stationary nor weekly (see demand.go, dp_periodic.go)
// or the state space is too large.
func (t ReplenishTask) SolveDP(ctx context.Context) (*DPSolution, error) {
	t = t.WithDefaults()
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if periodicDemand(t.Demand) {
		return t.solvePeriodicDP(ctx)
	}
	m, err := t.dpModel()
	if err != nil {
		return nil, err
	}
	s := &DPSolution{LeadTime: m.L, MaxOrder: m.A, MaxOnHand: m.M, MaxBackorder: m.B, Backlog: t.Backlog, m: m}
	s.Cost, s.Lower, s.Upper, s.Iterations, s.action, err = m.iterate(ctx)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// dpModel builds the truncated chain of t (defaults applied, valid).
func (t ReplenishTask) dpModel() (dpModel, error) {
	if err := checkExactDemand(t.Demand); err != nil {
		return dpModel{}, err
	}
	L := t.LeadTime
	A := max(1, min(t.MaxOrder, demandQuantile(t.Demand, L+1, 1-1e-4)))
	M := 2 * A
	B := 0
	if t.Backlog {
		B = demandQuantile(t.Demand, L+1, 1-1e-7)
	}
	P := 1
	for i := 0; i < L-1; i++ {
		P *= A + 1
		if P > maxDPWork {
			break
		}
	}
	nx := M + B + 1
	work := float64(nx) * float64(P) * float64(A+1+nx/2)
	if P > maxDPWork || work > maxDPWork {
		return dpModel{}, fmt.Errorf("%w: lead time %d with orders up to %d needs %.3g operations per sweep (limit %d)", ErrNoOptimum, L, A, work, maxDPWork)
	}
	m := dpModel{L: L, A: A, M: M, B: B, P: P, lambda: dailyMean(t.Demand)}
	if L >= 2 {
		m.P1 = P / (A + 1)
	}
	return m.withDemand(t), nil
}

// next returns, for a state index and an order, the units y that meet
// tomorrow's demand and the outstanding vector left after the arrival.
func (m dpModel) next(s, a int) (y, rest int) {
	x := s/m.P - m.B
	pi := s % m.P
	if m.L == 1 {
		return min(x+a, m.M), 0
	}
	q1 := pi / m.P1
	return min(x+q1, m.M), (pi%m.P1)*(m.A+1) + a
}

// relativeStep ends a sweep of relative value iteration: lo and hi bound
// the gain by the least and greatest change from v to next, v becomes next
// relative to its first state, and done reports that the bounds have met
// (to 1e-9 relative).
func relativeStep(v, next []float64) (lo, hi float64, done bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for i := range next {
		diff := next[i] - v[i]
		lo = math.Min(lo, diff)
		hi = math.Max(hi, diff)
	}
	ref := next[0]
	for i := range next {
		v[i] = next[i] - ref
	}
	return lo, hi, hi-lo <= 1e-9*math.Max(1, math.Abs(hi))
}

// iterate runs relative value iteration and returns the optimal policy.
func (m dpModel) iterate(ctx context.Context) (g, lo, hi float64, iters int, action []int32, err error) {
	n := m.nx() * m.P
	v := make([]float64, n)
	tv := make([]float64, n)
	e := make([]float64, n)
	action = make([]int32, n)
	const maxIter = 20000
	for iters = 1; iters <= maxIter; iters++ {
		if iters%16 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, 0, 0, iters, nil, err
			}
		}
		// Tomorrow's expected cost plus the value of the state it leaves,
		// minimised over the order (dp_periodic.go).
		bellman(m, v, tv, e, action, nil)
		var done bool
		if lo, hi, done = relativeStep(v, tv); done {
			return (lo + hi) / 2, lo, hi, iters, action, nil
		}
	}
	return 0, lo, hi, maxIter, nil, fmt.Errorf("%w: value iteration did not converge in %d sweeps (bounds %g..%g)", ErrNoOptimum, maxIter, lo, hi)
}

// Stationary is the exact long-run behaviour of a fixed policy on the
// truncated chain.
type Stationary struct {
	// Cost is the expected cost per day under the stationary distribution.
	Cost float64
	// FillRate is the expected share of demand served from stock on the day.
	FillRate float64
	// Iterations of the power method.
	Iterations int
	// States is the number of states with positive stationary probability.
	States int
	// Direct reports that the distribution was solved directly, the chain
	// not having settled in lazyAfter power-method steps.
	Direct bool
}

// lazyAfter is the number of power-method steps after which stationary
// damps the chain (see there).
const lazyAfter = 2000

// stationary computes the stationary distribution of the chain under the
// policy fixed (one order per state) by the power method, started from an
// empty system (nothing on hand or outstanding) so that only the states the
// policy reaches are ever touched. A chain that has not settled after
// lazyAfter steps is solved directly when it is small (stationaryDirect),
// and otherwise damped (a periodic one: a base-stock level the demand can
// cycle around).
func (m dpModel) stationary(ctx context.Context, fixed []int32) (Stationary, error) {
	n := m.nx() * m.P
	pi := make([]float64, n)
	nxt := make([]float64, n)
	pi[m.B*m.P] = 1 // x = 0, nothing outstanding
	const maxIter = 20000
	for it := 1; it <= maxIter; it++ {
		if it%64 == 0 {
			if err := ctx.Err(); err != nil {
				return Stationary{}, err
			}
		}
		m.step(nxt, pi, fixed)
		// A chain that has not settled after lazyAfter steps may be
		// periodic (the distribution cycles); from then on step the lazy
		// chain, (I + P)/2, which has the same stationary distribution and
		// is aperiodic.
		if it > lazyAfter {
			for i := range nxt {
				nxt[i] = (nxt[i] + pi[i]) / 2
			}
		}
		var diff, total float64
		for i := range nxt {
			diff += math.Abs(nxt[i] - pi[i])
			total += nxt[i]
		}
		pi, nxt = nxt, pi
		if diff <= 1e-13 {
			return m.summarise(pi, total, fixed, it), nil
		}
		// One that has not settled by then mixes slowly; such chains have
		// few states, and are solved directly (dp_direct.go).
		if it == lazyAfter {
			if direct, ok := m.stationaryDirect(fixed, m.B*m.P); ok {
				st := m.summarise(direct, 1, fixed, it)
				st.Direct = true
				return st, nil
			}
		}
	}
	return Stationary{}, fmt.Errorf("%w: the stationary distribution did not settle in %d steps", ErrNoOptimum, maxIter)
}

// step sets nxt to pi after one day of the chain under fixed.
func (m dpModel) step(nxt, pi []float64, fixed []int32) {
	clear(nxt)
	for s, p := range pi {
		if p == 0 {
			continue
		}
		y, rest := m.next(s, int(fixed[s]))
		yi := y + m.B
		nxt[rest] += p * m.tail[yi]
		for k := 0; k < yi; k++ {
			nxt[(yi-k)*m.P+rest] += p * m.pmf[k]
		}
	}
}

// summarise prices the distribution pi (of mass total) under fixed.
func (m dpModel) summarise(pi []float64, total float64, fixed []int32, iterations int) Stationary {
	var st Stationary
	for s, p := range pi {
		if p == 0 {
			continue
		}
		y, _ := m.next(s, int(fixed[s]))
		st.Cost += p * m.cost[y+m.B]
		st.FillRate += p * m.served[y+m.B]
		st.States++
	}
	st.Cost /= total
	st.FillRate /= total * math.Max(m.lambda, 1e-300)
	if m.lambda == 0 {
		st.FillRate = 1
	}
	st.Iterations = iterations
	return st
}

// state maps what a policy sees at the end of a day to a state index.
func (s *DPSolution) state(history []tokenize.InventoryDay, today tokenize.InventoryDay) int {
	m := s.m
	idx := (min(max(endOnHand(today), -m.B), m.M) + m.B) * m.P
	w := m.P1
	for k := 1; k <= m.L-1; k++ {
		q := 0
		if h := len(history) - m.L + k; h >= 0 {
			q = min(max(history[h].Order, 0), m.A)
		}
		idx += q * w
		w /= m.A + 1
	}
	return idx
}

// Policy returns the optimal policy as a Policy the simulator can play.
func (s *DPSolution) Policy() Policy {
	if s.Periodic {
		return weeklyPolicy{s}
	}
	return dpPolicy{s}
}

type dpPolicy struct{ s *DPSolution }

func (p dpPolicy) Name() string { return "dp-optimal" }

func (p dpPolicy) Order(history []tokenize.InventoryDay, today tokenize.InventoryDay) int {
	return int(p.s.action[p.s.state(history, today)])
}

// table asks p for its order in every state of the truncated chain.
func (m dpModel) table(p Policy) []int32 {
	fixed := make([]int32, m.nx()*m.P)
	q := make([]int, max(m.L-1, 0))
	history := make([]tokenize.InventoryDay, m.L-1)
	for x := -m.B; x <= m.M; x++ {
		for pi := 0; pi < m.P; pi++ {
			rem, sum := pi, 0
			for k := len(q) - 1; k >= 0; k-- {
				q[k] = rem % (m.A + 1)
				rem /= m.A + 1
				sum += q[k]
			}
			for k := range history {
				history[k] = tokenize.InventoryDay{Order: q[k]}
			}
			a := p.Order(history, tokenize.InventoryDay{OnHand: x, Pipeline: sum})
			fixed[(x+m.B)*m.P+pi] = int32(min(max(a, 0), m.A))
		}
	}
	return fixed
}

// Stationary is the exact long-run behaviour of p, a policy that depends
// only on the DP's state (on hand at the end of the day and the outstanding
// orders), such as BaseStock, SS or Newsvendor, on the same truncated chain.
// Orders are clipped to [0, MaxOrder].
func (s *DPSolution) Stationary(ctx context.Context, p Policy) (Stationary, error) {
	if s.Periodic {
		return Stationary{}, fmt.Errorf("%w: weekly demand: fixed policies are simulated, not analysed exactly", ErrNoOptimum)
	}
	return s.m.stationary(ctx, s.m.table(p))
}

// ExpectedCost is Stationary(ctx, p).Cost.
func (s *DPSolution) ExpectedCost(ctx context.Context, p Policy) (float64, error) {
	st, err := s.Stationary(ctx, p)
	return st.Cost, err
}
