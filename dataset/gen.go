package dataset

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/supplyline/supplyline/dataset/blob"
)

// GenConfig configures Generate. The zero value is a small default world.
type GenConfig struct {
	// Seed fixes every random draw. The same config gives byte-identical files.
	Seed uint64 `json:"seed"`
	// Start is the first day (truncated to a UTC day). Default 2024-01-01.
	Start time.Time `json:"start"`
	// Days is the number of simulated days. Default 120.
	Days int `json:"days"`
	// Stores is the number of stores, S01... Default 4.
	Stores int `json:"stores"`
	// SKUs is the number of products, P001... Default 6.
	SKUs int `json:"skus"`
	// DCs is the number of distribution centres. Default 1; only 1 is
	// supported for now.
	DCs int `json:"dcs"`
	// Carriers is the number of carriers, C01... Default 2.
	Carriers int `json:"carriers"`
	// EcomOrdersPerDay is the number of e-commerce orders a day. Default 5;
	// negative means none.
	EcomOrdersPerDay int `json:"ecom_orders_per_day"`
	// KnownDemand makes every demand process stationary Poisson with a
	// weekly cycle (no trend, yearly cycle, promotions or over-dispersion),
	// the setting where eval's dynamic-programming optimum is exact.
	KnownDemand bool `json:"known_demand"`
	// Progress, when set, is called after each day file is written. It
	// runs on Generate's goroutine, so it should return quickly. Default none.
	Progress func(GenProgress) `json:"-"`
}

// GenProgress is what GenConfig.Progress is told after each day file.
type GenProgress struct {
	// DaysWritten and Days are the day files written so far and in all.
	DaysWritten, Days int
	// Events is the number of events written so far.
	Events int64
}

func (c GenConfig) withDefaults() GenConfig {
	if c.Start.IsZero() {
		c.Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	c.Start = time.Date(c.Start.Year(), c.Start.Month(), c.Start.Day(), 0, 0, 0, 0, time.UTC)
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Days, 120)
	def(&c.Stores, 4)
	def(&c.SKUs, 6)
	def(&c.DCs, 1)
	def(&c.Carriers, 2)
	def(&c.EcomOrdersPerDay, 5)
	if c.EcomOrdersPerDay < 0 {
		c.EcomOrdersPerDay = 0
	}
	return c
}

// Validate reports a config Generate cannot run. Zero fields are valid (defaults).
func (c GenConfig) Validate() error {
	d := c.withDefaults()
	switch {
	case d.Days < 0 || d.Days > 100*366:
		return fmt.Errorf("%w: days %d out of range 1..36600", ErrInvalidConfig, c.Days)
	case d.Stores < 0 || d.Stores > 99:
		return fmt.Errorf("%w: stores %d out of range 1..99", ErrInvalidConfig, c.Stores)
	case d.SKUs < 0 || d.SKUs > 999:
		return fmt.Errorf("%w: skus %d out of range 1..999", ErrInvalidConfig, c.SKUs)
	case d.DCs != 1:
		return fmt.Errorf("%w: dcs %d: only 1 distribution centre is supported", ErrInvalidConfig, c.DCs)
	case d.Carriers < 0 || d.Carriers > 99:
		return fmt.Errorf("%w: carriers %d out of range 1..99", ErrInvalidConfig, c.Carriers)
	case d.EcomOrdersPerDay > 9999:
		return fmt.Errorf("%w: ecom orders per day %d above 9999", ErrInvalidConfig, c.EcomOrdersPerDay)
	}
	return nil
}

// GenSummary describes a generated world. It is also written to outDir/world.json.
type GenSummary struct {
	// Config is the config after defaults.
	Config GenConfig `json:"config"`
	// Days is the number of days (and day files) written.
	Days int `json:"days"`
	// Files are the day files, relative to outDir, in date order.
	Files []string `json:"files"`
	// Events is the total number of events.
	Events int64 `json:"events"`
	// Counts is the number of events per event type.
	Counts map[string]int64 `json:"counts"`
	// Series describes each (store, SKU) inventory series, in store then SKU order.
	Series []Series `json:"series"`
	// Costs is the cost model of the realised costs recorded in the data.
	Costs CostModel `json:"costs"`
}

// CostModel prices the realised outcome of the logged policies. Its values
// are the defaults of eval's replenishment task, so that an outcome a model
// is conditioned on is measured as eval measures it.
type CostModel struct {
	// Holding is the cost of one unit on hand at the end of a day.
	Holding int `json:"holding"`
	// LostSale is the cost of one unit of demand not served.
	LostSale int `json:"lost_sale"`
	// HorizonDays is the number of days after a decision that
	// replenishment_ordered's realised_cost_7d sums.
	HorizonDays int `json:"horizon_days"`
}

// Costs is the CostModel Generate records realised costs with.
var Costs = CostModel{Holding: 1, LostSale: 9, HorizonDays: 7}

// ExtraRealisedCost is the extras key of replenishment_ordered holding the
// cost the decision went on to realise over the next Costs.HorizonDays days.
const ExtraRealisedCost = "realised_cost_7d"

// Series is one (store, SKU) inventory series of a generated world.
type Series struct {
	Location    string        `json:"location"`
	SKU         string        `json:"sku"`
	LeadTime    int           `json:"lead_time_days"`
	Demand      DemandProcess `json:"demand"`
	Policy      string        `json:"policy"`
	PolicyParam float64       `json:"policy_param"`
	UnitPrice   float64       `json:"unit_price"`
	UnitCost    float64       `json:"unit_cost"`
	// RealisedHoldingCost and RealisedLostSaleCost are the cost the series'
	// policy realised over the whole world, priced with GenSummary.Costs:
	// the sums over every day of Holding × units on hand at the end of the
	// day and LostSale × units of demand lost.
	RealisedHoldingCost  int64 `json:"realised_holding_cost"`
	RealisedLostSaleCost int64 `json:"realised_lost_sale_cost"`
}

// Snapshot is what an inventory_snapshot event says about its day.
type Snapshot struct {
	Location, SKU string
	// Day is the snapshot's UTC date at midnight.
	Day time.Time
	// Weekday counts from 0=Monday, as the tokenizer's grammar does.
	Weekday                                             int
	OnHandStart, PipelineStart, Demand, Lost, OnHandEnd int
}

// ParseSnapshot decodes an inventory_snapshot event written by Generate.
func ParseSnapshot(e Event) (Snapshot, error) {
	if e.EventType != string(InventorySnapshot) {
		return Snapshot{}, fmt.Errorf("dataset: event %s is %s, not %s", e.EventID, e.EventType, InventorySnapshot)
	}
	t := e.EventTime.UTC()
	s := Snapshot{
		Location:  e.Location,
		SKU:       e.SKU,
		Day:       time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC),
		Weekday:   (int(t.Weekday()) + 6) % 7,
		OnHandEnd: int(e.Quantity),
	}
	for _, f := range []struct {
		key string
		dst *int
	}{{"on_hand_start", &s.OnHandStart}, {"pipeline_start", &s.PipelineStart}, {"demand", &s.Demand}, {"lost", &s.Lost}} {
		v, err := strconv.Atoi(e.Extras[f.key])
		if err != nil {
			return Snapshot{}, fmt.Errorf("dataset: snapshot %s: extras %s: %w", e.EventID, f.key, err)
		}
		*f.dst = v
	}
	return s, nil
}

// Policy names recorded in extras["policy"] of replenishment_ordered.
const (
	PolicyBaseStock          = "base_stock"
	PolicyBaseStockPerturbed = "base_stock_z"
	PolicyBaseStockNoisy     = "base_stock_noisy"
)

const (
	dcID       = "DC01"
	orderNoise = 0.3
)

var regions = []string{"R-NORTH", "R-SOUTH", "R-EAST", "R-WEST", "R-CENTRAL"}

type shipment struct {
	po       string
	qty      int
	carrier  string
	due      int // day the shipment is scheduled to arrive
	arrive   int // day it arrives (due, or due+1 when delayed)
	delayed  bool
	leadTime int
}

type series struct {
	Series
	idx      int
	demand   *rand.Rand // demand draws only, so policies do not change demand paths
	ops      *rand.Rand // timings, noise, carriers, delays
	onHand   int
	inflight []shipment
	open     []openDecision // decisions whose realised cost is still being summed, oldest first
}

// openDecision is a logged decision waiting for its realised cost.
type openDecision struct {
	day    int
	cost   int
	extras map[string]string // the replenishment_ordered event's, still pending
}

// generator holds the state of one Generate run.
type generator struct {
	cfg      GenConfig
	store    *blob.Local
	series   []*series
	carriers []string
	delayP   []float64 // per carrier
	prices   []float64 // per SKU
	ecom     *rand.Rand
	seq      int64
	pending  map[int][]Event // events by day index, for days not yet written
	summary  GenSummary
	// dryRun counts events instead of keeping them (ForEvents' pilot runs):
	// salesEvents counts the inventory series' sales and lost sales,
	// storeEvents their other events and ecomEvents the e-commerce channel's.
	dryRun                               bool
	storeEvents, salesEvents, ecomEvents int64
}

// Generate simulates the synthetic retail world cfg describes and writes
// it below outDir.
//
// The world, simulated day by day, is a small retail network: Stores stores
// each selling SKUs products, replenished from one distribution centre (DC01) by
// Carriers carriers, plus an e-commerce channel shipping from the DC to
// customer regions. Everything is drawn from Seed, so the same config gives
// byte-identical Parquet files.
//
// Each (store, SKU) is one inventory series with a DemandProcess, a lead
// time L (per store, 1..4 days) and a logged ordering policy. A day t runs:
//
//  1. Receipts, 06:00-08:00. A shipment due today arrives
//     (transport_arrived, then replenishment_received), or, if its carrier
//     is late, transport_delayed (extras delay_days=1) and it arrives the
//     next morning instead.
//  2. Sales, 08:00-21:00. Demand D is drawn with DemandProcess.Sample; the
//     units served, min(D, on hand), are split into order_placed
//     transactions of 1-3 units (extras promo="true" on promotion days).
//     Unserved demand is one lost_sale at closing; a day that ends with
//     nothing on hand emits stockout when the last unit went (08:00 if
//     there was none at opening).
//  3. inventory_snapshot, 21:30: quantity = units on hand at end of day,
//     price = unit cost, and the extras a timeline renderer needs, as
//     decimal strings:
//     on_hand_start   units on hand at the start of the day, after receipts
//     pipeline_start  units ordered but not received at that moment
//     demand          units demanded today (served + lost)
//     lost            units of demand not served
//  4. The decision, 22:00-23:00: replenishment_ordered, every day even when
//     the quantity is 0, with extras policy, policy_param (its z),
//     lead_time_days, order_up_to (S) and realised_cost_7d (below). A
//     positive order ships at once:
//     transport_departed from DC01 (extras destination, lead_time_days).
//
// So tokenize.InventoryDay for (store, SKU, day t) is: Weekday from the
// snapshot's date (0=Monday), OnHand=on_hand_start, Pipeline=pipeline_start,
// Demand=demand, Lost=lost, Order=quantity of that day's
// replenishment_ordered; ParseSnapshot reads the snapshot's extras. An order
// placed on day t with lead time L is received at the start of day t+L
// (t+L+1 when delayed), so with L=1 it is on hand the next morning.
//
// Policies are base-stock (order up to S): with mu the mean demand summed
// over the L+1 days after the decision (DemandProcess.Mean, promotions
// excluded), S = round(mu + z*sqrt(mu)), which is the usual
// round(mean*(L+1) + z*sqrt(mean*(L+1))) for stationary demand, and the
// order is max(0, S - on hand - pipeline). Half the series are near-optimal
// ("base_stock", z in [1.0, 1.6]), some are perturbed ("base_stock_z", z in
// [0, 3]) and some noisy ("base_stock_noisy", z in [0.8, 1.4] and the order
// multiplied by 1+0.3*N(0,1)), so that the logged decisions are good but
// not uniform.
//
// The outcome of each logged decision is recorded with it, so that a model
// can be conditioned on the cost it should achieve. A day's cost is, with
// the CostModel Costs (eval's defaults: Holding 1, LostSale 9),
// Holding × on hand at its end + LostSale × units lost that day. The
// replenishment_ordered of day t has extras realised_cost_7d (decimal
// integer, ExtraRealisedCost), the sum of the costs of days t+1..t+7, and
// has no such key when day t+7 is past the last day. world.json gives the
// cost model (GenSummary.Costs) and each series' totals over the whole
// world (Series.RealisedHoldingCost, RealisedLostSaleCost).
//
// E-commerce orders (order_id EO-...): order_placed at a customer region
// (extras promised_date, channel=ecom), order_approved, picked and shipped at
// DC01 (shipped names the carrier), then delivered or delivery_failed at the
// region, and some deliveries are returned (price = refund per unit). One
// event per order line for each step. Journeys that run past the last day
// are cut off there. The DC's own stock is not modelled yet (thin: it
// always has stock).
//
// Output: outDir/date=YYYY-MM-DD/events.parquet, one file per day (also for
// a day without events), rows sorted by (event_time, event_id). Day t is
// written once day t+7 is simulated (its realised costs are then known), so
// memory holds the events of about eight days plus the e-commerce journeys
// still under way (at most about 15 days of orders), never more however
// many days there are; and
// outDir/world.json, the GenSummary, which includes every series' demand
// process and policy for eval's simulators.
func Generate(ctx context.Context, cfg GenConfig, outDir string) (GenSummary, error) {
	if err := cfg.Validate(); err != nil {
		return GenSummary{}, err
	}
	if outDir == "" {
		return GenSummary{}, fmt.Errorf("%w: empty output directory", ErrInvalidConfig)
	}
	g := newGenerator(cfg.withDefaults(), outDir)
	// Day d is written once day d+HorizonDays is simulated, when its
	// decisions' realised costs are known: the look-ahead is that many
	// days of events, whatever the number of days.
	lag := Costs.HorizonDays
	for day := 0; day < g.cfg.Days; day++ {
		if err := ctx.Err(); err != nil {
			return GenSummary{}, err
		}
		for _, s := range g.series {
			g.simulate(s, day)
		}
		g.ecommerce(day)
		if day >= lag {
			if err := g.flush(ctx, day-lag); err != nil {
				return GenSummary{}, err
			}
		}
	}
	for day := max(0, g.cfg.Days-lag); day < g.cfg.Days; day++ {
		if err := g.flush(ctx, day); err != nil {
			return GenSummary{}, err
		}
	}
	for i, s := range g.series {
		g.summary.Series[i] = s.Series
	}
	if err := g.writeSummary(ctx); err != nil {
		return GenSummary{}, err
	}
	slog.Info("generated synthetic world", "dir", outDir, "days", g.summary.Days, "events", g.summary.Events, "seed", g.cfg.Seed)
	return g.summary, nil
}

func newGenerator(cfg GenConfig, outDir string) *generator {
	g := &generator{
		cfg:     cfg,
		store:   blob.NewLocal(outDir),
		ecom:    rand.New(rand.NewPCG(cfg.Seed, 0xec0)),
		pending: map[int][]Event{},
	}
	g.summary = GenSummary{Config: cfg, Counts: map[string]int64{}, Costs: Costs}
	setup := rand.New(rand.NewPCG(cfg.Seed, 0x5e7))
	for c := range cfg.Carriers {
		g.carriers = append(g.carriers, fmt.Sprintf("C%02d", c+1))
		g.delayP = append(g.delayP, 0.03+0.12*setup.Float64())
	}
	for range cfg.SKUs {
		p := 2 + 38*setup.Float64()
		g.prices = append(g.prices, math.Round(p*100)/100)
	}
	leadTimes := make([]int, cfg.Stores)
	for i := range leadTimes {
		leadTimes[i] = 1 + setup.IntN(4)
	}
	for st := range cfg.Stores {
		for k := range cfg.SKUs {
			idx := len(g.series)
			dp := DemandProcess{
				Base:       1 + 14*setup.Float64(),
				WeeklyAmp:  0.1 + 0.3*setup.Float64(),
				YearlyAmp:  0.2 * setup.Float64(),
				Trend:      -0.1 + 0.4*setup.Float64(),
				PromoLift:  1.5 + setup.Float64(),
				PromoProb:  0.03 + 0.05*setup.Float64(),
				Dispersion: 0.3 * setup.Float64(),
			}
			if cfg.KnownDemand {
				dp.YearlyAmp, dp.Trend, dp.PromoLift, dp.PromoProb, dp.Dispersion = 0, 0, 0, 0, 0
			}
			policy, z := PolicyBaseStock, 1.0+0.6*setup.Float64()
			switch u := setup.Float64(); {
			case u >= 0.8:
				policy, z = PolicyBaseStockNoisy, 0.8+0.6*setup.Float64()
			case u >= 0.5:
				policy, z = PolicyBaseStockPerturbed, 3*setup.Float64()
			}
			z = math.Round(z*1000) / 1000
			s := &series{
				Series: Series{
					Location:    fmt.Sprintf("S%02d", st+1),
					SKU:         fmt.Sprintf("P%03d", k+1),
					LeadTime:    leadTimes[st],
					Demand:      dp,
					Policy:      policy,
					PolicyParam: z,
					UnitPrice:   g.prices[k],
					UnitCost:    math.Round(g.prices[k]*60) / 100,
				},
				idx:    idx,
				demand: rand.New(rand.NewPCG(cfg.Seed, 0x10000+uint64(idx))),
				ops:    rand.New(rand.NewPCG(cfg.Seed, 0x20000+uint64(idx))),
			}
			s.onHand = s.orderUpTo(0)
			g.series = append(g.series, s)
			g.summary.Series = append(g.summary.Series, s.Series)
		}
	}
	return g
}

// orderUpTo is the base-stock level S for a decision at the end of day.
func (s *series) orderUpTo(day int) int {
	mu := 0.0
	for j := 1; j <= s.LeadTime+1; j++ {
		mu += s.Demand.Mean(day + j)
	}
	return int(math.Round(mu + s.PolicyParam*math.Sqrt(mu)))
}

// at is a time on day between the hours from and to, at microsecond precision.
func (g *generator) at(rng *rand.Rand, day int, from, to float64) time.Time {
	start := g.cfg.Start.AddDate(0, 0, day).Add(time.Duration(from * float64(time.Hour)))
	span := int64((to - from) * float64(time.Hour/time.Microsecond))
	return start.Add(time.Duration(rng.Int64N(span)) * time.Microsecond)
}

func (g *generator) dayIndex(t time.Time) int {
	return int(t.Sub(g.cfg.Start) / (24 * time.Hour))
}

// emit assigns the next event id and files e under its day.
func (g *generator) emit(e Event) {
	d := g.dayIndex(e.EventTime)
	if d >= g.cfg.Days {
		return // past the end of the world
	}
	g.seq++
	if g.dryRun {
		switch {
		case strings.HasPrefix(e.OrderID, "EO-"):
			g.ecomEvents++
		case e.EventType == string(OrderPlaced) || e.EventType == string(LostSale):
			g.salesEvents++
		default:
			g.storeEvents++
		}
		return
	}
	e.EventID = fmt.Sprintf("ev-%d-%09d", g.cfg.Seed, g.seq)
	g.pending[d] = append(g.pending[d], e)
}

func itoa(n int) string { return strconv.Itoa(n) }

func (g *generator) simulate(s *series, day int) {
	date := g.cfg.Start.AddDate(0, 0, day).Format("20060102")
	base := Event{Location: s.Location, SKU: s.SKU}

	// 1. Receipts.
	kept := s.inflight[:0]
	for _, sh := range s.inflight {
		if sh.due == day && sh.delayed {
			e := base
			e.EventType, e.OrderID, e.Carrier, e.Quantity = string(TransportDelayed), sh.po, sh.carrier, float64(sh.qty)
			e.EventTime = g.at(s.ops, day, 6, 7)
			e.Extras = map[string]string{"delay_days": "1"}
			g.emit(e)
		}
		if sh.arrive != day {
			kept = append(kept, sh)
			continue
		}
		t := g.at(s.ops, day, 6, 7.5)
		e := base
		e.EventType, e.OrderID, e.Carrier, e.Quantity, e.EventTime = string(TransportArrived), sh.po, sh.carrier, float64(sh.qty), t
		g.emit(e)
		e = base
		e.EventType, e.OrderID, e.Quantity, e.EventTime = string(ReplenishmentReceived), sh.po, float64(sh.qty), t.Add(10*time.Minute)
		g.emit(e)
		s.onHand += sh.qty
	}
	s.inflight = kept
	pipeline := 0
	for _, sh := range s.inflight {
		pipeline += sh.qty
	}
	onHandStart := s.onHand

	// 2. Sales.
	demand, promo := s.Demand.Sample(s.demand, day)
	served := min(demand, s.onHand)
	lost := demand - served
	s.onHand -= served
	var txTimes []time.Time
	var txQty []int
	for left := served; left > 0; {
		q := min(left, 1+s.ops.IntN(3))
		txQty = append(txQty, q)
		txTimes = append(txTimes, g.at(s.ops, day, 8, 21))
		left -= q
	}
	slices.SortFunc(txTimes, time.Time.Compare)
	for i, q := range txQty {
		e := base
		e.EventType, e.Quantity, e.Price, e.EventTime = string(OrderPlaced), float64(q), s.UnitPrice, txTimes[i]
		e.OrderID = fmt.Sprintf("T-%s-%s-%s-%03d", s.Location, s.SKU, date, i+1)
		if promo {
			e.Extras = map[string]string{"promo": "true"}
		}
		g.emit(e)
	}
	if lost > 0 {
		e := base
		e.EventType, e.Quantity, e.Price, e.EventTime = string(LostSale), float64(lost), s.UnitPrice, g.at(s.ops, day, 21, 21.25)
		g.emit(e)
	}
	if s.onHand == 0 {
		t := g.cfg.Start.AddDate(0, 0, day).Add(8 * time.Hour)
		if len(txTimes) > 0 {
			t = txTimes[len(txTimes)-1].Add(time.Microsecond)
		}
		e := base
		e.EventType, e.EventTime = string(Stockout), t
		g.emit(e)
	}

	// 3. Snapshot.
	e := base
	e.EventType, e.Quantity, e.Price = string(InventorySnapshot), float64(s.onHand), s.UnitCost
	e.EventTime = g.cfg.Start.AddDate(0, 0, day).Add(21*time.Hour + 30*time.Minute)
	e.Extras = map[string]string{
		"on_hand_start":  itoa(onHandStart),
		"pipeline_start": itoa(pipeline),
		"demand":         itoa(demand),
		"lost":           itoa(lost),
	}
	g.emit(e)
	s.realise(day, lost)

	// 4. Decision.
	S := s.orderUpTo(day)
	order := max(0, S-s.onHand-pipeline)
	if s.Policy == PolicyBaseStockNoisy && order > 0 {
		order = max(0, int(math.Round(float64(order)*(1+orderNoise*s.ops.NormFloat64()))))
	}
	po := fmt.Sprintf("PO-%s-%s-%s", s.Location, s.SKU, date)
	t := g.at(s.ops, day, 22, 22.9)
	e = base
	e.EventType, e.OrderID, e.Quantity, e.Price, e.EventTime = string(ReplenishmentOrdered), po, float64(order), s.UnitCost, t
	e.Extras = map[string]string{
		"policy":         s.Policy,
		"policy_param":   strconv.FormatFloat(s.PolicyParam, 'f', -1, 64),
		"lead_time_days": itoa(s.LeadTime),
		"order_up_to":    itoa(S),
		"source":         dcID,
	}
	g.emit(e)
	s.open = append(s.open, openDecision{day: day, extras: e.Extras})
	if order > 0 {
		c := s.ops.IntN(len(g.carriers))
		sh := shipment{po: po, qty: order, carrier: g.carriers[c], due: day + s.LeadTime, leadTime: s.LeadTime}
		sh.delayed = s.ops.Float64() < g.delayP[c]
		sh.arrive = sh.due
		if sh.delayed {
			sh.arrive++
		}
		s.inflight = append(s.inflight, sh)
		e = Event{EventType: string(TransportDeparted), OrderID: po, SKU: s.SKU, Location: dcID, Carrier: sh.carrier, Quantity: float64(order)}
		e.EventTime = t.Add(time.Hour)
		e.Extras = map[string]string{"destination": s.Location, "lead_time_days": itoa(s.LeadTime)}
		g.emit(e)
	}
}

// realise prices the end of day, with lost units of demand lost: it adds
// the day's cost to the series' totals and to each open decision made
// before it, and records the realised cost of a decision whose horizon
// ends today. Decisions whose horizon runs past the last day get none.
func (s *series) realise(day, lost int) {
	holding, lostCost := Costs.Holding*s.onHand, Costs.LostSale*lost
	s.RealisedHoldingCost += int64(holding)
	s.RealisedLostSaleCost += int64(lostCost)
	done := 0
	for i := range s.open {
		d := &s.open[i]
		d.cost += holding + lostCost
		if day-d.day == Costs.HorizonDays {
			d.extras[ExtraRealisedCost] = itoa(d.cost)
			done++
		}
	}
	s.open = s.open[:copy(s.open, s.open[done:])]
}

// ecommerce places the day's e-commerce orders and schedules their journeys.
func (g *generator) ecommerce(day int) {
	if g.cfg.SKUs == 0 {
		return
	}
	rng := g.ecom
	date := g.cfg.Start.AddDate(0, 0, day)
	for n := range g.cfg.EcomOrdersPerDay {
		id := fmt.Sprintf("EO-%s-%04d", date.Format("20060102"), n+1)
		region := regions[rng.IntN(len(regions))]
		carrier := g.carriers[rng.IntN(len(g.carriers))]
		placed := g.at(rng, day, 0, 24)
		approved := placed.Add(time.Duration(5+rng.IntN(55)) * time.Minute)
		picked := approved.Add(time.Duration(2+rng.IntN(18)) * time.Hour)
		shipped := picked.Add(time.Duration(1+rng.IntN(5)) * time.Hour)
		delivered := shipped.Add(time.Duration(24+rng.IntN(72)) * time.Hour)
		failed := rng.Float64() < 0.05
		returned := !failed && rng.Float64() < 0.08
		returnedAt := delivered.Add(time.Duration(48+rng.IntN(192)) * time.Hour)
		promised := date.AddDate(0, 0, 2+rng.IntN(4)).Format(time.DateOnly)

		lines := 1 + rng.IntN(2)
		skus := rng.Perm(g.cfg.SKUs)[:min(lines, g.cfg.SKUs)]
		slices.Sort(skus)
		for _, k := range skus {
			qty := float64(1 + rng.IntN(3))
			base := Event{OrderID: id, SKU: fmt.Sprintf("P%03d", k+1), Quantity: qty}
			step := func(typ EventType, t time.Time, loc, carrier string, price float64, extras map[string]string) {
				e := base
				e.EventType, e.EventTime, e.Location, e.Carrier, e.Price, e.Extras = string(typ), t, loc, carrier, price, extras
				g.emit(e)
			}
			step(OrderPlaced, placed, region, "", g.prices[k], map[string]string{"promised_date": promised, "channel": "ecom"})
			step(OrderApproved, approved, region, "", 0, nil)
			step(Picked, picked, dcID, "", 0, nil)
			step(Shipped, shipped, dcID, carrier, 0, nil)
			if failed {
				step(DeliveryFailed, delivered, region, carrier, 0, nil)
				continue
			}
			step(Delivered, delivered, region, carrier, 0, nil)
			if returned {
				step(Returned, returnedAt, region, "", g.prices[k], nil)
			}
		}
	}
}

// flush writes day's file and forgets its events.
func (g *generator) flush(ctx context.Context, day int) error {
	events := g.pending[day]
	delete(g.pending, day)
	sortEvents(events)
	key := fmt.Sprintf("date=%s/events.parquet", g.cfg.Start.AddDate(0, 0, day).Format(time.DateOnly))
	w, err := g.store.Create(ctx, key)
	if err != nil {
		return fmt.Errorf("dataset: generate: %w", err)
	}
	if err := writeEvents(w, events); err != nil {
		blob.Abort(w)
		return fmt.Errorf("dataset: generate %s: %w", key, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("dataset: generate %s: %w", key, err)
	}
	for _, e := range events {
		g.summary.Counts[e.EventType]++
	}
	g.summary.Events += int64(len(events))
	g.summary.Files = append(g.summary.Files, key)
	g.summary.Days++
	if g.cfg.Progress != nil {
		g.cfg.Progress(GenProgress{DaysWritten: g.summary.Days, Days: g.cfg.Days, Events: g.summary.Events})
	}
	return nil
}

func (g *generator) writeSummary(ctx context.Context) error {
	b, err := json.MarshalIndent(g.summary, "", "  ")
	if err != nil {
		return err
	}
	w, err := g.store.Create(ctx, "world.json")
	if err != nil {
		return fmt.Errorf("dataset: generate: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		blob.Abort(w)
		return fmt.Errorf("dataset: generate world.json: %w", err)
	}
	return w.Close()
}
