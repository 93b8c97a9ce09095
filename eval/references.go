package eval

import (
	"context"
	"fmt"
	"math"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/tokenize"
)

// SS is the (s,S) policy: when the inventory position (on hand at the end
// of the day plus the pipeline) is at or below Low, order up to S;
// otherwise order nothing. SS{Low: S-1, S: S} is BaseStock{S}.
type SS struct {
	Low, S int
}

// Name implements Policy.
func (p SS) Name() string { return fmt.Sprintf("(s,S)=(%d,%d)", p.Low, p.S) }

// Order implements Policy.
func (p SS) Order(_ []tokenize.InventoryDay, today tokenize.InventoryDay) int {
	if position := endOnHand(today) + today.Pipeline; position <= p.Low {
		return p.S - position
	}
	return 0
}

// CriticalRatio is the newsvendor's critical fractile LostSale/(LostSale+Holding).
func (t ReplenishTask) CriticalRatio() float64 {
	t = t.WithDefaults()
	if t.LostSale+t.Holding == 0 {
		return 0
	}
	return t.LostSale / (t.LostSale + t.Holding)
}

// Newsvendor is the myopic policy: base-stock at the critical fractile
// CriticalRatio of the demand over the lead time. An order placed at the
// end of day d arrives at the start of day d+L, so the position it raises
// must cover the demand of days d+1..d+L before the next order can help:
// L days. With backlog and linear costs this level is optimal; with lost
// sales it is the classic myopic approximation (and an upper bound on the
// optimal order-up-to level). For demand that is not stationary the
// fractile is taken of the stationary process with the episode's average
// daily mean, and the policy is named newsvendor-approx.
func (t ReplenishTask) Newsvendor() (BaseStock, error) {
	t = t.WithDefaults()
	if err := t.Validate(); err != nil {
		return BaseStock{}, err
	}
	d, label := t.Demand, "newsvendor"
	if !stationaryDemand(d) {
		var m float64
		for day := 0; day < t.Days; day++ {
			m += d.Mean(day)
		}
		d = dataset.DemandProcess{Base: m / float64(t.Days), Dispersion: d.Dispersion, PromoLift: d.PromoLift, PromoProb: d.PromoProb}
		label = "newsvendor-approx"
	}
	s := demandQuantile(d, t.LeadTime, t.CriticalRatio())
	return BaseStock{S: s, Label: fmt.Sprintf("%s(S=%d)", label, s)}, nil
}

// LoggingZ is the safety factor of the synthetic world's near-optimal
// logging policy (dataset: "base_stock", z drawn from [1.0, 1.6]), the
// middle of its range.
const LoggingZ = 1.3

// LoggingPolicy is the policy that logged the training data, as the
// synthetic world writes it: base-stock at S = round(mu + z*sqrt(mu)), mu the
// mean demand over the L days after the decision (the protection period:
// the order is placed after the day's sales, and the next one can arrive L
// days after that). For demand that is not stationary the world recomputes
// S each day; this reference uses the first days' mean, so it is exact for
// stationary demand only.
func (t ReplenishTask) LoggingPolicy(z float64) BaseStock {
	t = t.WithDefaults()
	s := orderUpTo(t.protectionMean(), z)
	return BaseStock{S: s, Label: fmt.Sprintf("logging-base-stock(z=%g,S=%d)", z, s)}
}

// protectionMean is the mean demand over the L days after a decision, the
// protection period of the world's logged base-stock policies.
func (t ReplenishTask) protectionMean() float64 {
	var mu float64
	for d := 1; d <= t.LeadTime; d++ {
		mu += t.Demand.Mean(d)
	}
	return mu
}

// orderUpTo is the world's base-stock level for mean demand mu over the
// protection period and safety factor z: round(mu + z*sqrt(mu)).
func orderUpTo(mu, z float64) int { return int(math.Round(mu + z*math.Sqrt(mu))) }

// BestBaseStock searches every level S from 0 to MaxOrder on the exact
// stationary cost and returns the cheapest (the smallest among ties) with
// its expected cost per day.
func (s *DPSolution) BestBaseStock(ctx context.Context) (BaseStock, float64, error) {
	costs := make([]float64, s.MaxOrder+1)
	err := forEach(ctx, len(costs), 0, func(i int) error {
		st, err := s.Stationary(ctx, BaseStock{S: i})
		costs[i] = st.Cost
		return err
	})
	if err != nil {
		return BaseStock{}, 0, err
	}
	best := 0
	for i, c := range costs {
		if c < costs[best] {
			best = i
		}
	}
	return BaseStock{S: best}, costs[best], nil
}

// ssGrid is the (s,S) search space around a base-stock level: S within
// ssSpread of it and s from S-1 down ssDepth levels (not below 0 with lost
// sales, where the position never goes negative). Without fixed ordering
// costs the best pair lies near the best base-stock level, which the grid
// includes as (S-1, S), so the best (s,S) is never worse than it.
func ssGrid(around, maxS int, backlog bool) []SS {
	const ssSpread, ssDepth = 6, 12
	var grid []SS
	for S := max(1, around-ssSpread); S <= min(maxS, around+ssSpread); S++ {
		for low := S - 1; low >= S-ssDepth; low-- {
			if low < 0 && !backlog {
				break
			}
			grid = append(grid, SS{Low: low, S: S})
		}
	}
	return grid
}

// BestSS searches the (s,S) grid around the base-stock level around on the
// exact stationary cost and returns the cheapest pair (the first in grid
// order among ties) with its expected cost per day.
func (s *DPSolution) BestSS(ctx context.Context, around int) (SS, float64, error) {
	grid := ssGrid(around, s.MaxOrder, s.Backlog)
	costs := make([]float64, len(grid))
	err := forEach(ctx, len(grid), 0, func(i int) error {
		st, err := s.Stationary(ctx, grid[i])
		costs[i] = st.Cost
		return err
	})
	if err != nil {
		return SS{}, 0, err
	}
	best := 0
	for i, c := range costs {
		if c < costs[best] {
			best = i
		}
	}
	return grid[best], costs[best], nil
}

// TuneSS searches the (s,S) grid around the base-stock level around on the
// task's tuning paths (never the evaluation paths), for demand without an
// exact chain, and returns the cheapest pair with its tuning cost per day.
func (t ReplenishTask) TuneSS(ctx context.Context, around int) (SS, float64, error) {
	t = t.WithDefaults()
	if err := t.Validate(); err != nil {
		return SS{}, 0, err
	}
	paths := t.demandPaths(t.TuningEpisodes, tuningStream)
	best, bestCost := SS{}, math.Inf(1)
	for _, p := range ssGrid(around, t.MaxOrder, t.Backlog) {
		r, err := t.evaluate(ctx, p, paths)
		if err != nil {
			return SS{}, 0, err
		}
		if r.CostPerDay < bestCost {
			best, bestCost = p, r.CostPerDay
		}
	}
	return best, bestCost, nil
}
