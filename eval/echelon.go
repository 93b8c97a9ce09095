package eval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/supplyline/supplyline/dataset"
)

// EchelonTask is a serial supply chain in the style of OR-Gym's
// InvManagement: stage 0, the retailer, meets customer demand; stage i
// orders from stage i+1, and the last stage from an outside supplier with
// unlimited stock. Each day:
//
//  1. shipments due today arrive (a shipment to stage i travels LeadTimes[i] days);
//  2. customer demand (Demand.Sample) and the retailer's earlier backorders
//     are served from its stock; what it cannot serve is backordered;
//  3. every stage orders (the policy sees the day and all earlier days);
//     stage i+1 adds stage i's order to what it owes and ships as much of it
//     as it has on hand, the rest waiting (backlog at every stage), and the
//     supplier ships the last stage's order in full;
//  4. the day costs Holding[i] per unit on hand at stage i at its end plus
//     Backorder per unit of customer demand backordered at its end.
//
// The task keeps Clark and Scarf's assumptions (uncapacitated, backlog,
// linear holding and backorder costs, no fixed order costs, holding costs
// that do not rise downstream... that is, non-negative echelon holding
// costs), under which an echelon base-stock policy is optimal for
// independent, identically distributed demand. The levels here are found by
// coordinate search on simulated tuning paths, so the best echelon
// base-stock reported is the optimal policy's form with searched levels: a
// reference, and an upper bound on the optimum, not a certified optimum.
// Validate refuses holding costs that rise downstream-to-upstream, which
// would break the assumptions.
type EchelonTask struct {
	// Demand is the retailer's daily demand. The zero value means
	// stationary Poisson with mean 5.
	Demand dataset.DemandProcess `json:"demand"`
	// Stages is the chain's length. Zero means len(LeadTimes), or 4.
	Stages int `json:"stages"`
	// LeadTimes are the transit days into each stage, retailer first.
	// Empty means 2 for every stage.
	LeadTimes []int `json:"lead_times"`
	// Holding is each stage's cost per unit on hand per day, retailer
	// first; it must not rise upstream. Empty means Stages, Stages-1, ..., 1
	// (echelon holding cost 1 everywhere).
	Holding []float64 `json:"holding"`
	// Backorder is the cost per unit of customer demand backordered per day. Zero means 20.
	Backorder float64 `json:"backorder"`
	// Days, WarmupDays, Seed, Episodes and TuningEpisodes are as in
	// ReplenishTask; zero means 150, 30, 0, 8 and Episodes.
	Days           int   `json:"days"`
	WarmupDays     int   `json:"warmup_days"`
	Seed           int64 `json:"seed"`
	Episodes       int   `json:"episodes"`
	TuningEpisodes int   `json:"tuning_episodes"`
	// Workers bounds the goroutines that play episodes. Zero means GOMAXPROCS.
	Workers int `json:"-"`
}

// EchelonTaskName is the scorecard name of the multi-echelon task.
const EchelonTaskName = "multi-echelon"

// maxEchelonOrder caps every stage's order, as four digits would.
const maxEchelonOrder = 9999

// WithDefaults returns t with zero fields set to their defaults.
func (t EchelonTask) WithDefaults() EchelonTask {
	if t.Demand == (dataset.DemandProcess{}) {
		t.Demand = dataset.DemandProcess{Base: 5}
	}
	if t.Stages == 0 {
		t.Stages = len(t.LeadTimes)
	}
	if t.Stages == 0 {
		t.Stages = 4
	}
	if len(t.LeadTimes) == 0 {
		t.LeadTimes = make([]int, t.Stages)
		for i := range t.LeadTimes {
			t.LeadTimes[i] = 2
		}
	}
	if len(t.Holding) == 0 {
		t.Holding = make([]float64, t.Stages)
		for i := range t.Holding {
			t.Holding[i] = float64(t.Stages - i)
		}
	}
	if t.Backorder == 0 {
		t.Backorder = 20
	}
	if t.Days == 0 {
		t.Days = 150
	}
	if t.WarmupDays == 0 {
		t.WarmupDays = 30
	}
	t.WarmupDays = max(t.WarmupDays, 0)
	if t.Episodes == 0 {
		t.Episodes = 8
	}
	if t.TuningEpisodes == 0 {
		t.TuningEpisodes = t.Episodes
	}
	return t
}

// Validate reports every problem at once; call it after WithDefaults.
func (t EchelonTask) Validate() error {
	var errs []error
	if t.Stages < 2 || t.Stages > 8 {
		errs = append(errs, fmt.Errorf("stages: must be in [2, 8], got %d", t.Stages))
	}
	if len(t.LeadTimes) != t.Stages || len(t.Holding) != t.Stages {
		errs = append(errs, fmt.Errorf("lead_times, holding: need %d entries each, got %d and %d", t.Stages, len(t.LeadTimes), len(t.Holding)))
	} else {
		for i := range t.Stages {
			if t.LeadTimes[i] < 1 {
				errs = append(errs, fmt.Errorf("lead_times[%d]: must be at least 1, got %d", i, t.LeadTimes[i]))
			}
			if t.Holding[i] < 0 || (i > 0 && t.Holding[i] > t.Holding[i-1]) {
				errs = append(errs, fmt.Errorf("holding[%d]: %g must be non-negative and at most the downstream stage's (echelon holding costs >= 0, Clark-Scarf)", i, t.Holding[i]))
			}
		}
	}
	if t.Backorder < 0 {
		errs = append(errs, fmt.Errorf("backorder: must not be negative, got %g", t.Backorder))
	}
	if t.Days <= t.WarmupDays {
		errs = append(errs, fmt.Errorf("days: %d leaves nothing after %d warm-up days", t.Days, t.WarmupDays))
	}
	if t.Episodes < 1 || t.TuningEpisodes < 1 {
		errs = append(errs, fmt.Errorf("episodes, tuning_episodes: must be positive, got %d, %d", t.Episodes, t.TuningEpisodes))
	}
	d := t.Demand
	if d.Base < 0 || d.Dispersion < 0 || d.PromoProb < 0 || d.PromoProb > 1 || d.PromoLift < 0 {
		errs = append(errs, fmt.Errorf("demand: base, dispersion, promo_lift must not be negative and promo_prob must be a probability: %+v", d))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: multi-echelon task: %w", ErrInvalidConfig, err)
	}
	return nil
}

// EchelonStage is what one stage looks like at the end of a day, before it orders.
type EchelonStage struct {
	// OnHand is the stock at the stage.
	OnHand int `json:"on_hand"`
	// Backorders is what the stage owes downstream: customers for the
	// retailer, the next stage's unshipped orders otherwise.
	Backorders int `json:"backorders"`
	// InTransit is what has been shipped to the stage and not yet arrived.
	InTransit int `json:"in_transit"`
	// Unfilled is what the stage has ordered that its supplier has not shipped (0 for the last stage).
	Unfilled int `json:"unfilled"`
	// Order is the stage's order of the day; filled in history only.
	Order int `json:"order"`
}

// EchelonDay is one day of the chain, retailer first.
type EchelonDay struct {
	Day    int            `json:"day"`
	Demand int            `json:"demand"`
	Stages []EchelonStage `json:"stages"`
}

// EchelonPosition is stage i's echelon inventory position: the stock at
// stages 0..i and in transit to them, plus stage i's unfilled orders, minus
// the customers' backorders. It moves only by stage i's orders and by
// customer demand.
func (d EchelonDay) EchelonPosition(i int) int {
	p := d.Stages[i].Unfilled - d.Stages[0].Backorders
	for j := 0; j <= i; j++ {
		p += d.Stages[j].OnHand + d.Stages[j].InTransit
	}
	return p
}

// InstallationPosition is stage i's own inventory position: on hand plus in
// transit plus unfilled, minus what it owes downstream.
func (d EchelonDay) InstallationPosition(i int) int {
	s := d.Stages[i]
	return s.OnHand + s.InTransit + s.Unfilled - s.Backorders
}

// EchelonPolicy orders for every stage of a serial chain. Orders returns
// one quantity per stage, retailer first; a negative quantity orders
// nothing and counts as an invalid action. A policy that keeps state
// between decisions implements EchelonForker.
//
// ModelAgent plays EchelonModelPolicy: the single-item grammar, stage by
// stage. FormatEchelonDay is a chain-wide line format for a model trained
// on multi-echelon text, which the training data does not have yet.
type EchelonPolicy interface {
	Name() string
	Orders(history []EchelonDay, today EchelonDay) []int
}

// EchelonForker is Forker for echelon policies: each episode plays on a fresh Fork.
type EchelonForker interface {
	Fork() EchelonPolicy
}

// FormatEchelonDay renders a day as a prompt line, a placeholder format for a
// model agent: "d=12 dem=4 | s0 oh=3 bo=0 tr=9 uf=0 ord=5 | s1 ...\n", with
// "ord=" last on each stage; a prompt ends after today's first "ord=" and
// the model would fill the stages in turn.
func FormatEchelonDay(d EchelonDay) string {
	var b strings.Builder
	fmt.Fprintf(&b, "d=%d dem=%d", d.Day, d.Demand)
	for i, s := range d.Stages {
		fmt.Fprintf(&b, " | s%d oh=%d bo=%d tr=%d uf=%d ord=%d", i, s.OnHand, s.Backorders, s.InTransit, s.Unfilled, s.Order)
	}
	b.WriteString("\n")
	return b.String()
}

// EchelonBaseStock orders, at each stage i, up to the echelon level S[i]:
// max(0, S[i] - EchelonPosition(i)).
type EchelonBaseStock struct {
	S     []int
	Label string
}

// Name implements EchelonPolicy.
func (p EchelonBaseStock) Name() string {
	if p.Label != "" {
		return p.Label
	}
	return fmt.Sprintf("echelon-base-stock(S=%v)", p.S)
}

// Orders implements EchelonPolicy.
func (p EchelonBaseStock) Orders(_ []EchelonDay, today EchelonDay) []int {
	out := make([]int, len(p.S))
	for i, s := range p.S {
		out[i] = max(0, s-today.EchelonPosition(i))
	}
	return out
}

// InstallationBaseStock orders, at each stage, up to its own level on its
// installation position: each stage sees only itself.
type InstallationBaseStock struct {
	S     []int
	Label string
}

// Name implements EchelonPolicy.
func (p InstallationBaseStock) Name() string {
	if p.Label != "" {
		return p.Label
	}
	return fmt.Sprintf("installation-base-stock(S=%v)", p.S)
}

// Orders implements EchelonPolicy.
func (p InstallationBaseStock) Orders(_ []EchelonDay, today EchelonDay) []int {
	out := make([]int, len(p.S))
	for i, s := range p.S {
		out[i] = max(0, s-today.InstallationPosition(i))
	}
	return out
}

// PassThrough is the naive chain: every stage orders today's customer
// demand, keeping its starting stock and nothing more.
type PassThrough struct{}

// Name implements EchelonPolicy.
func (PassThrough) Name() string { return "pass-through" }

// Orders implements EchelonPolicy.
func (PassThrough) Orders(_ []EchelonDay, today EchelonDay) []int {
	out := make([]int, len(today.Stages))
	for i := range out {
		out[i] = today.Demand
	}
	return out
}

// echelonEpisode is the ledger of one episode, kept whole for the conservation tests.
type echelonEpisode struct {
	initial                    []int
	received, shipped, ordered []int // per stage; shipped is to downstream (customers for stage 0)
	demand, served, onDay      int   // onDay: demand served the day it came
	scoredDemand, scoredOnDay  int
	scoredDays                 int
	holding, backorder         float64
	invalid, capped, decisions int
	final                      EchelonDay
	days                       []EchelonDay
}

// simulate plays one episode of demand under p. t must have its defaults applied.
func (t EchelonTask) simulate(p EchelonPolicy, demand []int) echelonEpisode {
	n := t.Stages
	lambda := math.Max(t.Demand.Mean(0), 0)
	ep := echelonEpisode{initial: make([]int, n), received: make([]int, n), shipped: make([]int, n), ordered: make([]int, n)}
	onHand := make([]int, n)
	owed := make([]int, n+1) // owed[i]: what stage i owes stage i-1 (owed[0]: customer backorders); owed[n] = 0
	transit := make([]int, n)
	arrivals := make([][]int, n)
	for i := range n {
		onHand[i] = int(math.Round(lambda * float64(t.LeadTimes[i]+1)))
		ep.initial[i] = onHand[i]
		arrivals[i] = make([]int, len(demand)+t.LeadTimes[i]+1)
	}
	ep.days = make([]EchelonDay, 0, len(demand))
	for d, dem := range demand {
		for i := range n {
			a := arrivals[i][d]
			onHand[i] += a
			transit[i] -= a
			ep.received[i] += a
		}
		ready := max(onHand[0]-owed[0], 0) // stock left after the backorders
		ep.onDay += min(dem, ready)
		owed[0] += dem
		serve := min(owed[0], onHand[0])
		onHand[0] -= serve
		owed[0] -= serve
		ep.shipped[0] += serve
		ep.demand += dem
		ep.served += serve
		if d >= t.WarmupDays {
			ep.scoredDays++
			ep.scoredDemand += dem
			ep.scoredOnDay += min(dem, ready)
			for i := range n {
				ep.holding += t.Holding[i] * float64(onHand[i])
			}
			ep.backorder += t.Backorder * float64(owed[0])
		}
		today := EchelonDay{Day: d, Demand: dem, Stages: make([]EchelonStage, n)}
		for i := range n {
			today.Stages[i] = EchelonStage{OnHand: onHand[i], Backorders: owed[i], InTransit: transit[i], Unfilled: owed[i+1]}
		}
		q := p.Orders(ep.days, today)
		ep.decisions++
		if inv, ok := p.(InvalidReporter); ok && inv.LastInvalid() {
			ep.invalid++ // a stage failed to state an order and orders 0
		}
		for i := range n {
			qi := 0
			if i < len(q) {
				qi = q[i]
			}
			if qi < 0 || len(q) != n {
				ep.invalid++
				qi = max(qi, 0)
			}
			if qi > maxEchelonOrder {
				ep.capped++
				qi = maxEchelonOrder
			}
			today.Stages[i].Order = qi
			ep.ordered[i] += qi
			if i == n-1 {
				arrivals[i][d+t.LeadTimes[i]] += qi // the outside supplier ships in full
				transit[i] += qi
				continue
			}
			owed[i+1] += qi
		}
		for i := 1; i < n; i++ { // stage i ships to stage i-1
			ship := min(owed[i], onHand[i])
			onHand[i] -= ship
			owed[i] -= ship
			ep.shipped[i] += ship
			arrivals[i-1][d+t.LeadTimes[i-1]] += ship
			transit[i-1] += ship
		}
		ep.days = append(ep.days, today)
	}
	ep.final = EchelonDay{Day: len(demand), Stages: make([]EchelonStage, n)}
	for i := range n {
		ep.final.Stages[i] = EchelonStage{OnHand: onHand[i], Backorders: owed[i], InTransit: transit[i], Unfilled: owed[i+1]}
	}
	return ep
}

// evaluate plays p over paths in parallel and sums the scored days in path order.
func (t EchelonTask) evaluate(ctx context.Context, p EchelonPolicy, paths [][]int) (PolicyResult, error) {
	fork := func(p EchelonPolicy) EchelonPolicy {
		if f, ok := p.(EchelonForker); ok {
			return f.Fork()
		}
		return p
	}
	return playPaths(ctx, t.Workers, p, p.Name(), paths, fork, func(q EchelonPolicy, demand []int) episodeTotals {
		ep := t.simulate(q, demand)
		return episodeTotals{days: ep.scoredDays, demand: ep.scoredDemand, served: ep.scoredOnDay,
			holding: ep.holding, penalty: ep.backorder, invalid: ep.invalid, capped: ep.capped, decisions: ep.decisions}
	})
}

// Evaluate scores p on the task's evaluation paths.
func (t EchelonTask) Evaluate(ctx context.Context, p EchelonPolicy) (PolicyResult, error) {
	t = t.WithDefaults()
	if err := t.Validate(); err != nil {
		return PolicyResult{}, err
	}
	return t.evaluate(ctx, p, drawPaths(t.Demand, t.Seed, t.Days, t.Episodes, evalStream))
}

// meanDemand is the average daily demand over an episode, promotions included.
func (t EchelonTask) meanDemand() float64 {
	var m float64
	for d := 0; d < t.Days; d++ {
		m += t.Demand.Mean(d)
	}
	m /= float64(t.Days)
	if t.Demand.PromoProb > 0 {
		m *= 1 + t.Demand.PromoProb*(t.Demand.PromoLift-1)
	}
	return m
}

// NaiveEchelonLevels are echelon levels with no safety stock: stage i's
// level is the mean demand over the lead times of stages 0..i plus a day.
func (t EchelonTask) NaiveEchelonLevels() []int {
	t = t.WithDefaults()
	lambda := t.meanDemand()
	s := make([]int, t.Stages)
	cum := 0
	for i := range s {
		cum += t.LeadTimes[i]
		s[i] = int(math.Ceil(lambda * float64(cum+1)))
	}
	return s
}

// NaiveInstallation is installation base-stock at each stage's mean
// demand over its own lead time plus a day, with no safety stock.
func (t EchelonTask) NaiveInstallation() InstallationBaseStock {
	t = t.WithDefaults()
	s := make([]int, t.Stages)
	for i := range s {
		s[i] = int(math.Ceil(t.meanDemand() * float64(t.LeadTimes[i]+1)))
	}
	return InstallationBaseStock{S: s, Label: fmt.Sprintf("installation-base-stock-naive(S=%v)", s)}
}

// TuneEchelonBaseStock searches echelon levels by coordinate descent on the
// task's tuning paths (never the evaluation paths): starting from the naive
// levels, it sweeps the stages in turn, trying every level within a window
// of the current one, until a sweep changes nothing (at most 6 sweeps). It
// returns the levels with their tuning cost per day.
func (t EchelonTask) TuneEchelonBaseStock(ctx context.Context) (EchelonBaseStock, float64, error) {
	t = t.WithDefaults()
	if err := t.Validate(); err != nil {
		return EchelonBaseStock{}, 0, err
	}
	paths := drawPaths(t.Demand, t.Seed, t.Days, t.TuningEpisodes, tuningStream)
	s := t.NaiveEchelonLevels()
	cost := func(levels []int) (float64, error) {
		r, err := t.evaluate(ctx, EchelonBaseStock{S: levels}, paths)
		return r.CostPerDay, err
	}
	best, err := cost(s)
	if err != nil {
		return EchelonBaseStock{}, 0, err
	}
	for sweep := 0; sweep < 6; sweep++ {
		changed := false
		for i := range s {
			// The window spans three standard deviations of Poisson-like
			// demand over the level's cover, whose mean the level is.
			w := int(math.Ceil(3*math.Sqrt(float64(s[i]+1)))) + 3
			cur := s[i]
			for v := max(0, cur-w); v <= cur+w; v++ {
				if v == s[i] {
					continue
				}
				trial := append([]int(nil), s...)
				trial[i] = v
				c, err := cost(trial)
				if err != nil {
					return EchelonBaseStock{}, 0, err
				}
				if c < best {
					best, s[i], changed = c, v, true
				}
			}
		}
		if !changed {
			break
		}
	}
	return EchelonBaseStock{S: s}, best, nil
}

// Name implements Task.
func (t EchelonTask) Name() string { return EchelonTaskName }

// Params implements Task.
func (t EchelonTask) Params() map[string]any {
	t = t.WithDefaults()
	return map[string]any{
		"demand": t.Demand, "stages": t.Stages, "lead_times": t.LeadTimes, "holding": t.Holding,
		"backorder": t.Backorder, "days": t.Days, "warmup_days": t.WarmupDays, "seed": t.Seed,
		"episodes": t.Episodes, "tuning_episodes": t.TuningEpisodes,
	}
}

// Run implements Task: the agent's echelon policy, if any, against echelon
// base-stock with searched levels, the same with the naive levels,
// installation base-stock with naive levels, and pass-through, all on the
// same demand paths.
func (t EchelonTask) Run(ctx context.Context, a Agent) (TaskResult, error) {
	t = t.WithDefaults()
	if err := t.Validate(); err != nil {
		return TaskResult{}, err
	}
	res := TaskResult{Name: EchelonTaskName, Params: t.Params()}
	tuned, tuneCost, err := t.TuneEchelonBaseStock(ctx)
	if err != nil {
		return TaskResult{}, err
	}
	res.Params["tuned_levels"], res.Params["tuned_tuning_cost"] = tuned.S, tuneCost
	if stationaryDemand(t.Demand) {
		res.OptimumNote = "echelon base-stock is the optimal policy form here (Clark-Scarf: serial, uncapacitated, backlog, linear costs, i.i.d. demand), but its levels come from a coordinate search on simulated tuning paths, so its cost is a reference and an upper bound on the optimum, not a certified optimum"
	} else {
		res.OptimumNote = "demand is not stationary, so Clark-Scarf's optimality of echelon base-stock does not apply; it is a searched baseline"
	}
	paths := drawPaths(t.Demand, t.Seed, t.Days, t.Episodes, evalStream)
	if a.Echelon != nil {
		p, err := a.Echelon(t.LeadTimes)
		if err != nil {
			return TaskResult{}, err
		}
		r, err := t.evaluate(ctx, p, paths)
		if err != nil {
			return TaskResult{}, err
		}
		res.Policies = append(res.Policies, r)
		res.ModelPolicy, res.ModelCost = r.Name, r.CostPerDay
	}
	naive := t.NaiveEchelonLevels()
	var best PolicyResult
	for _, p := range []EchelonPolicy{
		tuned,
		EchelonBaseStock{S: naive, Label: fmt.Sprintf("echelon-base-stock-naive(S=%v)", naive)},
		t.NaiveInstallation(),
		PassThrough{},
	} {
		r, err := t.evaluate(ctx, p, paths)
		if err != nil {
			return TaskResult{}, err
		}
		res.Policies = append(res.Policies, r)
		if res.BestBaseline == "" || r.CostPerDay < res.BestBaselineCost {
			res.BestBaseline, res.BestBaselineCost, best = r.Name, r.CostPerDay, r
		}
	}
	if res.ModelPolicy != "" {
		if g := relGap(res.ModelCost, res.BestBaselineCost); g != nil {
			res.Gap = *g
		}
		ci := pairedCI95(res.Policies[0], best)
		res.ModelDiffCI95 = &ci
	}
	return res, nil
}

var _ Task = EchelonTask{}
