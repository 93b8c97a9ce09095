package dataset

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"

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
	// Stationary is KnownDemand without the weekly cycle: every day of a
	// series draws Poisson demand with the same mean, the setting where
	// eval's dynamic program is exact (it assumes identically distributed
	// days). It implies KnownDemand.
	Stationary bool `json:"stationary,omitempty"`
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
	if c.Stationary {
		c.KnownDemand = true
	}
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
	// HorizonDays is the number of days that replenishment_ordered's
	// realised_cost_7d sums: those the order can change, from the day it
	// is due to arrive (the decision's day plus the lead time L) on.
	HorizonDays int `json:"horizon_days"`
}

// Costs is the CostModel Generate records realised costs with.
var Costs = CostModel{Holding: 1, LostSale: 9, HorizonDays: 7}

// ExtraRealisedCost is the extras key of replenishment_ordered holding the
// cost the decision went on to realise over the Costs.HorizonDays days from
// the order's due day on: days t+L..t+L+HorizonDays-1 for a decision on day
// t with lead time L. The days before the order is due are left out: their
// cost was settled by earlier orders, and would only add noise to the
// outcome of this one.
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

// shipment is an order on its way to a store. It is 20 bytes, as a
// series holds a few and a world up to about 200,000 series.
type shipment struct {
	qty     int32
	ordered int32 // day of the order, which names the PO
	due     int32 // day the shipment is scheduled to arrive
	arrive  int32 // day it arrives (due, or due+1 when delayed)
	carrier uint8 // index into generator.carriers
	delayed bool
}

type series struct {
	Series
	idx      int
	demand   *rand.Rand // demand draws only, so policies do not change demand paths
	ops      *rand.Rand // timings, noise, carriers, delays
	onHand   int
	inflight []shipment
	// dayCost is the cost of each of the last len(dayCost) days at its
	// end (holding plus lost sales, priced with Costs), indexed by day
	// modulo its length. A shadow series (generator.ahead) fills it.
	dayCost []int
	// param and leadTime are PolicyParam and LeadTime as extras values.
	param, leadTime string
	seed            uint64 // GenConfig.Seed, for PerturbedZ
}

// generator holds the state of one Generate run.
type generator struct {
	cfg      GenConfig
	store    *blob.Local
	series   []*series
	carriers []string
	delayP   []float64 // per carrier
	prices   []float64 // per SKU
	skuIDs   []string  // P001... per SKU
	ecom     *rand.Rand
	seq      int64
	// ahead is a copy of the world's inventory series, drawn from the same
	// seeds, that Generate runs aheadDays days ahead of series, so
	// that a decision's realised cost is known on the day it is made; nil
	// in a dry run.
	ahead *generator
	// pending holds the events of the days not yet written, by day index,
	// in the compact form genEvent: the day being simulated, and the later
	// days e-commerce journeys already reach into. spare keeps a written
	// day's slice for reuse, so that after the first day it stops growing.
	pending map[int][]genEvent
	spare   [][]genEvent
	stamps  []string // YYYYMMDD of each day, as order ids spell it
	batch   []Event  // rows on their way to the Parquet writer
	txTimes []int64  // scratch: one series-day's sale times
	txQty   []int    // scratch: their units
	idBuf   []byte   // scratch: an event id
	summary GenSummary
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
// over the L days after the decision (DemandProcess.Mean, promotions
// excluded), S = round(mu + z*sqrt(mu)), which is
// round(mean*L + z*sqrt(mean*L)) for stationary demand, and the order is
// max(0, S - on hand - pipeline). The order is placed after the day's
// sales and the next one a day later, so what is on hand and on order now
// must last the L days until the next order can arrive: L days is the
// protection period (not L+1, as when orders are placed before the day's
// sales). Half the series are near-optimal
// ("base_stock", z in [1.0, 1.6]), some are perturbed ("base_stock_z": a
// new z drawn uniformly from [0, 3] every week, PerturbedZ, so that one
// series logs good and bad levels side by side and their realised costs
// tell them apart; PolicyParam is the range's top, 3) and some noisy
// ("base_stock_noisy", z in [0.8, 1.4] and the order multiplied by
// 1+0.3*N(0,1)), so that the logged decisions are good but not uniform.
//
// The outcome of each logged decision is recorded with it, so that a model
// can be conditioned on the cost it should achieve. A day's cost is, with
// the CostModel Costs (eval's defaults: Holding 1, LostSale 9),
// Holding × on hand at its end + LostSale × units lost that day. The
// replenishment_ordered of day t has extras realised_cost_7d (decimal
// integer, ExtraRealisedCost), the sum of the costs of days t+L..t+L+6,
// the seven days from the one its order is due on (L the lead time; the
// days before are priced by earlier orders), and has no such key when day
// t+L+6 is past the last day. world.json gives the
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
// a day without events), rows sorted by (event_time, event_id); and
// outDir/world.json, the GenSummary, which includes every series' demand
// process and policy for eval's simulators.
//
// Memory: a day's file is written as soon as the day is simulated. The
// realised costs of its decisions are already known then, because a
// second copy of every inventory series, drawn from the same seeds and so
// identical, runs aheadDays days ahead and keeps each series' cost
// of the last days. Held in memory are the events of the day being
// simulated and the later e-commerce steps of the journeys under way (at
// most about 16 days of orders), as 48-byte records (genEvent) that become
// Events a batch at a time on their way to the file, plus the series'
// state. Memory therefore grows with the events a day, not with the
// number of days; GenConfig.ForEvents bounds the events a day.
func Generate(ctx context.Context, cfg GenConfig, outDir string) (GenSummary, error) {
	if err := cfg.Validate(); err != nil {
		return GenSummary{}, err
	}
	if outDir == "" {
		return GenSummary{}, fmt.Errorf("%w: empty output directory", ErrInvalidConfig)
	}
	g := newGenerator(cfg.withDefaults(), outDir)
	g.ahead = newGenerator(g.cfg, "")
	g.ahead.dryRun = true
	// The shadow series run horizon days ahead: when day d is simulated,
	// they have simulated day d+horizon, so the costs of days
	// d+L..d+L+Costs.HorizonDays-1, which price day d's decisions, are
	// known for every lead time L.
	horizon := g.aheadDays()
	for day := range min(horizon, g.cfg.Days) {
		g.ahead.simulateSeries(day)
	}
	for day := 0; day < g.cfg.Days; day++ {
		if err := ctx.Err(); err != nil {
			return GenSummary{}, err
		}
		if day+horizon < g.cfg.Days {
			g.ahead.simulateSeries(day + horizon)
		}
		g.startDay(day)
		g.simulateSeries(day)
		g.ecommerce(day)
		if err := g.flush(ctx, day); err != nil {
			return GenSummary{}, err
		}
	}
	g.summary.Series = make([]Series, len(g.series))
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
		pending: map[int][]genEvent{},
		stamps:  make([]string, cfg.Days),
	}
	g.summary = GenSummary{Config: cfg, Counts: map[string]int64{}, Costs: Costs}
	setup := rand.New(rand.NewPCG(cfg.Seed, 0x5e7))
	for c := range cfg.Carriers {
		g.carriers = append(g.carriers, fmt.Sprintf("C%02d", c+1))
		g.delayP = append(g.delayP, 0.03+0.12*setup.Float64())
	}
	for k := range cfg.SKUs {
		p := 2 + 38*setup.Float64()
		g.prices = append(g.prices, math.Round(p*100)/100)
		g.skuIDs = append(g.skuIDs, fmt.Sprintf("P%03d", k+1))
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
			if cfg.KnownDemand || cfg.Stationary {
				dp.YearlyAmp, dp.Trend, dp.PromoLift, dp.PromoProb, dp.Dispersion = 0, 0, 0, 0, 0
			}
			if cfg.Stationary {
				dp.WeeklyAmp = 0
			}
			policy, z := PolicyBaseStock, 1.0+0.6*setup.Float64()
			switch u := setup.Float64(); {
			case u >= 0.8:
				policy, z = PolicyBaseStockNoisy, 0.8+0.6*setup.Float64()
			case u >= 0.5:
				// z is drawn as before, so later series' set-ups are
				// unchanged; the week's z comes from PerturbedZ.
				setup.Float64()
				policy, z = PolicyBaseStockPerturbed, 3
			}
			z = math.Round(z*1000) / 1000
			s := &series{
				Series: Series{
					Location:    fmt.Sprintf("S%02d", st+1),
					SKU:         g.skuIDs[k],
					LeadTime:    leadTimes[st],
					Demand:      dp,
					Policy:      policy,
					PolicyParam: z,
					UnitPrice:   g.prices[k],
					UnitCost:    math.Round(g.prices[k]*60) / 100,
				},
				idx:      idx,
				seed:     cfg.Seed,
				demand:   rand.New(rand.NewPCG(cfg.Seed, 0x10000+uint64(idx))),
				ops:      rand.New(rand.NewPCG(cfg.Seed, 0x20000+uint64(idx))),
				param:    strconv.FormatFloat(z, 'f', -1, 64),
				leadTime: itoa(leadTimes[st]),
			}
			s.onHand = s.orderUpTo(0)
			g.series = append(g.series, s)
		}
	}
	// Each series keeps the costs of the days its shadow has run ahead.
	ahead := g.aheadDays()
	for _, s := range g.series {
		s.dayCost = make([]int, ahead+1)
	}
	return g
}

// orderUpTo is the base-stock level S for a decision at the end of day.
func (s *series) orderUpTo(day int) int {
	mu := 0.0
	for j := 1; j <= s.LeadTime; j++ {
		mu += s.Demand.Mean(day + j)
	}
	z := s.PolicyParam
	if s.Policy == PolicyBaseStockPerturbed {
		z = PerturbedZ(s.seed, s.idx, day/7)
	}
	return int(math.Round(mu + z*math.Sqrt(mu)))
}

// PerturbedZ is the safety factor of the perturbed policy ("base_stock_z")
// of series idx (its place in world.json's series) in week week (days
// 7*week .. 7*week+6 of the world) of a world generated with seed: uniform
// on [0, 3], rounded to 0.001, a pure function so that the generator's
// shadow series and any reader agree.
func PerturbedZ(seed uint64, idx, week int) float64 {
	x := seed ^ uint64(idx)<<32 ^ uint64(week)*0x9e3779b97f4a7c15
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return math.Round(3*float64(x>>11)/(1<<53)*1000) / 1000
}

// Times are microseconds since the world's start (cfg.Start, a UTC midnight).
const (
	usHour = int64(time.Hour / time.Microsecond)
	usDay  = 24 * usHour
)

// at is a time on day between the hours from and to.
func (g *generator) at(rng *rand.Rand, day int, from, to float64) int64 {
	start := int64(day)*usDay + int64(time.Duration(from*float64(time.Hour))/time.Microsecond)
	span := int64((to - from) * float64(time.Hour/time.Microsecond))
	return start + rng.Int64N(span)
}

// emit assigns the next event id and files e under its day.
func (g *generator) emit(e genEvent) {
	d := int(e.t / usDay)
	if d >= g.cfg.Days {
		return // past the end of the world
	}
	g.seq++
	if g.dryRun {
		switch {
		case e.kind >= evEcomPlaced:
			g.ecomEvents++
		case e.kind == evSale || e.kind == evLostSale:
			g.salesEvents++
		default:
			g.storeEvents++
		}
		return
	}
	e.seq = g.seq
	g.pending[d] = append(g.pending[d], e)
}

// startDay moves the events already filed under day (e-commerce steps
// scheduled by earlier days' orders) into the buffer of a written day, if
// there is one, before the day's own events are added. Only the days
// being simulated or held back then have buffers of a full day's size,
// not every day an e-commerce journey reaches into.
func (g *generator) startDay(day int) {
	if len(g.spare) == 0 {
		return
	}
	evs := g.spare[len(g.spare)-1]
	g.spare = g.spare[:len(g.spare)-1]
	g.pending[day] = append(evs, g.pending[day]...)
}

func itoa(n int) string { return strconv.Itoa(n) }

// simulateSeries simulates day of every inventory series.
func (g *generator) simulateSeries(day int) {
	for _, s := range g.series {
		g.simulate(s, day)
	}
}

func (g *generator) simulate(s *series, day int) {
	who := int32(s.idx)
	midnight := int64(day) * usDay

	// 1. Receipts.
	kept := s.inflight[:0]
	for _, sh := range s.inflight {
		back := uint8(day - int(sh.ordered))
		if int(sh.due) == day && sh.delayed {
			g.emit(genEvent{kind: evDelayed, who: who, qty: sh.qty, carrier: sh.carrier + 1, back: back, t: g.at(s.ops, day, 6, 7)})
		}
		if int(sh.arrive) != day {
			kept = append(kept, sh)
			continue
		}
		t := g.at(s.ops, day, 6, 7.5)
		g.emit(genEvent{kind: evArrived, who: who, qty: sh.qty, carrier: sh.carrier + 1, back: back, t: t})
		g.emit(genEvent{kind: evReceived, who: who, qty: sh.qty, back: back, t: t + 10*60e6})
		s.onHand += int(sh.qty)
	}
	s.inflight = kept
	pipeline := 0
	for _, sh := range s.inflight {
		pipeline += int(sh.qty)
	}
	onHandStart := s.onHand

	// 2. Sales.
	demand, promo := s.Demand.Sample(s.demand, day)
	served := min(demand, s.onHand)
	lost := demand - served
	s.onHand -= served
	txTimes, txQty := g.txTimes[:0], g.txQty[:0]
	for left := served; left > 0; {
		q := min(left, 1+s.ops.IntN(3))
		txQty = append(txQty, q)
		txTimes = append(txTimes, g.at(s.ops, day, 8, 21))
		left -= q
	}
	g.txTimes, g.txQty = txTimes, txQty
	slices.Sort(txTimes)
	var isPromo int32
	if promo {
		isPromo = 1
	}
	for i, q := range txQty {
		g.emit(genEvent{kind: evSale, who: who, qty: int32(q), n: int32(i), x: [4]int32{isPromo}, t: txTimes[i]})
	}
	if lost > 0 {
		g.emit(genEvent{kind: evLostSale, who: who, qty: int32(lost), t: g.at(s.ops, day, 21, 21.25)})
	}
	if s.onHand == 0 {
		t := midnight + 8*usHour
		if len(txTimes) > 0 {
			t = txTimes[len(txTimes)-1] + 1
		}
		g.emit(genEvent{kind: evStockout, who: who, t: t})
	}

	// 3. Snapshot.
	g.emit(genEvent{
		kind: evSnapshot, who: who, qty: int32(s.onHand), t: midnight + 21*usHour + 30*60e6,
		x: [4]int32{int32(onHandStart), int32(pipeline), int32(demand), int32(lost)},
	})
	s.realise(day, lost)

	// 4. Decision.
	S := s.orderUpTo(day)
	order := max(0, S-s.onHand-pipeline)
	if s.Policy == PolicyBaseStockNoisy && order > 0 {
		order = max(0, int(math.Round(float64(order)*(1+orderNoise*s.ops.NormFloat64()))))
	}
	t := g.at(s.ops, day, 22, 22.9)
	decision := genEvent{kind: evOrdered, who: who, qty: int32(order), x: [4]int32{int32(S)}, t: t}
	if cost, ok := g.realisedCost(s, day); ok {
		decision.x[1], decision.x[2] = int32(cost), 1
	}
	g.emit(decision)
	if order > 0 {
		c := s.ops.IntN(len(g.carriers))
		sh := shipment{qty: int32(order), carrier: uint8(c), ordered: int32(day), due: int32(day + s.LeadTime)}
		sh.delayed = s.ops.Float64() < g.delayP[c]
		sh.arrive = sh.due
		if sh.delayed {
			sh.arrive++
		}
		s.inflight = append(s.inflight, sh)
		g.emit(genEvent{kind: evDeparted, who: who, qty: int32(order), carrier: uint8(c + 1), t: t + usHour})
	}
}

// realise prices the end of day, with lost units of demand lost: it adds
// the day's cost to the series' totals and keeps it in dayCost.
func (s *series) realise(day, lost int) {
	holding, lostCost := Costs.Holding*s.onHand, Costs.LostSale*lost
	s.RealisedHoldingCost += int64(holding)
	s.RealisedLostSaleCost += int64(lostCost)
	s.dayCost[day%len(s.dayCost)] = holding + lostCost
}

// aheadDays is how far the shadow series run ahead: far enough for the
// longest lead time's horizon.
func (g *generator) aheadDays() int {
	lead := 1
	for _, s := range g.series {
		lead = max(lead, s.LeadTime)
	}
	return Costs.HorizonDays + lead - 1
}

// realisedCost is the cost s goes on to realise over the Costs.HorizonDays
// days from the due day of its decision at the end of day (day+L..
// day+L+HorizonDays-1, ExtraRealisedCost), from its shadow in g.ahead;
// false when that horizon runs past the last day, or in a dry run.
func (g *generator) realisedCost(s *series, day int) (int, bool) {
	first, last := day+s.LeadTime, day+s.LeadTime+Costs.HorizonDays-1
	if g.ahead == nil || last >= g.cfg.Days {
		return 0, false
	}
	shadow := g.ahead.series[s.idx]
	cost := 0
	for d := first; d <= last; d++ {
		cost += shadow.dayCost[d%len(shadow.dayCost)]
	}
	return cost, true
}

// ecommerce places the day's e-commerce orders and schedules their journeys.
func (g *generator) ecommerce(day int) {
	if g.cfg.SKUs == 0 {
		return
	}
	rng := g.ecom
	const usMinute = usHour / 60
	for n := range g.cfg.EcomOrdersPerDay {
		region := uint8(rng.IntN(len(regions)))
		carrier := uint8(rng.IntN(len(g.carriers)) + 1)
		placed := g.at(rng, day, 0, 24)
		approved := placed + int64(5+rng.IntN(55))*usMinute
		picked := approved + int64(2+rng.IntN(18))*usHour
		shipped := picked + int64(1+rng.IntN(5))*usHour
		delivered := shipped + int64(24+rng.IntN(72))*usHour
		failed := rng.Float64() < 0.05
		returned := !failed && rng.Float64() < 0.08
		returnedAt := delivered + int64(48+rng.IntN(192))*usHour
		promised := int32(2 + rng.IntN(4)) // days after the order

		lines := 1 + rng.IntN(2)
		skus := rng.Perm(g.cfg.SKUs)[:min(lines, g.cfg.SKUs)]
		slices.Sort(skus)
		for _, k := range skus {
			line := genEvent{who: int32(k), n: int32(n), qty: int32(1 + rng.IntN(3))}
			step := func(kind evKind, t int64, loc, carrier uint8) {
				e := line
				e.kind, e.t, e.loc, e.carrier = kind, t, loc, carrier
				e.back = uint8(int(t/usDay) - day)
				if kind == evEcomPlaced {
					e.x[0] = promised
				}
				g.emit(e)
			}
			step(evEcomPlaced, placed, region, noCarrier)
			step(evEcomApproved, approved, region, noCarrier)
			step(evEcomPicked, picked, locDC, noCarrier)
			step(evEcomShipped, shipped, locDC, carrier)
			if failed {
				step(evEcomFailed, delivered, region, carrier)
				continue
			}
			step(evEcomDelivered, delivered, region, carrier)
			if returned {
				step(evEcomReturned, returnedAt, region, noCarrier)
			}
		}
	}
}

// flush writes day's file and forgets its events.
func (g *generator) flush(ctx context.Context, day int) error {
	events := g.pending[day]
	delete(g.pending, day)
	slices.SortFunc(events, compareGenEvents)
	key := fmt.Sprintf("date=%s/events.parquet", g.cfg.Start.AddDate(0, 0, day).Format(time.DateOnly))
	w, err := g.store.Create(ctx, key)
	if err != nil {
		return fmt.Errorf("dataset: generate: %w", err)
	}
	if err := g.writeDay(w, events); err != nil {
		blob.Abort(w)
		return fmt.Errorf("dataset: generate %s: %w", key, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("dataset: generate %s: %w", key, err)
	}
	var counts [numEvKinds]int64
	for i := range events {
		counts[events[i].kind]++
	}
	for k, n := range counts {
		if n > 0 {
			g.summary.Counts[string(evKind(k).eventType())] += n
		}
	}
	g.summary.Events += int64(len(events))
	g.summary.Files = append(g.summary.Files, key)
	g.summary.Days++
	g.spare = append(g.spare, events[:0])
	if g.cfg.Progress != nil {
		g.cfg.Progress(GenProgress{DaysWritten: g.summary.Days, Days: g.cfg.Days, Events: g.summary.Events})
	}
	return nil
}

// writeBatch is the number of rows writeDay turns into Events at a time.
// A multiple of the 64 rows parquet-go writes at a time, so that the file
// is the one a single Write of the whole day gives, byte for byte.
const writeBatch = 64 * 64

// writeDay writes events, sorted, as one canonical Parquet file to w,
// turning them into Events a batch at a time.
func (g *generator) writeDay(w io.Writer, events []genEvent) error {
	pw := parquet.NewGenericWriter[Event](w, writerOptions()...)
	if g.batch == nil {
		g.batch = make([]Event, writeBatch)
	}
	for len(events) > 0 {
		n := min(len(events), writeBatch)
		for i := range n {
			g.batch[i] = g.event(&events[i])
		}
		if _, err := pw.Write(g.batch[:n]); err != nil {
			return err
		}
		events = events[n:]
	}
	clear(g.batch) // let the batch's strings and maps go
	return pw.Close()
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
