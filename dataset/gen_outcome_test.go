package dataset_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/supplyline/supplyline/dataset"
)

// TestGenerateRealisedCost recomputes, from the snapshots alone, the cost
// each logged decision went on to realise and each series' totals, and
// compares them with what Generate recorded.
func TestGenerateRealisedCost(t *testing.T) {
	dir, sum := generate(t, dataset.GenConfig{Seed: 12, Days: 45})
	if sum.Costs != dataset.Costs || sum.Costs.HorizonDays != 7 {
		t.Fatalf("summary costs %+v, want %+v with a 7-day horizon", sum.Costs, dataset.Costs)
	}
	events, err := dataset.ReadEvents(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	start := sum.Config.Start
	dayCost := map[seriesKey][]int{}      // holding + lost-sale cost at the end of each day
	decisions := map[seriesKey][]string{} // realised_cost_7d of each day's decision; "-" when absent
	for _, s := range sum.Series {
		k := seriesKey{s.Location, s.SKU}
		dayCost[k] = make([]int, sum.Days)
		decisions[k] = make([]string, sum.Days)
	}
	for _, e := range events {
		k, day := seriesKey{e.Location, e.SKU}, int(e.EventTime.Sub(start)/(24*time.Hour))
		switch dataset.EventType(e.EventType) {
		case dataset.InventorySnapshot:
			s, err := dataset.ParseSnapshot(e)
			if err != nil {
				t.Fatal(err)
			}
			dayCost[k][day] = sum.Costs.Holding*s.OnHandEnd + sum.Costs.LostSale*s.Lost
		case dataset.ReplenishmentOrdered:
			v, ok := e.Extras[dataset.ExtraRealisedCost]
			if !ok {
				v = "-"
			}
			decisions[k][day] = v
		}
	}
	h := sum.Costs.HorizonDays
	var recorded int
	leadTimes := map[int]bool{}
	for _, s := range sum.Series {
		k := seriesKey{s.Location, s.SKU}
		costs := dayCost[k]
		L := s.LeadTime
		leadTimes[L] = true
		for d, got := range decisions[k] {
			if d+L+h-1 >= sum.Days {
				if got != "-" {
					t.Errorf("%v day %d: realised cost %s recorded past the end of the world", k, d, got)
				}
				continue
			}
			want := 0
			for _, c := range costs[d+L : d+L+h] { // from the order's due day on
				want += c
			}
			if got != strconv.Itoa(want) {
				t.Errorf("%v day %d: realised_cost_7d %s, recomputed %d", k, d, got, want)
			}
			recorded++
		}
		var holding, lost int64
		for _, e := range events {
			if e.EventType == string(dataset.InventorySnapshot) && e.Location == s.Location && e.SKU == s.SKU {
				sn, _ := dataset.ParseSnapshot(e)
				holding += int64(sum.Costs.Holding * sn.OnHandEnd)
				lost += int64(sum.Costs.LostSale * sn.Lost)
			}
		}
		if s.RealisedHoldingCost != holding || s.RealisedLostSaleCost != lost {
			t.Errorf("%v: series totals holding %d, lost sales %d; recomputed %d, %d", k, s.RealisedHoldingCost, s.RealisedLostSaleCost, holding, lost)
		}
	}
	want := 0
	for _, s := range sum.Series {
		want += sum.Days - (s.LeadTime + h - 1)
	}
	if recorded != want {
		t.Errorf("%d decisions have a realised cost, want %d", recorded, want)
	}
	if len(leadTimes) < 2 {
		t.Errorf("the world has lead times %v: the test needs several to check the horizon starts at each", leadTimes)
	}
}

// TestGenerateKnownDemandMoments checks that, with KnownDemand, the demand
// in the data follows the process world.json states: Poisson with mean
// DemandProcess.Mean(day), periodic in the weekday.
//
// For each series and weekday there are n = 100 days. Under the stated
// process the standardised sample mean z = (mean - m)/sqrt(m/n) is about
// N(0,1), and so is the standardised sample variance
// (s² - m)/sqrt((m + 2m²)/n) (Poisson: fourth central moment m + 3m²). Each
// |z| must stay below 4.5 (two-sided probability 7e-6 per statistic, so
// about 0.2% that any of the 336 fails under a correct generator) and their
// squares must sum to within 5 standard deviations of the chi-squared mean.
// The seed is fixed, so the outcome cannot change from run to run; the
// bound says how unlikely a failure would be were the seed changed.
func TestGenerateKnownDemandMoments(t *testing.T) {
	const n = 100
	dir, sum := generate(t, dataset.GenConfig{Seed: 21, Days: 7 * n, KnownDemand: true, EcomOrdersPerDay: -1})
	b, err := os.ReadFile(filepath.Join(dir, "world.json"))
	if err != nil {
		t.Fatal(err)
	}
	var world dataset.GenSummary
	if err := json.Unmarshal(b, &world); err != nil {
		t.Fatal(err)
	}
	if !world.Config.KnownDemand || len(world.Series) != len(sum.Series) {
		t.Fatalf("world.json: known %v, %d series", world.Config.KnownDemand, len(world.Series))
	}
	events, err := dataset.ReadEvents(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	demand := map[seriesKey][]int{}
	for _, e := range events {
		if e.EventType == string(dataset.InventorySnapshot) {
			s, err := dataset.ParseSnapshot(e)
			if err != nil {
				t.Fatal(err)
			}
			k := seriesKey{e.Location, e.SKU}
			demand[k] = append(demand[k], s.Demand) // events are in time order
		}
	}
	var chi2 float64
	var stats int
	for _, s := range world.Series {
		p := s.Demand
		if p.Trend != 0 || p.YearlyAmp != 0 || p.PromoProb != 0 || p.Dispersion != 0 {
			t.Fatalf("%s/%s: known demand process %+v has more than a weekly cycle", s.Location, s.SKU, p)
		}
		days := demand[seriesKey{s.Location, s.SKU}]
		if len(days) != 7*n {
			t.Fatalf("%s/%s: %d days of demand, want %d", s.Location, s.SKU, len(days), 7*n)
		}
		for w := range 7 {
			m := p.Mean(w)
			var sum, sq float64
			for d := w; d < len(days); d += 7 {
				if p.Mean(d) != m {
					t.Fatalf("%s/%s: Mean(%d) = %v differs from Mean(%d) = %v: not periodic", s.Location, s.SKU, d, p.Mean(d), w, m)
				}
				sum += float64(days[d])
			}
			mean := sum / n
			for d := w; d < len(days); d += 7 {
				sq += (float64(days[d]) - mean) * (float64(days[d]) - mean)
			}
			variance := sq / (n - 1)
			zMean := (mean - m) / math.Sqrt(m/n)
			zVar := (variance - m) / math.Sqrt((m+2*m*m)/n)
			for _, z := range []struct {
				what string
				v    float64
			}{{"mean", zMean}, {"variance", zVar}} {
				if math.Abs(z.v) > 4.5 {
					t.Errorf("%s/%s weekday %d: %s z = %.2f (mean %.3f, variance %.3f, process mean %.3f)", s.Location, s.SKU, w, z.what, z.v, mean, variance, m)
				}
				chi2 += z.v * z.v
				stats++
			}
		}
	}
	if k := float64(stats); math.Abs(chi2-k) > 5*math.Sqrt(2*k) {
		t.Errorf("sum of %d squared z = %.1f, want within %.1f of %d", stats, chi2, 5*math.Sqrt(2*k), stats)
	}
	t.Logf("%d statistics, sum of squared z %.1f", stats, chi2)
}

func TestGenConfigForEvents(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  dataset.GenConfig
		n    int64
		// days, stores, skus: which of them ForEvents may grow
		days, stores, skus bool
	}{
		{"days only", dataset.GenConfig{Seed: 1}, 40_000, true, false, false},
		{"stores after two years", dataset.GenConfig{Seed: 2}, 400_000, true, true, false},
		{"fixed days and stores", dataset.GenConfig{Seed: 3, Days: 30, Stores: 2}, 60_000, false, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.ForEvents(tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if (got.Days != tt.cfg.Days && tt.cfg.Days != 0) || (got.Stores != tt.cfg.Stores && tt.cfg.Stores != 0) {
				t.Errorf("ForEvents changed a field the config set: %+v", got)
			}
			wantStores := tt.cfg.Stores
			if wantStores == 0 {
				wantStores = 4 // the default
			}
			if !tt.stores && got.Stores != wantStores || !tt.skus && got.SKUs != 6 {
				t.Errorf("stores %d, SKUs %d grew; want them kept", got.Stores, got.SKUs)
			}
			if tt.days && got.Days > 730 && tt.stores {
				t.Errorf("days %d: want at most two years before stores grow", got.Days)
			}
			_, sum := generate(t, got)
			ratio := float64(sum.Events) / float64(tt.n)
			t.Logf("%s: %d days, %d stores × %d SKUs: %d events (%.3f of %d)", tt.name, got.Days, got.Stores, got.SKUs, sum.Events, ratio, tt.n)
			if ratio < 0.85 || ratio > 1.15 {
				t.Errorf("%d events for --events %d: %.2f of the target, want within 15%%", sum.Events, tt.n, ratio)
			}
		})
	}
	if _, err := (dataset.GenConfig{}).ForEvents(0); err == nil {
		t.Error("ForEvents(0) succeeded")
	}
}

// TestPerturbedZ checks the perturbed policy's weekly safety factor: a pure
// function, uniform on [0, 3] (mean 1.5, variance 0.75: over 2,000 weeks
// the sample mean is within 0.1 of 1.5, more than 5 standard errors), and
// different for other series and seeds.
func TestPerturbedZ(t *testing.T) {
	const n = 2000
	var sum, sumSq float64
	for w := range n {
		z := dataset.PerturbedZ(7, 3, w)
		if z < 0 || z > 3 || z != dataset.PerturbedZ(7, 3, w) {
			t.Fatalf("week %d: z %v", w, z)
		}
		sum += z
		sumSq += z * z
	}
	mean := sum / n
	variance := sumSq/n - mean*mean
	if math.Abs(mean-1.5) > 0.1 || math.Abs(variance-0.75) > 0.1 {
		t.Errorf("mean %.3f variance %.3f, want about 1.5 and 0.75", mean, variance)
	}
	same := 0
	for w := range 100 {
		if dataset.PerturbedZ(7, 3, w) == dataset.PerturbedZ(7, 4, w) || dataset.PerturbedZ(7, 3, w) == dataset.PerturbedZ(8, 3, w) {
			same++
		}
	}
	if same > 2 {
		t.Errorf("%d of 100 weeks share z across series or seeds", same)
	}
}
