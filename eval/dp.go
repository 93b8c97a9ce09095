package eval

import (
	"context"
	"fmt"
	"math"

	"github.com/supplyline/supplyline/tokenize"
)

// The exact optimum of a ReplenishTask with stationary Poisson demand, by
// relative value iteration on the long-run average cost.
//
// The state at the moment of decision (the end of a day) is x, the units left
// on hand, and the orders still outstanding q1..q_{L-1}, q1 the one arriving
// next morning. Ordering a makes the outstanding vector (q1..q_{L-1}, a); next
// morning its first entry arrives, so y = x + q1 (or x + a when L = 1) units
// meet demand D ~ Poisson(λ), the day costs h·(y-D)+ + p·(D-y)+, and the new
// state is ((y-D)+, q2..q_{L-1}, a). In lost-sales inventory the optimal policy
// depends on the whole vector, not only its sum, which is why base-stock is
// not optimal here and the gap is worth measuring.
//
// Truncation: orders run from 0 to A, the 1-1e-4 quantile of demand over
// L+1 days (the base-stock level for any sane critical ratio lies below it),
// and on hand is clipped at M = 2A. The state space is (M+1)·(A+1)^(L-1): a
// few thousand states for L = 2, about 10^5 for L = 3 at mean 5, when one
// solve takes seconds; larger problems return ErrNoOptimum rather than run
// for minutes. The simulator's Poisson sampler switches to a normal
// approximation above mean 60, so those means have no exact optimum either.

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
	// LeadTime, MaxOrder (A) and MaxOnHand (M) describe the truncation.
	LeadTime, MaxOrder, MaxOnHand int

	m      dpModel
	action []int32
}

type dpModel struct {
	L, A, M int
	P       int       // (A+1)^(L-1) outstanding vectors
	P1      int       // (A+1)^(L-2), the weight of q1 in a vector index; 0 when L = 1
	pmf     []float64 // P(D = d), d in [0, M]
	tail    []float64 // P(D >= y), y in [0, M]
	cost    []float64 // expected cost of a day met with y units
}

// SolveDP computes the exact optimum of t, or returns ErrNoOptimum when
// demand is not stationary Poisson or the state space is too large.
func (t ReplenishTask) SolveDP(ctx context.Context) (*DPSolution, error) {
	t = t.WithDefaults()
	if err := t.Validate(); err != nil {
		return nil, err
	}
	d := t.Demand
	if d.WeeklyAmp != 0 || d.YearlyAmp != 0 || d.Trend != 0 || d.Dispersion != 0 || (d.PromoProb > 0 && d.PromoLift != 1) {
		return nil, fmt.Errorf("%w: demand %+v is not stationary Poisson", ErrNoOptimum, d)
	}
	lambda := d.Base
	if lambda > 60 {
		return nil, fmt.Errorf("%w: mean demand %g is above 60, where the simulator samples a normal approximation", ErrNoOptimum, lambda)
	}
	L := t.LeadTime
	A := min(t.MaxOrder, poissonQuantile(lambda*float64(L+1), 1-1e-4))
	A = max(A, 1)
	M := 2 * A
	P := 1
	for i := 0; i < L-1; i++ {
		P *= A + 1
		if P > maxDPWork {
			break
		}
	}
	work := float64(M+1) * float64(P) * float64(A+1+M/2)
	if P > maxDPWork || work > maxDPWork {
		return nil, fmt.Errorf("%w: lead time %d with orders up to %d needs %.3g operations per sweep (limit %d)", ErrNoOptimum, L, A, work, maxDPWork)
	}
	m := dpModel{L: L, A: A, M: M, P: P}
	if L >= 2 {
		m.P1 = P / (A + 1)
	}
	m.pmf = make([]float64, M+1)
	m.tail = make([]float64, M+2)
	m.cost = make([]float64, M+1)
	p := math.Exp(-lambda)
	for k := 0; k <= M; k++ {
		m.pmf[k] = p
		p *= lambda / float64(k+1)
	}
	m.tail[0] = 1
	for y := 1; y <= M+1; y++ {
		m.tail[y] = math.Max(0, m.tail[y-1]-m.pmf[y-1])
	}
	for y := 0; y <= M; y++ {
		var over, minDY float64 // E[(y-D)+], E[min(D, y)]
		for k := 0; k < y; k++ {
			over += float64(y-k) * m.pmf[k]
			minDY += float64(k) * m.pmf[k]
		}
		minDY += float64(y) * m.tail[y]
		m.cost[y] = t.Holding*over + t.LostSale*math.Max(0, lambda-minDY)
	}
	s := &DPSolution{LeadTime: L, MaxOrder: A, MaxOnHand: M, m: m}
	var err error
	s.Cost, s.Lower, s.Upper, s.Iterations, s.action, err = m.iterate(ctx, nil)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// poissonQuantile is the smallest k with P(Poisson(mean) <= k) >= q.
func poissonQuantile(mean, q float64) int {
	p := math.Exp(-mean)
	cdf := p
	k := 0
	for cdf < q && k < 100000 {
		k++
		p *= mean / float64(k)
		cdf += p
	}
	return k
}

// iterate runs relative value iteration. With fixed nil it minimises over
// orders and returns the optimal policy; otherwise it evaluates the policy
// fixed (one order per state).
func (m dpModel) iterate(ctx context.Context, fixed []int32) (g, lo, hi float64, iters int, action []int32, err error) {
	n := (m.M + 1) * m.P
	v := make([]float64, n)
	tv := make([]float64, n)
	e := make([]float64, (m.M+1)*m.P)
	action = make([]int32, n)
	const maxIter = 20000
	for iters = 1; iters <= maxIter; iters++ {
		if iters%64 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, 0, 0, iters, nil, err
			}
		}
		// e[y, rest]: expected cost of tomorrow met with y units, plus the
		// value of the state it leaves, with rest still outstanding.
		for y := 0; y <= m.M; y++ {
			for rest := 0; rest < m.P; rest++ {
				acc := m.cost[y] + m.tail[y]*v[rest]
				for k := 0; k < y; k++ {
					acc += m.pmf[k] * v[(y-k)*m.P+rest]
				}
				e[y*m.P+rest] = acc
			}
		}
		for x := 0; x <= m.M; x++ {
			for pi := 0; pi < m.P; pi++ {
				s := x*m.P + pi
				choose := func(a int) float64 {
					if m.L == 1 {
						return e[min(x+a, m.M)]
					}
					q1 := pi / m.P1
					rest := (pi%m.P1)*(m.A+1) + a
					return e[min(x+q1, m.M)*m.P+rest]
				}
				if fixed != nil {
					tv[s] = choose(int(fixed[s]))
					continue
				}
				best, arg := math.Inf(1), 0
				for a := 0; a <= m.A; a++ {
					if c := choose(a); c < best {
						best, arg = c, a
					}
				}
				tv[s] = best
				action[s] = int32(arg)
			}
		}
		lo, hi = math.Inf(1), math.Inf(-1)
		for i := range tv {
			diff := tv[i] - v[i]
			lo = math.Min(lo, diff)
			hi = math.Max(hi, diff)
		}
		ref := tv[0]
		for i := range tv {
			v[i] = tv[i] - ref
		}
		if hi-lo <= 1e-9*math.Max(1, math.Abs(hi)) {
			if fixed != nil {
				action = fixed
			}
			return (lo + hi) / 2, lo, hi, iters, action, nil
		}
	}
	return 0, lo, hi, maxIter, nil, fmt.Errorf("%w: value iteration did not converge in %d sweeps (bounds %g..%g)", ErrNoOptimum, maxIter, lo, hi)
}

// state maps what a policy sees at the end of a day to a state index.
func (s *DPSolution) state(history []tokenize.InventoryDay, today tokenize.InventoryDay) int {
	m := s.m
	idx := min(max(endOnHand(today), 0), m.M) * m.P
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
func (s *DPSolution) Policy() Policy { return dpPolicy{s} }

type dpPolicy struct{ s *DPSolution }

func (p dpPolicy) Name() string { return "dp-optimal" }

func (p dpPolicy) Order(history []tokenize.InventoryDay, today tokenize.InventoryDay) int {
	return int(p.s.action[p.s.state(history, today)])
}

// ExpectedCost is the exact long-run expected cost per day of a policy that
// depends only on the DP's state (on hand at the end of the day and the
// outstanding orders), such as BaseStock, on the same truncated chain.
func (s *DPSolution) ExpectedCost(ctx context.Context, p Policy) (float64, error) {
	m := s.m
	fixed := make([]int32, (m.M+1)*m.P)
	q := make([]int, max(m.L-1, 0))
	history := make([]tokenize.InventoryDay, m.L-1)
	for x := 0; x <= m.M; x++ {
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
			fixed[x*m.P+pi] = int32(min(max(a, 0), m.A))
		}
	}
	g, _, _, _, _, err := m.iterate(ctx, fixed)
	return g, err
}
