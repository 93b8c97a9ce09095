package tokenize

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/supplyline/supplyline/dataset"
)

// testStart is a Monday.
var testStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// synthEvents builds a small retail world the way the synthetic generator
// describes it: per store/SKU/day an inventory_snapshot with the extras the
// renderer reads and, some days, a replenishment_ordered; retail order
// journeys; shipments of one transport_departed each; and events that fit
// no document (lost_sale).
func synthEvents(seed uint64, stores, skus, days, orders int) []dataset.Event {
	rng := rand.New(rand.NewPCG(seed, 7))
	var evs []dataset.Event
	id := 0
	add := func(e dataset.Event) {
		id++
		e.EventID = fmt.Sprintf("e%07d", id)
		evs = append(evs, e)
	}
	for s := 0; s < stores; s++ {
		for k := 0; k < skus; k++ {
			loc, sku := fmt.Sprintf("S%02d", s), fmt.Sprintf("P%03d", k)
			lt := 1 + rng.IntN(4)
			oh, pipe := 10+rng.IntN(20), 0
			for d := 0; d < days; d++ {
				day := testStart.AddDate(0, 0, d)
				dem := rng.IntN(12)
				lost := max(0, dem-oh)
				add(dataset.Event{
					EventTime: day.Add(23 * time.Hour), EventType: string(dataset.InventorySnapshot),
					SKU: sku, Location: loc, Quantity: float64(max(0, oh-dem)), Price: 2.5,
					Extras: map[string]string{
						ExtraOnHandStart: strconv.Itoa(oh), ExtraPipelineStart: strconv.Itoa(pipe),
						ExtraDemand: strconv.Itoa(dem), ExtraLost: strconv.Itoa(lost),
					},
				})
				oh = max(0, oh-dem)
				if rng.IntN(3) == 0 {
					q := 5 + rng.IntN(20)
					pipe += q
					add(dataset.Event{
						EventTime: day.Add(23*time.Hour + 30*time.Minute), EventType: string(dataset.ReplenishmentOrdered),
						OrderID: fmt.Sprintf("PO-%s-%s-%d", loc, sku, d), SKU: sku, Location: loc,
						Quantity: float64(q), Price: 2.5,
						Extras: map[string]string{ExtraLeadTimeDays: strconv.Itoa(lt)},
					})
				}
				if rng.IntN(5) == 0 {
					add(dataset.Event{EventTime: day.Add(12 * time.Hour), EventType: string(dataset.LostSale), SKU: sku, Location: loc, Quantity: 1})
				}
				if pipe > 0 && rng.IntN(lt+1) == 0 {
					oh += pipe
					pipe = 0
				}
			}
		}
	}
	regions := []string{"RJ", "SP", "MG", "BA"}
	steps := []dataset.EventType{dataset.OrderPlaced, dataset.OrderApproved, dataset.Picked, dataset.Shipped}
	for o := 0; o < orders; o++ {
		t := testStart.Add(time.Duration(rng.IntN(days*24)) * time.Hour)
		oid, reg, car := fmt.Sprintf("O%06d", o), regions[rng.IntN(len(regions))], fmt.Sprintf("C%d", 1+rng.IntN(3))
		for i, st := range steps {
			e := dataset.Event{EventTime: t, EventType: string(st), OrderID: oid, SKU: "P001", Location: reg, Quantity: 1}
			if i == 0 {
				e.Price = 19.9
				e.Extras = map[string]string{ExtraPromisedDays: strconv.Itoa(3 + rng.IntN(5))}
			}
			if st == dataset.Shipped {
				e.Carrier = car
			}
			add(e)
			t = t.Add(time.Duration(rng.IntN(40)) * time.Hour)
		}
		end := []dataset.EventType{dataset.Delivered, dataset.Delivered, dataset.Delivered, dataset.DeliveryFailed}[rng.IntN(4)]
		add(dataset.Event{EventTime: t, EventType: string(end), OrderID: oid, SKU: "P001", Location: reg, Carrier: car, Quantity: 1})
		if end == dataset.Delivered && rng.IntN(6) == 0 {
			add(dataset.Event{EventTime: t.Add(72 * time.Hour), EventType: string(dataset.Returned), OrderID: oid, SKU: "P001", Location: reg, Quantity: 1, Price: 19.9})
		}
		if rng.IntN(4) == 0 {
			add(dataset.Event{EventTime: t, EventType: string(dataset.TransportDeparted), OrderID: "SH" + oid, Location: "DC1", Carrier: car, Quantity: 10})
		}
	}
	return evs
}
