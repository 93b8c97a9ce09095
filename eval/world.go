package eval

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/tokenize"
)

// The replenish task on a series of a generated world: the same demand
// process, lead time, cost model and logged policy that produced the
// series' training data (dataset.Generate writes them to world.json), so
// that what the model learnt and what it is scored on agree.

// LoggedPolicy names an ordering policy of the synthetic world, as
// dataset.Series records it.
type LoggedPolicy struct {
	// Policy is dataset.PolicyBaseStock, PolicyBaseStockPerturbed or PolicyBaseStockNoisy.
	Policy string `json:"policy"`
	// Z is the safety factor (dataset.Series.PolicyParam).
	Z float64 `json:"z"`
	// Seed and Index locate the series in its world (GenConfig.Seed, its
	// place in world.json) for the perturbed policy's weekly z
	// (dataset.PerturbedZ).
	Seed  uint64 `json:"seed,omitempty"`
	Index int    `json:"index,omitempty"`
}

// loggedNoise is the relative standard deviation of the noisy logged
// policy's orders, the world's orderNoise (dataset/gen.go).
const loggedNoise = 0.3

// loggedRef plays a LoggedPolicy: base-stock at S = round(mu + z*sqrt(mu)),
// mu the mean demand over the L+1 days after the decision, and for the noisy
// policy a positive order multiplied by 1 + 0.3 N(0,1), rounded, at least 0.
// The noise is drawn from a stream keyed by the day and the day's state, so
// a policy plays the same on the same path whichever goroutine plays it.
type loggedRef struct {
	S     int
	noisy bool
	label string
	// weekly: the perturbed policy, whose level is mu + z*sqrt(mu) with z
	// dataset.PerturbedZ(seed, index, week) in the episode's week.
	weekly bool
	mu     float64
	seed   uint64
	index  int
}

// Name implements Policy.
func (p loggedRef) Name() string { return p.label }

// OrderUpTo is the policy's base-stock level S.
func (p loggedRef) OrderUpTo() int { return p.S }

// Order implements Policy.
func (p loggedRef) Order(history []tokenize.InventoryDay, today tokenize.InventoryDay) int {
	S := p.S
	if p.weekly {
		S = orderUpTo(p.mu, dataset.PerturbedZ(p.seed, p.index, len(history)/7))
	}
	q := max(0, S-today.Position())
	if p.noisy && q > 0 {
		rng := rand.New(rand.NewPCG(uint64(len(history)), uint64(today.OnHand)<<40^uint64(today.Pipeline)<<20^uint64(today.Demand)))
		q = max(0, int(math.Round(float64(q)*(1+loggedNoise*rng.NormFloat64()))))
	}
	return q
}

// logged returns the task's logging policy (t with defaults applied).
func (t ReplenishTask) logged() loggedRef {
	lp := LoggedPolicy{Policy: dataset.PolicyBaseStock, Z: LoggingZ}
	if t.Logged != nil {
		lp = *t.Logged
	}
	bs := t.LoggingPolicy(lp.Z)
	if lp.Policy == dataset.PolicyBaseStockPerturbed {
		return loggedRef{S: bs.S, weekly: true, mu: t.protectionMean(), seed: lp.Seed, index: lp.Index,
			label: fmt.Sprintf("logged-%s(z weekly in [0,%g])", lp.Policy, lp.Z)}
	}
	return loggedRef{S: bs.S, noisy: lp.Policy == dataset.PolicyBaseStockNoisy,
		label: fmt.Sprintf("logged-%s(z=%g,S=%d)", lp.Policy, lp.Z, bs.S)}
}

// ReplenishTaskForSeries is the replenish task of the series (loc, sku) of a
// generated world: its demand process, lead time and logged policy, priced
// with the world's cost model. The task's other fields (episodes, days,
// seed) keep their defaults; set them on the result.
func ReplenishTaskForSeries(world dataset.GenSummary, loc, sku string) (ReplenishTask, error) {
	for i, s := range world.Series {
		if s.Location != loc || s.SKU != sku {
			continue
		}
		t := ReplenishTask{
			Demand: s.Demand, LeadTime: s.LeadTime, Location: s.Location, SKU: s.SKU,
			Holding: float64(world.Costs.Holding), LostSale: float64(world.Costs.LostSale),
			Logged: &LoggedPolicy{Policy: s.Policy, Z: s.PolicyParam, Seed: world.Config.Seed, Index: i},
		}
		if t.Holding == 0 && t.LostSale == 0 {
			t.Holding, t.LostSale = float64(dataset.Costs.Holding), float64(dataset.Costs.LostSale)
		}
		return t, nil
	}
	return ReplenishTask{}, fmt.Errorf("%w: world has no series %s/%s (%d series)", ErrInvalidConfig, loc, sku, len(world.Series))
}

// DefaultWorldSeries picks the series a pipeline scores by default, the
// first in world order of these, among series whose logged policy is
// policy (any when empty):
//
//  1. one whose task has an exact optimum (stationary or weekly demand,
//     lead time at most 3, a program within the DP's size caps) and whose
//     logged decisions vary (a noisy or perturbed policy), so that an agent
//     conditioned on outcomes has something to learn beyond the policy and
//     can be told apart from one that copies it;
//  2. one with an exact optimum;
//  3. any, scored against searched baselines without an optimum.
//
// It reports false when no series has that policy.
func DefaultWorldSeries(world dataset.GenSummary, policy string) (loc, sku string, ok bool) {
	exact := func(s dataset.Series) bool {
		if s.LeadTime < 1 || s.LeadTime > 3 {
			return false
		}
		t, err := ReplenishTaskForSeries(world, s.Location, s.SKU)
		return err == nil && t.hasExactOptimum()
	}
	varied := func(s dataset.Series) bool {
		return s.Policy == dataset.PolicyBaseStockNoisy || s.Policy == dataset.PolicyBaseStockPerturbed
	}
	for _, want := range []func(dataset.Series) bool{
		func(s dataset.Series) bool { return varied(s) && exact(s) },
		exact,
		func(dataset.Series) bool { return true },
	} {
		for _, s := range world.Series {
			if (policy == "" || s.Policy == policy) && want(s) {
				return s.Location, s.SKU, true
			}
		}
	}
	return "", "", false
}
