package dataset

import (
	"fmt"
	"math"
)

// Sizing limits of ForEvents.
const (
	// maxAutoDays is the longest world ForEvents builds by adding days
	// before it adds stores and SKUs: two years, so both yearly cycles and
	// the trend stay in a sensible range.
	maxAutoDays = 730
	// warmDays and pilotDays: a pilot run simulates warmDays+pilotDays
	// days and counts the events of the last pilotDays, once the first
	// orders have arrived.
	warmDays  = 7
	pilotDays = 14
	maxDays   = 100 * 366
	maxStores = 99
	maxSKUs   = 999
)

// ForEvents returns c sized to give about n events. It grows what c leaves
// at zero: first Days, up to two years; then Stores, up to 99; then SKUs, up
// to 999; then Days again, up to 100 years. Fields c sets are kept.
//
// The events a day are measured by simulating three weeks of the world
// without writing them (so the result depends on Seed, as the world does),
// with the sales scaled by the mean demand over the whole world against
// that of the pilot's days. The count Generate reaches is near n, not exact.
func (c GenConfig) ForEvents(n int64) (GenConfig, error) {
	if n <= 0 {
		return c, fmt.Errorf("%w: events %d: want a positive number", ErrInvalidConfig, n)
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	autoDays, autoStores, autoSKUs := c.Days == 0, c.Stores == 0, c.SKUs == 0
	out := c.withDefaults()
	want := float64(n)
	p := runPilot(out)
	if autoDays {
		out.Days = maxAutoDays
		for range 3 { // the demand scaling depends on the days
			out.Days = clampInt(int(math.Ceil(want/p.perDay(out.Days))), 1, maxAutoDays)
		}
	}
	if short := want / (p.perDay(out.Days) * float64(out.Days)); short > 1.01 && (!autoDays || out.Days == maxAutoDays) && (autoStores || autoSKUs) {
		// Scale the inventory series, whose events grow with their number;
		// the e-commerce channel's do not.
		perSeries := (p.perDay(out.Days) - p.ecom) / float64(out.Stores*out.SKUs)
		need := (want/float64(out.Days) - p.ecom) / perSeries
		if autoStores {
			out.Stores = clampInt(int(math.Ceil(need/float64(out.SKUs))), out.Stores, maxStores)
		}
		if autoSKUs {
			out.SKUs = clampInt(int(math.Ceil(need/float64(out.Stores))), out.SKUs, maxSKUs)
		}
		p = runPilot(out)
	}
	if autoDays {
		limit := maxDays
		if (autoStores && out.Stores < maxStores) || (autoSKUs && out.SKUs < maxSKUs) {
			limit = maxAutoDays // the series grew instead
		}
		days := out.Days
		for range 3 { // the demand scaling depends on the days
			days = clampInt(int(math.Round(want/p.perDay(days))), 1, limit)
		}
		out.Days = days
	}
	return out, nil
}

// pilot is what a pilot run measured.
type pilot struct {
	cfg                GenConfig
	store, sales, ecom float64 // events a day
	demand             float64 // mean demand a day over the pilot's days
}

// runPilot simulates the first weeks of cfg's world without keeping its
// events and measures the events a day of the inventory series (sales
// apart) and of the e-commerce channel (whole journeys, counted on the day
// they start).
func runPilot(cfg GenConfig) pilot {
	run := cfg
	run.Days = warmDays + pilotDays + 30 // room for the journeys that start in the pilot
	g := newGenerator(run, "")
	g.dryRun = true
	for day := range warmDays + pilotDays {
		if day == warmDays {
			g.storeEvents, g.salesEvents, g.ecomEvents = 0, 0, 0
		}
		for _, s := range g.series {
			g.simulate(s, day)
		}
		g.ecommerce(day)
	}
	p := pilot{cfg: cfg, demand: meanDemand(g.series, warmDays, warmDays+pilotDays)}
	p.store, p.sales, p.ecom = float64(g.storeEvents)/pilotDays, float64(g.salesEvents)/pilotDays, float64(g.ecomEvents)/pilotDays
	return p
}

// perDay is the expected events a day of a world of days days.
func (p pilot) perDay(days int) float64 {
	sales := p.sales
	if p.demand > 0 {
		sales *= meanDemand(p.series(), 0, days) / p.demand
	}
	return p.store + sales + p.ecom
}

func (p pilot) series() []*series { return newGenerator(p.cfg, "").series }

// meanDemand is the mean over days [from, to) of the series' summed mean
// demand, from at most 400 evenly spaced days.
func meanDemand(series []*series, from, to int) float64 {
	step := max(1, (to-from)/400)
	var sum float64
	var n int
	for d := from; d < to; d += step {
		for _, s := range series {
			sum += s.Demand.Mean(d)
		}
		n++
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

func clampInt(v, lo, hi int) int { return max(lo, min(v, hi)) }
