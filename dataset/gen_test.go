package dataset_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/supplyline/supplyline/dataset"
)

func generate(t testing.TB, cfg dataset.GenConfig) (string, dataset.GenSummary) {
	t.Helper()
	dir := t.TempDir()
	sum, err := dataset.Generate(context.Background(), cfg, dir)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return dir, sum
}

// hashTree hashes every file below dir, names included.
func hashTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h := sha256.Sum256(b)
		out[rel] = hex.EncodeToString(h[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGenerateDeterministic(t *testing.T) {
	cfg := dataset.GenConfig{Seed: 7, Days: 30}
	a, _ := generate(t, cfg)
	b, _ := generate(t, cfg)
	ha, hb := hashTree(t, a), hashTree(t, b)
	if len(ha) != 31 { // 30 day files + world.json
		t.Fatalf("got %d files, want 31", len(ha))
	}
	for name, h := range ha {
		if hb[name] != h {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
	}
	c, _ := generate(t, dataset.GenConfig{Seed: 8, Days: 30})
	hc := hashTree(t, c)
	if hc["date=2024-01-15/events.parquet"] == ha["date=2024-01-15/events.parquet"] {
		t.Error("seeds 7 and 8 gave the same day file")
	}
}

func TestGenerateSummary(t *testing.T) {
	dir, sum := generate(t, dataset.GenConfig{Seed: 1})
	if sum.Days != 120 || len(sum.Files) != 120 || sum.Files[0] != "date=2024-01-01/events.parquet" || sum.Files[119] != "date=2024-04-29/events.parquet" {
		t.Fatalf("days %d, files %d: %v .. %v", sum.Days, len(sum.Files), sum.Files[0], sum.Files[len(sum.Files)-1])
	}
	if len(sum.Series) != 4*6 {
		t.Fatalf("got %d series, want 24", len(sum.Series))
	}
	events, err := dataset.ReadEvents(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(events)) != sum.Events {
		t.Fatalf("read %d events, summary says %d", len(events), sum.Events)
	}
	counts := map[string]int64{}
	ids := map[string]bool{}
	for _, e := range events {
		counts[e.EventType]++
		if ids[e.EventID] {
			t.Fatalf("duplicate event_id %s", e.EventID)
		}
		ids[e.EventID] = true
		if !dataset.EventType(e.EventType).Valid() {
			t.Fatalf("event %s has invalid type %q", e.EventID, e.EventType)
		}
		if e.EventTime.Location() != time.UTC || e.EventTime.Nanosecond()%1000 != 0 {
			t.Fatalf("event %s time %v is not UTC microseconds", e.EventID, e.EventTime)
		}
		if math.IsNaN(e.Quantity) || e.Quantity < 0 || math.IsNaN(e.Price) || e.Price < 0 {
			t.Fatalf("event %s has quantity %v, price %v", e.EventID, e.Quantity, e.Price)
		}
	}
	for _, typ := range dataset.EventTypes {
		if counts[string(typ)] == 0 {
			t.Errorf("no %s events in a default world", typ)
		}
		if counts[string(typ)] != sum.Counts[string(typ)] {
			t.Errorf("%s: read %d, summary says %d", typ, counts[string(typ)], sum.Counts[string(typ)])
		}
	}
	// Every event sits in its own day's file.
	for _, f := range sum.Files[:3] {
		day, _ := time.Parse(time.DateOnly, f[len("date="):len("date=2024-01-01")])
		evs, err := dataset.ReadEvents(context.Background(), filepath.Join(dir, filepath.Dir(f)))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.EventTime.Before(day) || !e.EventTime.Before(day.AddDate(0, 0, 1)) {
				t.Errorf("%s: event %s at %v", f, e.EventID, e.EventTime)
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "world.json"))
	if err != nil || len(b) == 0 {
		t.Errorf("world.json: %v", err)
	}
}

type seriesKey struct{ loc, sku string }

type dayFacts struct {
	snap     *dataset.Snapshot
	sold     int
	lost     int
	received int
	orders   []dataset.Event
	stockout int
}

// TestGenerateInventoryBalances rebuilds every (store, SKU) day from the
// events, as the tokenizer will, and checks the books balance: what the
// snapshot extras claim must follow from the sales, receipts and orders.
func TestGenerateInventoryBalances(t *testing.T) {
	for _, known := range []bool{false, true} {
		t.Run(fmt.Sprintf("known=%v", known), func(t *testing.T) {
			dir, sum := generate(t, dataset.GenConfig{Seed: 3, Days: 60, KnownDemand: known})
			events, err := dataset.ReadEvents(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			start := sum.Config.Start
			facts := map[seriesKey][]dayFacts{}
			for _, s := range sum.Series {
				facts[seriesKey{s.Location, s.SKU}] = make([]dayFacts, sum.Days)
				if known && (s.Demand.Trend != 0 || s.Demand.PromoProb != 0 || s.Demand.Dispersion != 0 || s.Demand.YearlyAmp != 0) {
					t.Errorf("known demand series %s/%s has %+v", s.Location, s.SKU, s.Demand)
				}
			}
			orderDay := map[string]int{} // PO -> day ordered
			delayed := map[string]bool{}
			for _, e := range events {
				day := int(e.EventTime.Sub(start) / (24 * time.Hour))
				f := facts[seriesKey{e.Location, e.SKU}]
				switch dataset.EventType(e.EventType) {
				case dataset.InventorySnapshot:
					s, err := dataset.ParseSnapshot(e)
					if err != nil {
						t.Fatal(err)
					}
					if f[day].snap != nil {
						t.Fatalf("two snapshots for %s/%s day %d", e.Location, e.SKU, day)
					}
					f[day].snap = &s
				case dataset.OrderPlaced:
					if f != nil { // store sale, not e-commerce
						f[day].sold += int(e.Quantity)
					}
				case dataset.LostSale:
					f[day].lost += int(e.Quantity)
				case dataset.Stockout:
					f[day].stockout++
				case dataset.ReplenishmentReceived:
					f[day].received += int(e.Quantity)
					od, ok := orderDay[e.OrderID]
					if !ok {
						t.Fatalf("received %s never ordered", e.OrderID)
					}
					lt := facts[seriesKey{e.Location, e.SKU}][od].orders[0].Extras["lead_time_days"]
					want, _ := strconv.Atoi(lt)
					if delayed[e.OrderID] {
						want++
					}
					if day-od != want {
						t.Errorf("%s received after %d days, want %d", e.OrderID, day-od, want)
					}
				case dataset.ReplenishmentOrdered:
					f[day].orders = append(f[day].orders, e)
					orderDay[e.OrderID] = day
				case dataset.TransportDelayed:
					if e.Extras["delay_days"] != "1" {
						t.Errorf("transport_delayed %s: delay_days %q", e.EventID, e.Extras["delay_days"])
					}
					delayed[e.OrderID] = true
				}
			}

			policies := map[string]int{}
			for _, s := range sum.Series {
				policies[s.Policy]++
				f := facts[seriesKey{s.Location, s.SKU}]
				pipeline := 0 // units ordered, not yet received
				prevEnd := -1
				for d, df := range f {
					where := fmt.Sprintf("%s/%s day %d", s.Location, s.SKU, d)
					if df.snap == nil || len(df.orders) != 1 {
						t.Fatalf("%s: snapshot %v, %d decisions; want one of each", where, df.snap != nil, len(df.orders))
					}
					sn := df.snap
					pipeline -= df.received
					if sn.PipelineStart != pipeline {
						t.Errorf("%s: pipeline_start %d, orders in flight %d", where, sn.PipelineStart, pipeline)
					}
					if prevEnd >= 0 && sn.OnHandStart != prevEnd+df.received {
						t.Errorf("%s: on_hand_start %d != yesterday's end %d + received %d", where, sn.OnHandStart, prevEnd, df.received)
					}
					if df.sold != sn.Demand-sn.Lost || df.lost != sn.Lost || sn.OnHandEnd != sn.OnHandStart-df.sold {
						t.Errorf("%s: sold %d, lost %d, snapshot %+v", where, df.sold, df.lost, *sn)
					}
					if sn.Lost > 0 && sn.OnHandEnd != 0 {
						t.Errorf("%s: lost sales with %d on hand", where, sn.OnHandEnd)
					}
					if (sn.OnHandEnd == 0) != (df.stockout == 1) {
						t.Errorf("%s: on hand %d, %d stockout events", where, sn.OnHandEnd, df.stockout)
					}
					o := df.orders[0]
					if o.Location != s.Location || o.Extras["policy"] != s.Policy || o.Extras["lead_time_days"] != strconv.Itoa(s.LeadTime) {
						t.Fatalf("%s: decision %+v", where, o)
					}
					if z, _ := strconv.ParseFloat(o.Extras["policy_param"], 64); z != s.PolicyParam {
						t.Errorf("%s: policy_param %q, want %v", where, o.Extras["policy_param"], s.PolicyParam)
					}
					if s.Policy != dataset.PolicyBaseStockNoisy {
						S, _ := strconv.Atoi(o.Extras["order_up_to"])
						if want := max(0, S-sn.OnHandEnd-sn.PipelineStart); int(o.Quantity) != want {
							t.Errorf("%s: ordered %v, base stock says %d", where, o.Quantity, want)
						}
					}
					pipeline += int(o.Quantity)
					prevEnd = sn.OnHandEnd
				}
			}
			if len(policies) != 3 {
				t.Errorf("policy mix %v, want all three policies", policies)
			}
		})
	}
}

func TestGenerateEcommerceJourneys(t *testing.T) {
	dir, _ := generate(t, dataset.GenConfig{Seed: 5, Days: 40, Stores: 1, SKUs: 3, EcomOrdersPerDay: 20})
	events, err := dataset.ReadEvents(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	type line struct{ order, sku string }
	steps := map[line]map[string]time.Time{}
	for _, e := range events {
		if len(e.OrderID) < 3 || e.OrderID[:3] != "EO-" {
			continue
		}
		l := line{e.OrderID, e.SKU}
		if steps[l] == nil {
			steps[l] = map[string]time.Time{}
		}
		steps[l][e.EventType] = e.EventTime
		if e.EventType == string(dataset.OrderPlaced) {
			if _, err := time.Parse(time.DateOnly, e.Extras["promised_date"]); err != nil {
				t.Errorf("%s: promised_date %q", e.OrderID, e.Extras["promised_date"])
			}
		}
		if e.EventType == string(dataset.Shipped) && e.Carrier == "" {
			t.Errorf("%s shipped without a carrier", e.OrderID)
		}
	}
	order := []string{"order_placed", "order_approved", "picked", "shipped"}
	var delivered, failed, returned int
	for l, s := range steps {
		if _, ok := s["order_placed"]; !ok {
			continue // placed before the window? cannot happen: the world starts empty
		}
		for i := 1; i < len(order); i++ {
			ti, ok := s[order[i]]
			if !ok {
				continue // cut off at the end of the world
			}
			if !ti.After(s[order[i-1]]) {
				t.Errorf("%v: %s at %v not after %s at %v", l, order[i], ti, order[i-1], s[order[i-1]])
			}
		}
		_, d := s["delivered"]
		_, f := s["delivery_failed"]
		_, r := s["returned"]
		if d && f || r && !d {
			t.Errorf("%v: inconsistent journey %v", l, s)
		}
		if d {
			delivered++
		}
		if f {
			failed++
		}
		if r {
			returned++
		}
	}
	if delivered == 0 || failed == 0 || returned == 0 {
		t.Errorf("delivered %d, failed %d, returned %d: want some of each", delivered, failed, returned)
	}
}

func TestGenConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  dataset.GenConfig
		ok   bool
	}{
		{"zero is default", dataset.GenConfig{}, true},
		{"no ecommerce", dataset.GenConfig{EcomOrdersPerDay: -1}, true},
		{"negative days", dataset.GenConfig{Days: -1}, false},
		{"two DCs", dataset.GenConfig{DCs: 2}, false},
		{"too many stores", dataset.GenConfig{Stores: 100}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, dataset.ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
		})
	}
}

func ExampleGenerate() {
	dir, _ := os.MkdirTemp("", "world")
	defer os.RemoveAll(dir)
	sum, err := dataset.Generate(context.Background(), dataset.GenConfig{Seed: 42, Days: 7, Stores: 2, SKUs: 2}, dir)
	if err != nil {
		panic(err)
	}
	fmt.Println(sum.Days, "days,", len(sum.Series), "series, first file", sum.Files[0])
	// Output: 7 days, 4 series, first file date=2024-01-01/events.parquet
}
