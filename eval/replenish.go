package eval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/tokenize"
)

// ReplenishTask is single-item periodic-review replenishment with a lead
// time and lost sales (or backlog), the decision the inventory timelines
// teach. Each day, in the order of the grammar's fields:
//
//  1. at the start of day d the order placed at the end of day d-LeadTime
//     arrives and joins on hand (OnHand); Pipeline sums the orders still
//     outstanding;
//  2. demand is drawn from Demand.Sample(rng, d); sold = min(demand, on hand),
//     the rest is lost (with Backlog it waits: on hand is then the net
//     inventory, negative while units are backordered, and Lost stays 0);
//  3. the day costs Holding per unit on hand at its end plus LostSale per
//     unit lost (with Backlog: per unit backordered at the end of the day);
//  4. the policy sees the day (tokenize.InventoryDay with Weekday d%7, so
//     day 0 is a Monday) and all earlier days, and orders a quantity >= 0,
//     capped at MaxOrder.
//
// Episodes start with on hand equal to the mean demand over LeadTime+1 days
// and nothing in the pipeline; the first WarmupDays are played but not scored.
// Every policy sees the same demand paths (common random numbers), so the
// differences between policies are not sampling noise. The zero value is a
// usable task: Poisson demand with mean 5, lead time 2, critical ratio 0.9.
type ReplenishTask struct {
	// Demand is the daily demand process, the same type the synthetic world
	// draws from. The zero value means stationary Poisson with mean 5.
	Demand dataset.DemandProcess `json:"demand"`
	// LeadTime L in days: an order placed at the end of day d arrives at the
	// start of day d+L. Zero means 2.
	LeadTime int `json:"lead_time"`
	// Holding is the cost per unit on hand at the end of a day. Zero means 1.
	Holding float64 `json:"holding"`
	// LostSale is the penalty per unit of demand not served. Zero means 9.
	LostSale float64 `json:"lost_sale"`
	// Days is the length of an episode, warm-up included. Zero means 120.
	Days int `json:"days"`
	// WarmupDays are the first days of an episode, played but not scored.
	// Zero means 14; negative means none.
	WarmupDays int `json:"warmup_days"`
	// Seed fixes the demand paths; zero is a seed like any other. Episode e
	// of the evaluation uses PCG stream e, and base-stock tuning uses streams
	// of its own, so a baseline is never tuned on the paths it is scored on.
	Seed int64 `json:"seed"`
	// Episodes is the number of scored demand paths. Zero means 8.
	Episodes int `json:"episodes"`
	// TuningEpisodes is the number of separate paths base-stock levels are
	// tuned on. Zero means Episodes.
	TuningEpisodes int `json:"tuning_episodes"`
	// MaxOrder caps every order; a policy asking for more gets MaxOrder and
	// the cap is counted. Zero means 4x the mean demand over LeadTime+1 days
	// (at least 20, at most 9999, the most four digits can say).
	MaxOrder int `json:"max_order"`
	// Backlog makes unmet demand wait for stock instead of being lost, and
	// LostSale the cost per unit backordered per day.
	Backlog bool `json:"backlog,omitempty"`
	// Location and SKU name the series of a synthetic world the task
	// simulates (see ReplenishTaskForSeries); the agent's prompt header
	// states them. Empty means "S01" and "P001".
	Location string `json:"location,omitempty"`
	SKU      string `json:"sku,omitempty"`
	// Logged is the ordering policy that logged the series' training data,
	// played as a reference. Nil means the world's near-optimal base-stock
	// with z = LoggingZ.
	Logged *LoggedPolicy `json:"logged,omitempty"`
	// TargetCost7 is the seven-day cost the agent is conditioned on: the c7
	// field of today's prompt line, the outcome it is asked to achieve. Zero
	// means tuned: the percentiles of the c7 its Preamble's lines carry
	// (cost7Candidates, the outcomes the logged policy achieved), each with
	// greedy and with median decoding (ReplenishSpec.Median), are played on
	// the tuning paths, never the evaluation paths, and the cheapest is
	// kept, as the baselines' levels are searched (a
	// return-conditioned model does not simply get better the lower the
	// target: one asked for outcomes its data rarely shows acts worse, see
	// BENCHMARKS.md). Without a preamble zero means 7 x the optimum's exact
	// expected cost per day where the DP applies, else 7 x the best
	// base-stock level's tuning cost. Negative means no conditioning
	// (today's line has no c7).
	TargetCost7 int `json:"target_cost_7d,omitempty"`
	// Preamble is the series' logged history before the episode, as
	// complete day lines of its rendered timeline (tokenize.FormatDay,
	// oldest first), such as the last days before the cutoff. The agent's
	// prompt shows them before the episode's own days, as a deployed model
	// would see its store's recent log; the simulated policies ignore them.
	// Empty means none.
	Preamble []string `json:"-"`
	// Workers bounds the goroutines that play episodes. Zero means
	// GOMAXPROCS. Results do not depend on it.
	Workers int `json:"-"`
}

// ReplenishSpec is what the agent is told about a replenishment task.
type ReplenishSpec struct {
	LeadTime int
	// Location and SKU name the series (the prompt's header).
	Location, SKU string
	// TargetCost7 is the seven-day cost to condition on; zero or less means none.
	TargetCost7 int
	// Preamble is the series' logged history (ReplenishTask.Preamble).
	Preamble []string
	// Median asks for the level as the median of the model's distribution
	// over levels rather than greedy decoding (ModelPolicy.Median).
	Median bool
}

func decodeName(median bool) string {
	if median {
		return "median"
	}
	return "greedy"
}

// WithDefaults returns t with zero fields set to their defaults.
func (t ReplenishTask) WithDefaults() ReplenishTask {
	if t.Demand == (dataset.DemandProcess{}) {
		t.Demand = dataset.DemandProcess{Base: 5}
	}
	if t.LeadTime == 0 {
		t.LeadTime = 2
	}
	if t.Holding == 0 {
		t.Holding = 1
	}
	if t.LostSale == 0 {
		t.LostSale = 9
	}
	if t.Days == 0 {
		t.Days = 120
	}
	if t.WarmupDays == 0 {
		t.WarmupDays = 14
	}
	if t.WarmupDays < 0 {
		t.WarmupDays = 0
	}
	if t.Episodes == 0 {
		t.Episodes = 8
	}
	if t.TuningEpisodes == 0 {
		t.TuningEpisodes = t.Episodes
	}
	if t.MaxOrder == 0 {
		t.MaxOrder = min(9999, max(20, int(math.Ceil(4*t.meanCover()))))
	}
	if t.Location == "" {
		t.Location = "S01"
	}
	if t.SKU == "" {
		t.SKU = "P001"
	}
	return t
}

// Validate reports every problem at once; call it after WithDefaults.
func (t ReplenishTask) Validate() error {
	var errs []error
	if t.LeadTime < 1 {
		errs = append(errs, fmt.Errorf("lead_time: must be at least 1, got %d", t.LeadTime))
	}
	if t.Holding < 0 || t.LostSale < 0 {
		errs = append(errs, fmt.Errorf("holding, lost_sale: must not be negative, got %g, %g", t.Holding, t.LostSale))
	}
	if t.Days <= t.WarmupDays {
		errs = append(errs, fmt.Errorf("days: %d leaves nothing after %d warm-up days", t.Days, t.WarmupDays))
	}
	if t.Episodes < 1 || t.TuningEpisodes < 1 {
		errs = append(errs, fmt.Errorf("episodes, tuning_episodes: must be positive, got %d, %d", t.Episodes, t.TuningEpisodes))
	}
	if t.MaxOrder < 1 || t.MaxOrder > 9999 {
		errs = append(errs, fmt.Errorf("max_order: must be in [1, 9999], got %d", t.MaxOrder))
	}
	d := t.Demand
	if d.Base < 0 || d.Dispersion < 0 || d.PromoProb < 0 || d.PromoProb > 1 || d.PromoLift < 0 {
		errs = append(errs, fmt.Errorf("demand: base, dispersion, promo_lift must not be negative and promo_prob must be a probability: %+v", d))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: replenish task: %w", ErrInvalidConfig, err)
	}
	return nil
}

// meanCover is the mean demand over the first LeadTime+1 days: what an order
// must cover, and the natural scale of stock levels.
func (t ReplenishTask) meanCover() float64 {
	var s float64
	for d := 0; d <= t.LeadTime; d++ {
		s += t.Demand.Mean(d)
	}
	return s
}

// Policy decides how much to order at the end of a day. history holds every
// earlier day of the episode, oldest first, with its Order filled in; today
// has everything but Order. An Order below zero counts as an invalid action
// and orders nothing. A Policy is used by one simulation at a time.
type Policy interface {
	Name() string
	Order(history []tokenize.InventoryDay, today tokenize.InventoryDay) int
}

// InvalidReporter is implemented by policies whose decisions can fail, such
// as a model that emits no number. The simulator asks after every Order and
// counts the failures; the policy's Order should then return 0.
type InvalidReporter interface {
	LastInvalid() bool
}

// ErrReporter is implemented by policies that can hit an error that is not
// the policy's fault (a tokenizer that does not match the model). The
// simulator checks Err after every episode and stops with it.
type ErrReporter interface {
	Err() error
}

// PolicyResult is one policy's score on a task, over the scored days of all episodes.
type PolicyResult struct {
	Name string `json:"name"`
	// CostPerDay is the mean holding plus lost-sale cost per scored day.
	CostPerDay float64 `json:"cost_per_day"`
	// FillRate is units sold over units demanded.
	FillRate float64 `json:"fill_rate"`
	// InvalidActions counts decisions the policy failed to make (ordering 0 instead).
	InvalidActions int `json:"invalid_actions"`
	// CappedActions counts orders cut to MaxOrder.
	CappedActions int `json:"capped_actions"`
	// Decisions counts all decisions, warm-up included, over all episodes.
	Decisions int `json:"decisions"`
	// HoldingCost and LostSaleCost split CostPerDay.
	HoldingCost  float64 `json:"holding_cost_per_day"`
	LostSaleCost float64 `json:"lost_sale_cost_per_day"`
	// CostCI95 is the half-width of the 95% confidence interval of
	// CostPerDay over the episodes (Student's t on the per-episode costs),
	// the sampling noise of the simulated estimate; Episodes is their number.
	CostCI95 float64 `json:"cost_ci95"`
	Episodes int     `json:"episodes"`
	// ExpectedCost and ExpectedFillRate are the policy's exact long-run
	// values from the stationary distribution of its Markov chain; nil where
	// the task has no exact chain (see DPSolution.Stationary).
	ExpectedCost     *float64 `json:"expected_cost,omitempty"`
	ExpectedFillRate *float64 `json:"expected_fill_rate,omitempty"`

	episodeCosts []float64 // cost per scored day of each episode, for paired comparisons
}

// pairedCI95 is the 95% half-width of the mean per-episode difference a - b
// of two policies played on the same paths: with common random numbers it
// is much narrower than either policy's own interval.
func pairedCI95(a, b PolicyResult) float64 {
	if len(a.episodeCosts) != len(b.episodeCosts) {
		return math.NaN()
	}
	d := make([]float64, len(a.episodeCosts))
	for i := range d {
		d[i] = a.episodeCosts[i] - b.episodeCosts[i]
	}
	return ci95(d)
}

// episode is the ledger of one simulated episode, kept whole so tests can
// check conservation.
type episode struct {
	initial, finalOnHand, finalPipeline int
	demand, sold, lost                  int // all days
	received, ordered                   int
	scoredDemand, scoredSold            int
	scoredDays                          int
	holding, lostCost                   float64 // scored days
	invalid, capped, decisions          int
	days                                []tokenize.InventoryDay
}

// demandPaths draws n demand paths of t.Days from PCG streams base+e.
func (t ReplenishTask) demandPaths(n int, base uint64) [][]int {
	return drawPaths(t.Demand, t.Seed, t.Days, n, base)
}

// drawPaths draws n demand paths of days from PCG streams base+e: path e
// is the same whichever other paths are drawn, and whoever plays it.
func drawPaths(demand dataset.DemandProcess, seed int64, days, n int, base uint64) [][]int {
	paths := make([][]int, n)
	for e := range paths {
		rng := rand.New(rand.NewPCG(uint64(seed), base+uint64(e)))
		p := make([]int, days)
		for d := range p {
			p[d], _ = demand.Sample(rng, d)
		}
		paths[e] = p
	}
	return paths
}

// Stream bases keep the evaluation and tuning paths apart.
const (
	evalStream   = 0
	tuningStream = 1 << 40
)

// simulate plays one episode of demand under p. t must have its defaults
// applied. With Backlog, sold counts units served from stock on the day of
// their demand, and on hand may end negative.
func (t ReplenishTask) simulate(p Policy, demand []int) episode {
	L := t.LeadTime
	ep := episode{initial: int(math.Round(t.meanCover()))}
	inv, hasInv := p.(InvalidReporter)
	arrivals := make([]int, len(demand)+L+1)
	onHand, pipeline := ep.initial, 0
	ep.days = make([]tokenize.InventoryDay, 0, len(demand))
	costs := make([]float64, len(demand)) // every day's cost, warm-up included
	horizon := dataset.Costs.HorizonDays
	for d, dem := range demand {
		onHand += arrivals[d]
		pipeline -= arrivals[d]
		ep.received += arrivals[d]
		today := tokenize.InventoryDay{Weekday: d % 7, OnHand: onHand, Pipeline: pipeline, Demand: dem}
		sold := min(dem, max(onHand, 0))
		short := dem - sold // lost, or newly backordered
		if t.Backlog {
			onHand -= dem
			short = max(-onHand, 0) // backordered at the end of the day
		} else {
			today.Lost = short
			onHand -= sold
		}
		ep.demand += dem
		ep.sold += sold
		ep.lost += today.Lost
		costs[d] = t.Holding*float64(max(onHand, 0)) + t.LostSale*float64(short)
		if d >= t.WarmupDays {
			ep.scoredDays++
			ep.scoredDemand += dem
			ep.scoredSold += sold
			ep.holding += t.Holding * float64(max(onHand, 0))
			ep.lostCost += t.LostSale * float64(short)
		}
		// As in the synthetic world's logs, a decision's realised cost over
		// the horizon days from its order's due day on (days k+L..
		// k+L+horizon-1) is known once they are over: today completes the
		// one made L+horizon-1 days ago.
		if k := d - L - horizon + 1; k >= 0 {
			var c float64
			for _, x := range costs[k+L : d+1] {
				c += x
			}
			ep.days[k].Cost7, ep.days[k].HasCost7 = int(math.Round(c)), true
		}
		q := p.Order(ep.days, today)
		ep.decisions++
		if (hasInv && inv.LastInvalid()) || q < 0 {
			ep.invalid++
			q = max(q, 0)
		}
		if q > t.MaxOrder {
			ep.capped++
			q = t.MaxOrder
		}
		today.Order = q
		ep.ordered += q
		arrivals[d+L] += q
		pipeline += q
		ep.days = append(ep.days, today)
	}
	ep.finalOnHand, ep.finalPipeline = onHand, pipeline
	return ep
}

// evaluate plays p over paths, one episode per path on up to t.Workers
// goroutines, and sums the scored days in path order. t must have its
// defaults applied.
func (t ReplenishTask) evaluate(ctx context.Context, p Policy, paths [][]int) (PolicyResult, error) {
	fork := func(p Policy) Policy {
		if f, ok := p.(Forker); ok {
			return f.Fork()
		}
		return p
	}
	return playPaths(ctx, t.Workers, p, p.Name(), paths, fork, func(q Policy, demand []int) episodeTotals {
		ep := t.simulate(q, demand)
		return episodeTotals{days: ep.scoredDays, demand: ep.scoredDemand, served: ep.scoredSold,
			holding: ep.holding, penalty: ep.lostCost, invalid: ep.invalid, capped: ep.capped, decisions: ep.decisions}
	})
}

// playPaths plays one episode per demand path on up to workers goroutines,
// each on fork(p) (a fresh policy for policies that keep state), and sums
// the episodes in path order, so the result does not depend on workers. A
// policy that reports an error (ErrReporter) after its episode fails it.
func playPaths[P any](ctx context.Context, workers int, p P, name string, paths [][]int, fork func(P) P, play func(P, []int) episodeTotals) (PolicyResult, error) {
	totals := make([]episodeTotals, len(paths))
	err := forEach(ctx, len(paths), workers, func(i int) error {
		q := fork(p)
		totals[i] = play(q, paths[i])
		if er, ok := any(q).(ErrReporter); ok && er.Err() != nil {
			return fmt.Errorf("policy %s: %w", name, er.Err())
		}
		return nil
	})
	if err != nil {
		return PolicyResult{Name: name}, err
	}
	return summarise(PolicyResult{Name: name}, totals), nil
}

// episodeTotals is what one simulated episode contributes to a policy's score.
type episodeTotals struct {
	days, demand, served       int
	holding, penalty           float64
	invalid, capped, decisions int
}

// summarise sums episodes in order into r: costs per scored day, the
// per-episode costs behind the confidence interval, and the fill rate.
func summarise(r PolicyResult, eps []episodeTotals) PolicyResult {
	var days, dem, served int
	var hold, pen float64
	per := make([]float64, len(eps))
	for i, ep := range eps {
		days += ep.days
		dem += ep.demand
		served += ep.served
		hold += ep.holding
		pen += ep.penalty
		r.InvalidActions += ep.invalid
		r.CappedActions += ep.capped
		r.Decisions += ep.decisions
		per[i] = (ep.holding + ep.penalty) / float64(ep.days)
	}
	r.HoldingCost = hold / float64(days)
	r.LostSaleCost = pen / float64(days)
	r.CostPerDay = r.HoldingCost + r.LostSaleCost
	r.CostCI95 = ci95(per)
	r.episodeCosts = per
	r.Episodes = len(eps)
	r.FillRate = 1
	if dem > 0 {
		r.FillRate = float64(served) / float64(dem)
	}
	return r
}

// Evaluate scores p on the task's evaluation paths.
func (t ReplenishTask) Evaluate(ctx context.Context, p Policy) (PolicyResult, error) {
	t = t.WithDefaults()
	if err := t.Validate(); err != nil {
		return PolicyResult{}, err
	}
	return t.evaluate(ctx, p, t.demandPaths(t.Episodes, evalStream))
}

// BaseStock orders up to level S: S minus the inventory position, which is
// the on hand left at the end of the day plus the pipeline.
type BaseStock struct {
	S int
	// Label overrides the name "base-stock(S=..)".
	Label string
}

// Name implements Policy.
func (b BaseStock) Name() string {
	if b.Label != "" {
		return b.Label
	}
	return fmt.Sprintf("base-stock(S=%d)", b.S)
}

// Order implements Policy.
func (b BaseStock) Order(_ []tokenize.InventoryDay, today tokenize.InventoryDay) int {
	position := endOnHand(today) + today.Pipeline
	return max(0, b.S-position)
}

// endOnHand is what is left on the shelf after the day's sales.
func endOnHand(d tokenize.InventoryDay) int { return d.OnHand - (d.Demand - d.Lost) }

// NaiveBaseStock is the untuned rule of thumb: order up to the mean demand
// over the lead time plus the review day, with no safety stock.
func (t ReplenishTask) NaiveBaseStock() BaseStock {
	t = t.WithDefaults()
	return BaseStock{S: int(math.Ceil(t.meanCover())), Label: fmt.Sprintf("base-stock-naive(S=%d)", int(math.Ceil(t.meanCover())))}
}

// TuneBaseStock searches every level S from 0 to a generous upper bound on
// the task's tuning paths (never the evaluation paths) and returns the
// cheapest, the smallest among ties, with its tuning cost per day.
func (t ReplenishTask) TuneBaseStock(ctx context.Context) (BaseStock, float64, error) {
	t = t.WithDefaults()
	if err := t.Validate(); err != nil {
		return BaseStock{}, 0, err
	}
	paths := t.demandPaths(t.TuningEpisodes, tuningStream)
	maxMean := 0.0
	for d := 0; d < t.Days; d++ {
		maxMean = math.Max(maxMean, t.Demand.Mean(d))
	}
	if t.Demand.PromoProb > 0 && t.Demand.PromoLift > 1 {
		maxMean *= t.Demand.PromoLift
	}
	cover := maxMean * float64(t.LeadTime+1)
	hi := int(math.Ceil(cover+6*math.Sqrt(cover)*(1+t.Demand.Dispersion*maxMean))) + 5
	best, bestCost := BaseStock{}, math.Inf(1)
	for s := 0; s <= hi; s++ {
		r, err := t.evaluate(ctx, BaseStock{S: s}, paths)
		if err != nil {
			return BaseStock{}, 0, err
		}
		if r.CostPerDay < bestCost {
			best, bestCost = BaseStock{S: s}, r.CostPerDay
		}
	}
	return best, bestCost, nil
}

// ReplenishTaskName is the scorecard name of the replenishment task.
const ReplenishTaskName = "replenish"

// Name implements Task.
func (t ReplenishTask) Name() string { return ReplenishTaskName }

// Params implements Task.
func (t ReplenishTask) Params() map[string]any {
	t = t.WithDefaults()
	return map[string]any{
		"demand": t.Demand, "lead_time": t.LeadTime, "holding": t.Holding, "lost_sale": t.LostSale,
		"days": t.Days, "warmup_days": t.WarmupDays, "seed": t.Seed, "episodes": t.Episodes,
		"tuning_episodes": t.TuningEpisodes, "max_order": t.MaxOrder, "backlog": t.Backlog,
		"location": t.Location, "sku": t.SKU, "logged": t.logged().Name(),
	}
}

// Run implements Task: RunReplenish with the agent's replenisher, if any,
// told the task's series and its target cost.
func (t ReplenishTask) Run(ctx context.Context, a Agent) (TaskResult, error) {
	return runReplenish(ctx, t, a.Replenisher)
}

var _ Task = ReplenishTask{}

// RunReplenish scores model (nil for references only) against the
// references on the task's evaluation paths, all on the same demand
// (common random numbers):
//
//   - the DP-optimal policy, where SolveDP applies (the optimum, reported
//     apart from the baselines);
//   - the best base-stock level and the best (s,S) pair, found by search on
//     their exact stationary costs where the chain is exact, and otherwise
//     on simulated tuning paths that are never the evaluation paths;
//   - the newsvendor (myopic) policy, the critical fractile of demand over
//     the lead time;
//   - the policy that logged the training data (Logged; by default
//     base-stock with the world's z = 1.3) and the untuned base-stock rule
//     of thumb.
//
// Where the chain is exact every reference also carries its exact expected
// cost, and the best baseline is chosen on those; otherwise on the
// simulated costs. Each simulated cost carries a 95% confidence half-width
// over the episodes.
func RunReplenish(ctx context.Context, t ReplenishTask, model Policy) (TaskResult, error) {
	if model == nil {
		return runReplenish(ctx, t, nil)
	}
	return runReplenish(ctx, t, func(ReplenishSpec) (Policy, error) { return model, nil })
}

// runReplenish is RunReplenish with the model made by mk (nil: none) once
// the target cost is known.
func runReplenish(ctx context.Context, t ReplenishTask, mk func(ReplenishSpec) (Policy, error)) (TaskResult, error) {
	t = t.WithDefaults()
	if err := t.Validate(); err != nil {
		return TaskResult{}, err
	}
	res := TaskResult{Name: ReplenishTaskName, Params: t.Params()}
	var dp *DPSolution
	switch sol, err := t.SolveDP(ctx); {
	case err == nil:
		dp = sol
		res.OptimumExpectedCost = &sol.Cost
		res.Params["dp_max_order"], res.Params["dp_max_on_hand"] = sol.MaxOrder, sol.MaxOnHand
		if sol.Backlog {
			res.Params["dp_max_backorder"] = sol.MaxBackorder
		}
	case errors.Is(err, ErrNoOptimum):
		res.OptimumNote = err.Error()
	default:
		return TaskResult{}, err
	}
	var bestBS BaseStock
	var bestSS SS
	var refCost float64                     // the optimum's expected cost, else the best base-stock's tuning cost
	exactChain := dp != nil && !dp.Periodic // fixed policies have an exact stationary cost
	if exactChain {
		var err error
		if bestBS, _, err = dp.BestBaseStock(ctx); err != nil {
			return TaskResult{}, err
		}
		refCost = dp.Cost
		if bestSS, _, err = dp.BestSS(ctx, bestBS.S); err != nil {
			return TaskResult{}, err
		}
		res.Params["search"] = "exact stationary cost"
	} else {
		var err error
		if bestBS, refCost, err = t.TuneBaseStock(ctx); err != nil {
			return TaskResult{}, err
		}
		if dp != nil {
			refCost = dp.Cost
		}
		if bestSS, _, err = t.TuneSS(ctx, bestBS.S); err != nil {
			return TaskResult{}, err
		}
		res.Params["search"] = "simulated tuning paths"
	}
	nv, err := t.Newsvendor()
	if err != nil {
		return TaskResult{}, err
	}
	logging := t.logged()
	res.Params["tuned_s"], res.Params["tuned_ss"] = bestBS.S, [2]int{bestSS.Low, bestSS.S}
	res.Params["newsvendor_s"], res.Params["naive_s"], res.Params["logging_s"] = nv.S, t.NaiveBaseStock().S, logging.OrderUpTo()
	var model Policy
	if mk != nil {
		spec := ReplenishSpec{LeadTime: t.LeadTime, Location: t.Location, SKU: t.SKU, TargetCost7: t.TargetCost7, Preamble: t.Preamble}
		res.Params["preamble_days"] = len(t.Preamble)
		if spec.TargetCost7 == 0 {
			if cands := cost7Candidates(t.Preamble); len(cands) > 0 {
				// Like the baselines' levels, the target is tuned on the
				// tuning paths, never on the evaluation paths.
				// So is the decoding: greedy, or the median of the
				// model's distribution over levels.
				tuning := t.demandPaths(t.TuningEpisodes, tuningStream)
				best, tried := math.Inf(1), map[string]float64{}
				for _, median := range []bool{false, true} {
					for _, c := range cands {
						s := spec
						s.TargetCost7, s.Median = c, median
						p, err := mk(s)
						if err != nil {
							return TaskResult{}, err
						}
						r, err := t.evaluate(ctx, p, tuning)
						if err != nil {
							return TaskResult{}, err
						}
						tried[decodeName(median)+"/"+strconv.Itoa(c)] = r.CostPerDay
						if r.CostPerDay < best {
							best, spec.TargetCost7, spec.Median = r.CostPerDay, c, median
						}
					}
				}
				res.Params["target_tuning_costs"] = tried
				res.Params["decode"] = decodeName(spec.Median)
			} else {
				spec.TargetCost7 = int(math.Round(float64(dataset.Costs.HorizonDays) * refCost))
			}
		}
		spec.TargetCost7 = max(spec.TargetCost7, 0)
		res.Params["target_cost_7d"] = spec.TargetCost7
		p, err := mk(spec)
		if err != nil {
			return TaskResult{}, err
		}
		model = p
	}

	paths := t.demandPaths(t.Episodes, evalStream)
	play := func(p Policy, exact bool) (PolicyResult, error) {
		r, err := t.evaluate(ctx, p, paths)
		if err != nil {
			return r, err
		}
		if exactChain && exact {
			st, err := dp.Stationary(ctx, p)
			if err != nil {
				return r, fmt.Errorf("policy %s: %w", p.Name(), err)
			}
			r.ExpectedCost, r.ExpectedFillRate = &st.Cost, &st.FillRate
		}
		res.Policies = append(res.Policies, r)
		return r, nil
	}
	if model != nil {
		r, err := play(model, false)
		if err != nil {
			return TaskResult{}, err
		}
		res.ModelPolicy, res.ModelCost = r.Name, r.CostPerDay
	}
	bestKey := math.Inf(1)
	var best PolicyResult
	for _, b := range []Policy{bestBS, bestSS, nv, logging, t.NaiveBaseStock()} {
		// A noisy or weekly logged policy has no stationary chain on the
		// DP's state: it is simulated only.
		r, err := play(b, b != Policy(logging) || !(logging.noisy || logging.weekly))
		if err != nil {
			return TaskResult{}, err
		}
		key := r.CostPerDay
		if r.ExpectedCost != nil {
			key = *r.ExpectedCost
		}
		if b == Policy(logging) {
			res.LoggingPolicy, res.LoggingCost = r.Name, &r.CostPerDay
		}
		if key < bestKey {
			bestKey, best = key, r
			res.BestBaseline, res.BestBaselineCost = r.Name, r.CostPerDay
		}
	}
	if dp != nil {
		r, err := play(dp.Policy(), true)
		if err != nil {
			return TaskResult{}, err
		}
		res.OptimumCost = &r.CostPerDay
	}
	if res.ModelPolicy != "" {
		if g := relGap(res.ModelCost, res.BestBaselineCost); g != nil {
			res.Gap = *g
		}
		ci := pairedCI95(res.Policies[0], best)
		res.ModelDiffCI95 = &ci
		if res.OptimumCost != nil {
			res.GapToOptimum = relGap(res.ModelCost, *res.OptimumCost)
		}
	}
	return res, nil
}

// relGap is (cost-ref)/ref, nil when ref is zero.
func relGap(cost, ref float64) *float64 {
	if ref == 0 {
		return nil
	}
	g := (cost - ref) / ref
	return &g
}

// cost7Candidates are the targets the agent is tuned over: the 10th, 25th,
// 50th, 75th and 90th percentiles of the c7 its preamble's lines carry
// (the outcomes its logged policy achieved), without repeats; none when no
// line carries c7.
func cost7Candidates(lines []string) []int {
	cs := cost7s(lines)
	if len(cs) == 0 {
		return nil
	}
	var out []int
	for _, q := range []float64{0.1, 0.25, 0.5, 0.75, 0.9} {
		c := cs[int(q*float64(len(cs)-1))]
		if len(out) == 0 || out[len(out)-1] != c {
			out = append(out, c)
		}
	}
	return out
}

// medianCost7 is the median c7 of day lines (the lower middle of an even
// count); 0 when none carries one.
func medianCost7(lines []string) int {
	cs := cost7s(lines)
	if len(cs) == 0 {
		return 0
	}
	return cs[(len(cs)-1)/2]
}

// cost7s are the c7 values of day lines, sorted.
func cost7s(lines []string) []int {
	var cs []int
	for _, l := range lines {
		_, rest, ok := strings.Cut(l, " c7=")
		if !ok {
			continue
		}
		digits, _, _ := strings.Cut(rest, " ")
		if c, err := strconv.Atoi(digits); err == nil {
			cs = append(cs, c)
		}
	}
	slices.Sort(cs)
	return cs
}
