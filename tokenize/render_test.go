package tokenize

import (
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/supplyline/supplyline/dataset"
)

func snap(day int, hour int, oh, pipe, dem, lost string) dataset.Event {
	return dataset.Event{
		EventID: "snap" + string(rune('a'+day)), EventTime: testStart.AddDate(0, 0, day).Add(time.Duration(hour) * time.Hour),
		EventType: string(dataset.InventorySnapshot), Location: "S01", SKU: "P003",
		Extras: map[string]string{ExtraOnHandStart: oh, ExtraPipelineStart: pipe, ExtraDemand: dem, ExtraLost: lost},
	}
}

func reorder(day, hour int, q float64, lt string) dataset.Event {
	return dataset.Event{
		EventID: "ro" + string(rune('a'+day)), EventTime: testStart.AddDate(0, 0, day).Add(time.Duration(hour) * time.Hour),
		EventType: string(dataset.ReplenishmentOrdered), Location: "S01", SKU: "P003", Quantity: q,
		Extras: map[string]string{ExtraLeadTimeDays: lt},
	}
}

func withCost(e dataset.Event, c7 string) dataset.Event {
	e.Extras[dataset.ExtraRealisedCost] = c7
	return e
}

func journey(id string, steps ...any) []dataset.Event {
	var evs []dataset.Event
	for i := 0; i < len(steps); i += 2 {
		e := dataset.Event{EventID: id + steps[i].(string), EventTime: testStart.Add(time.Duration(steps[i+1].(int)) * time.Hour),
			EventType: steps[i].(string), OrderID: id, Location: "RJ"}
		switch e.EventType {
		case string(dataset.OrderPlaced):
			e.Extras = map[string]string{ExtraPromisedDays: "5"}
		case string(dataset.Shipped), string(dataset.Delivered):
			e.Carrier = "C1"
		}
		evs = append(evs, e)
	}
	return evs
}

// shipment builds the transport events of one shipment from DC01 to S03 by
// carrier C01 with lead time 3: steps are (type, hours since testStart).
func shipment(id string, steps ...any) []dataset.Event {
	var evs []dataset.Event
	for i := 0; i < len(steps); i += 2 {
		e := dataset.Event{EventID: id + steps[i].(string), EventTime: testStart.Add(time.Duration(steps[i+1].(int)) * time.Hour),
			EventType: steps[i].(string), OrderID: id, SKU: "P003", Location: "S03", Carrier: "C01", Quantity: 12}
		switch e.EventType {
		case string(dataset.TransportDeparted):
			e.Location = "DC01"
			e.Extras = map[string]string{ExtraDestination: "S03", ExtraLeadTimeDays: "3"}
		case string(dataset.TransportDelayed):
			e.Extras = map[string]string{ExtraDelayDays: "1"}
		}
		evs = append(evs, e)
	}
	return evs
}

func TestRender(t *testing.T) {
	cutoff := testStart.AddDate(0, 0, 2) // Wednesday 00:00
	tests := []struct {
		name       string
		cutoff     time.Time // zero: Wednesday 00:00
		events     []dataset.Event
		train, val []Document
		unrendered map[string]int64
	}{
		{
			name: "inventory timeline split at cutoff",
			events: []dataset.Event{
				snap(0, 23, "12", "6", "5", "0"), reorder(0, 23, 8, "2"),
				snap(1, 23, "7", "14", "9", "2"),
				snap(2, 23, "0", "14", "3", "3"), reorder(2, 23, 4, "3"),
			},
			train: []Document{{Key: "inv/S01/P003", Events: 3, Text: "inv loc=S01 sku=P003 lt=2\n" +
				"w=0 oh=12 pipe=6 dem=5 lost=0 pos=13 up=21 ord=8\n" +
				"w=1 oh=7 pipe=14 dem=9 lost=2 pos=14 up=14 ord=0\n"}},
			val: []Document{{Key: "inv/S01/P003", Events: 2, Text: "inv loc=S01 sku=P003 lt=3\n" +
				"w=2 oh=0 pipe=14 dem=3 lost=3 pos=14 up=18 ord=4\n"}},
			unrendered: map[string]int64{},
		},
		{
			// An outcome covers the seven days from the order's due day:
			// days L..L+6 after the decision. With a cutoff on day 9, day
			// 0's (L = 2: days 2..8) and day 1's (L = 1: days 2..8) end
			// before it and train keeps them; day 2's (L = 2: days 4..10)
			// reaches past it and is dropped, as is day 3's, which states
			// no lead time to place it by; val lines keep theirs.
			name:   "realised cost c7 only where its seven days end before the cutoff",
			cutoff: testStart.AddDate(0, 0, 9),
			events: []dataset.Event{
				snap(0, 23, "12", "6", "5", "0"), withCost(reorder(0, 23, 8, "2"), "38"),
				snap(1, 23, "7", "14", "9", "2"), withCost(reorder(1, 23, 1, "1"), "41"),
				snap(2, 23, "8", "10", "4", "0"), withCost(reorder(2, 23, 2, "2"), "47"),
				snap(3, 23, "9", "6", "3", "0"), withCost(reorder(3, 23, 0, ""), "50"),
				snap(9, 23, "3", "4", "5", "2"), withCost(reorder(9, 23, 9, "2"), "44"),
			},
			train: []Document{{Key: "inv/S01/P003", Events: 8, Text: "inv loc=S01 sku=P003 lt=2\n" +
				"w=0 oh=12 pipe=6 dem=5 lost=0 pos=13 c7=38 up=21 ord=8\n" +
				"w=1 oh=7 pipe=14 dem=9 lost=2 pos=14 c7=41 up=15 ord=1\n" +
				"w=2 oh=8 pipe=10 dem=4 lost=0 pos=14 up=16 ord=2\n" +
				"w=3 oh=9 pipe=6 dem=3 lost=0 pos=12 up=12 ord=0\n"}},
			val: []Document{{Key: "inv/S01/P003", Events: 2, Text: "inv loc=S01 sku=P003 lt=2\n" +
				"w=2 oh=3 pipe=4 dem=5 lost=2 pos=4 c7=44 up=13 ord=9\n"}},
			unrendered: map[string]int64{},
		},
		{
			name:   "val side inherits past lead time, order after cutoff moves its day to val",
			cutoff: testStart.Add(46*time.Hour + 30*time.Minute), // Tuesday 22:30
			events: []dataset.Event{
				snap(0, 12, "1", "0", "0", "0"), reorder(0, 12, 3, "4"),
				snap(1, 22, "1.0", "3", "0", "0"), {EventID: "late", EventTime: testStart.Add(47 * time.Hour), EventType: string(dataset.ReplenishmentOrdered), Location: "S01", SKU: "P003", Quantity: 2},
				{EventID: "orphan", EventTime: testStart.Add(50 * time.Hour), EventType: string(dataset.ReplenishmentOrdered), Location: "S01", SKU: "P003", Quantity: 2},
			},
			train:      []Document{{Key: "inv/S01/P003", Events: 2, Text: "inv loc=S01 sku=P003 lt=4\nw=0 oh=1 pipe=0 dem=0 lost=0 pos=1 up=4 ord=3\n"}},
			val:        []Document{{Key: "inv/S01/P003", Events: 2, Text: "inv loc=S01 sku=P003 lt=4\nw=1 oh=1 pipe=3 dem=0 lost=0 pos=4 up=6 ord=2\n"}},
			unrendered: map[string]int64{string(dataset.ReplenishmentOrdered): 1}, // "orphan" is on day 2, which has no snapshot
		},
		{
			name: "order journey spanning the cutoff",
			events: journey("O1", "order_placed", 10, "order_approved", 11, "picked", 30, "shipped", 31,
				"delivered", 80, "returned", 130),
			train:      []Document{{Key: "ord/O1", Events: 4, Text: "ord loc=RJ promised=5 carrier=C1\nplaced d=0\napproved d=0\npicked d=1\nshipped d=1\n"}},
			val:        []Document{{Key: "ord/O1", Events: 2, Text: "ord loc=RJ carrier=C1\ndelivered d=3\nreturned d=5\n"}},
			unrendered: map[string]int64{},
		},
		{
			name:   "shipment with a delay",
			cutoff: testStart.AddDate(0, 0, 10),
			// Departs Monday 23:00, due Thursday, delayed that morning, arrives Friday.
			events:     shipment("PO-S03-P003-20240101", "transport_delayed", 78, "transport_departed", 23, "transport_arrived", 103),
			train:      []Document{{Key: "shp/PO-S03-P003-20240101", Events: 3, Text: "shp from=DC01 to=S03 carrier=C01 lt=3\ndeparted d=0\ndelayed d=3 days=1\narrived d=4\n"}},
			unrendered: map[string]int64{},
		},
		{
			name: "shipment spanning the cutoff",
			// Cutoff Wednesday 00:00: the departure is train, the delay and arrival val.
			events:     shipment("PO1", "transport_departed", 23, "transport_delayed", 78, "transport_arrived", 103),
			train:      []Document{{Key: "shp/PO1", Events: 1, Text: "shp from=DC01 to=S03 carrier=C01 lt=3\ndeparted d=0\n"}},
			val:        []Document{{Key: "shp/PO1", Events: 2, Text: "shp to=S03 carrier=C01\ndelayed d=3 days=1\narrived d=4\n"}},
			unrendered: map[string]int64{},
		},
		{
			name: "unrendered events are counted by type",
			events: []dataset.Event{
				{EventID: "t1", EventTime: testStart, EventType: string(dataset.TransportDeparted), Location: "DC"}, // no order id
				{EventID: "t2", EventTime: testStart, EventType: string(dataset.OrderPlaced)},                       // no order id
				snap(0, 1, "x", "0", "0", "0"),                                 // malformed extra
				snap(1, 1, "1", "0", "0", "0"), snap(1, 2, "1", "0", "0", "0"), // second snapshot of a day
			},
			train: []Document{{Key: "inv/S01/P003", Events: 1, Text: "inv loc=S01 sku=P003 lt=0\nw=1 oh=1 pipe=0 dem=0 lost=0 pos=1 up=1 ord=0\n"}},
			unrendered: map[string]int64{
				string(dataset.TransportDeparted): 1, string(dataset.OrderPlaced): 1, string(dataset.InventorySnapshot): 2,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cutoff
			if !tt.cutoff.IsZero() {
				c = tt.cutoff
			}
			train, val, stats, err := Render(tt.events, c)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(train, tt.train) {
				t.Errorf("train:\n got %+v\nwant %+v", train, tt.train)
			}
			if !reflect.DeepEqual(val, tt.val) {
				t.Errorf("val:\n got %+v\nwant %+v", val, tt.val)
			}
			if !reflect.DeepEqual(stats.Unrendered, tt.unrendered) {
				t.Errorf("unrendered %v, want %v", stats.Unrendered, tt.unrendered)
			}
			r, u := stats.Total()
			if r+u != int64(len(tt.events)) {
				t.Errorf("rendered %d + unrendered %d != %d events", r, u, len(tt.events))
			}
		})
	}
}

func TestRenderInvariants(t *testing.T) {
	evs := synthEvents(1, 3, 4, 30, 200)
	cutoff := testStart.AddDate(0, 0, 20)
	train, val, stats, err := Render(evs, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("every event accounted for", func(t *testing.T) {
		r, u := stats.Total()
		if r+u != int64(len(evs)) {
			t.Fatalf("rendered %d + unrendered %d != %d", r, u, len(evs))
		}
		var inDocs int64
		for _, d := range append(append([]Document{}, train...), val...) {
			inDocs += int64(d.Events)
		}
		if inDocs != r {
			t.Fatalf("documents hold %d events, stats say %d rendered", inDocs, r)
		}
		if stats.Unrendered[string(dataset.LostSale)] == 0 {
			t.Fatalf("expected lost_sale unrendered: %v", stats.Unrendered)
		}
		if n := stats.Unrendered[string(dataset.TransportDeparted)]; n != 0 || stats.Rendered[string(dataset.TransportDeparted)] == 0 {
			t.Fatalf("transport_departed: %d unrendered, %d rendered; want all rendered", n, stats.Rendered[string(dataset.TransportDeparted)])
		}
	})
	t.Run("independent of input order", func(t *testing.T) {
		shuffled := append([]dataset.Event(nil), evs...)
		rand.New(rand.NewPCG(9, 9)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		train2, val2, _, err := Render(shuffled, cutoff)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(train, train2) || !reflect.DeepEqual(val, val2) {
			t.Fatal("documents depend on input order")
		}
	})
	t.Run("train lines count days before cutoff only", func(t *testing.T) {
		// 4 x 3 timelines of 20 train days and 10 val days.
		var trainDays, valDays int
		for _, d := range train {
			if strings.HasPrefix(d.Key, "inv/") {
				trainDays += strings.Count(d.Text, "\n") - 1
			}
		}
		for _, d := range val {
			if strings.HasPrefix(d.Key, "inv/") {
				valDays += strings.Count(d.Text, "\n") - 1
			}
		}
		if trainDays != 12*20 || valDays != 12*10 {
			t.Fatalf("train days %d, val days %d; want %d, %d", trainDays, valDays, 12*20, 12*10)
		}
	})
	t.Run("zero cutoff is refused", func(t *testing.T) {
		if _, _, _, err := Render(evs, time.Time{}); !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("err = %v, want ErrInvalidConfig", err)
		}
	})
}

// TestRenderShipmentsGenerated renders a generated world: every transport
// event lands in a shipment document, every event is accounted for, and a
// shipment's train document holds exactly its events before the cutoff and
// its val document exactly those at or after it.
func TestRenderShipmentsGenerated(t *testing.T) {
	dir := t.TempDir()
	if _, err := dataset.Generate(context.Background(), dataset.GenConfig{Seed: 4, Days: 30, Stores: 2, SKUs: 3, EcomOrdersPerDay: 3}, dir); err != nil {
		t.Fatal(err)
	}
	evs, err := dataset.ReadEvents(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	cutoff := testStart.AddDate(0, 0, 20)
	train, val, stats, err := Render(evs, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	transport := map[string]bool{}
	for _, ty := range []dataset.EventType{dataset.TransportDeparted, dataset.TransportDelayed, dataset.TransportArrived} {
		transport[string(ty)] = true
		if n := stats.Unrendered[string(ty)]; n != 0 {
			t.Errorf("%s: %d unrendered", ty, n)
		}
	}
	if stats.Rendered[string(dataset.TransportDelayed)] == 0 || stats.Rendered[string(dataset.TransportArrived)] == 0 {
		t.Fatalf("world has no delayed or arrived shipments: %v", stats.Rendered)
	}
	r, u := stats.Total()
	if r+u != int64(len(evs)) {
		t.Fatalf("rendered %d + unrendered %d != %d events", r, u, len(evs))
	}

	// Per shipment, its transport events before (0) and at or after (1) the cutoff.
	want := map[string]*[2]int{}
	for _, e := range evs {
		if !transport[e.EventType] {
			continue
		}
		if e.OrderID == "" {
			t.Fatalf("transport event %s has no order id", e.EventID)
		}
		n := want[e.OrderID]
		if n == nil {
			n = &[2]int{}
			want[e.OrderID] = n
		}
		if e.EventTime.Before(cutoff) {
			n[0]++
		} else {
			n[1]++
		}
	}
	got := map[string]*[2]int{}
	var inDocs int64
	for side, docs := range [][]Document{train, val} {
		for _, d := range docs {
			inDocs += int64(d.Events)
			id, ok := strings.CutPrefix(d.Key, "shp/")
			if !ok {
				continue
			}
			if !strings.HasPrefix(d.Text, "shp ") {
				t.Errorf("%s: text %q", d.Key, d.Text)
			}
			n := got[id]
			if n == nil {
				n = &[2]int{}
				got[id] = n
			}
			n[side] += d.Events
		}
	}
	if inDocs != r {
		t.Fatalf("documents hold %d events, stats say %d rendered", inDocs, r)
	}
	if len(got) != len(want) {
		t.Fatalf("%d shipment documents keys, %d shipments", len(got), len(want))
	}
	spanning := 0
	for id, w := range want {
		if g := got[id]; g == nil || *g != *w {
			t.Errorf("shipment %s: documents hold %v events (train, val), want %v", id, g, *w)
		}
		if w[0] > 0 && w[1] > 0 {
			spanning++
		}
	}
	if spanning == 0 {
		t.Fatal("no shipment spans the cutoff; the split is untested")
	}
}
