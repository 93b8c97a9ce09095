package tokenize

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/supplyline/supplyline/dataset"
)

// Document is one rendered document: the text between DocStart and DocEnd.
type Document struct {
	// Key names the entity the document is about: "inv/<location>/<sku>" or
	// "ord/<order id>" or "shp/<shipment order id>". A timeline that spans the cutoff yields one document
	// with the same key on each side.
	Key string
	// Text is the document without special tokens.
	Text string
	// Events counts the canonical events rendered into Text.
	Events int
}

// RenderStats accounts for every input event, keyed by event type:
// Rendered + Unrendered summed over types equals the number of input events.
type RenderStats struct {
	Rendered   map[string]int64
	Unrendered map[string]int64
}

// Total returns the number of rendered and unrendered events.
func (s RenderStats) Total() (rendered, unrendered int64) {
	for _, n := range s.Rendered {
		rendered += n
	}
	for _, n := range s.Unrendered {
		unrendered += n
	}
	return rendered, unrendered
}

// Extras keys that the renderer reads. The synthetic world writes them on
// inventory_snapshot (on hand and pipeline at the start of the day, the
// day's demand and lost sales), replenishment_ordered (lead time) and
// order_placed (promised delivery days).
const (
	ExtraOnHandStart   = "on_hand_start"
	ExtraPipelineStart = "pipeline_start"
	ExtraDemand        = "demand"
	ExtraLost          = "lost"
	ExtraLeadTimeDays  = "lead_time_days"
	ExtraPromisedDays  = "promised_days"
	ExtraDestination   = "destination"
	ExtraDelayDays     = "delay_days"
)

// journeySteps maps the retail order event types to their step names.
var journeySteps = map[string]string{
	string(dataset.OrderPlaced):    "placed",
	string(dataset.OrderApproved):  "approved",
	string(dataset.Picked):         "picked",
	string(dataset.Shipped):        "shipped",
	string(dataset.Delivered):      "delivered",
	string(dataset.DeliveryFailed): "delivery_failed",
	string(dataset.Returned):       "returned",
}

// shipmentSteps maps the transport event types to their step names.
var shipmentSteps = map[string]string{
	string(dataset.TransportDeparted): "departed",
	string(dataset.TransportDelayed):  "delayed",
	string(dataset.TransportArrived):  "arrived",
}

// Render turns canonical events into documents, split in time at cutoff.
//
// Inventory timelines: one per (location, SKU), one line per UTC day that has
// an inventory_snapshot; the day's replenishment_ordered events give its
// order (0 when there is none). Order journeys: one per retail order
// (OrderID set, type in the retail order and fulfilment set). Shipments: one
// per shipment (OrderID set, a transport_* type), one line per leg event.
//
// A day (or a journey or shipment step) belongs to train only when every event rendered
// into it is before cutoff; otherwise it goes to val. A timeline that spans
// the cutoff therefore becomes two documents and train text never carries
// information from at or after the cutoff. Documents come out sorted by Key.
//
// Events that fit no document are counted in stats.Unrendered, not dropped
// silently. The input slice is not modified.
func Render(events []dataset.Event, cutoff time.Time) (train, val []Document, stats RenderStats, err error) {
	if cutoff.IsZero() {
		return nil, nil, stats, fmt.Errorf("%w: render: cutoff is required", ErrInvalidConfig)
	}
	stats = newRenderStats()
	evs := make([]*dataset.Event, len(events))
	for i := range events {
		evs[i] = &events[i]
	}
	train, val = renderEvents(evs, cutoff, &stats)
	byKey := func(a, b Document) int { return strings.Compare(a.Key, b.Key) }
	slices.SortFunc(train, byKey)
	slices.SortFunc(val, byKey)
	return train, val, stats, nil
}

func newRenderStats() RenderStats {
	return RenderStats{Rendered: map[string]int64{}, Unrendered: map[string]int64{}}
}

// add adds o's counts to s.
func (s *RenderStats) add(o RenderStats) {
	for k, n := range o.Rendered {
		s.Rendered[k] += n
	}
	for k, n := range o.Unrendered {
		s.Unrendered[k] += n
	}
}

// Entity kinds: the document an event belongs to (see entityOf).
const (
	entityNone = iota
	entityInventory
	entityJourney
	entityShipment
)

// entityOf says which kind of document e belongs to; entityNone means
// none (e is unrendered).
func entityOf(e *dataset.Event) int {
	switch {
	case e.EventType == string(dataset.InventorySnapshot) || e.EventType == string(dataset.ReplenishmentOrdered):
		return entityInventory
	case journeySteps[e.EventType] != "" && e.OrderID != "":
		return entityJourney
	case shipmentSteps[e.EventType] != "" && e.OrderID != "":
		return entityShipment
	}
	return entityNone
}

// renderEvents groups events by entity and renders each group, unsorted:
// Render and the streaming build each order the documents their own way.
// Events that fit no entity are counted in stats.Unrendered.
func renderEvents(events []*dataset.Event, cutoff time.Time, stats *RenderStats) (train, val []Document) {
	type invKey struct{ loc, sku string }
	inv := map[invKey][]*dataset.Event{}
	orders := map[string][]*dataset.Event{}
	shipments := map[string][]*dataset.Event{}
	for _, e := range events {
		switch entityOf(e) {
		case entityInventory:
			k := invKey{e.Location, e.SKU}
			inv[k] = append(inv[k], e)
		case entityJourney:
			orders[e.OrderID] = append(orders[e.OrderID], e)
		case entityShipment:
			shipments[e.OrderID] = append(shipments[e.OrderID], e)
		default:
			stats.Unrendered[e.EventType]++
		}
	}

	for k, evs := range inv {
		tr, va := renderInventory(k.loc, k.sku, evs, cutoff, stats)
		train = append(train, tr...)
		val = append(val, va...)
	}
	for id, evs := range orders {
		tr, va := renderJourney(id, evs, cutoff, stats)
		train = append(train, tr...)
		val = append(val, va...)
	}
	for id, evs := range shipments {
		tr, va := renderShipment(id, evs, cutoff, stats)
		train = append(train, tr...)
		val = append(val, va...)
	}
	return train, val
}

// dayIndex is whole UTC days since the Unix epoch.
func dayIndex(t time.Time) int64 {
	return int64(math.Floor(float64(t.UTC().Unix()) / 86400))
}

// sortEvents orders events by time then ID so that rendering does not depend
// on input order.
func sortEvents(evs []*dataset.Event) {
	slices.SortFunc(evs, func(a, b *dataset.Event) int {
		if c := a.EventTime.Compare(b.EventTime); c != 0 {
			return c
		}
		return strings.Compare(a.EventID, b.EventID)
	})
}

// extraInt reads a decimal-string extra as a whole number.
func extraInt(e *dataset.Event, key string) (int, bool) {
	s, ok := e.Extras[key]
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return int(math.Round(f)), true
}

// renderInventory renders one (location, SKU) timeline into at most one train
// and one val document.
func renderInventory(loc, sku string, evs []*dataset.Event, cutoff time.Time, stats *RenderStats) (train, val []Document) {
	sortEvents(evs)
	type day struct {
		snap   *dataset.Event
		orders []*dataset.Event
		last   time.Time
	}
	days := map[int64]*day{}
	var order []int64
	for _, e := range evs {
		d := dayIndex(e.EventTime)
		dd := days[d]
		if dd == nil {
			dd = &day{}
			days[d] = dd
			order = append(order, d)
		}
		if e.EventType == string(dataset.InventorySnapshot) {
			if dd.snap != nil { // a second snapshot of the same day fits no line
				stats.Unrendered[e.EventType]++
				continue
			}
			dd.snap = e
		} else {
			dd.orders = append(dd.orders, e)
		}
	}
	slices.Sort(order)

	type side struct {
		b      strings.Builder
		events int
		lt     int
		hasLT  bool
		lines  []InventoryDay
	}
	var sides [2]side // 0 train, 1 val
	for _, d := range order {
		dd := days[d]
		var line InventoryDay
		ok := dd.snap != nil
		if ok {
			var o1, o2, o3, o4 bool
			line.OnHand, o1 = extraInt(dd.snap, ExtraOnHandStart)
			line.Pipeline, o2 = extraInt(dd.snap, ExtraPipelineStart)
			line.Demand, o3 = extraInt(dd.snap, ExtraDemand)
			line.Lost, o4 = extraInt(dd.snap, ExtraLost)
			ok = o1 && o2 && o3 && o4
		}
		if !ok {
			if dd.snap != nil {
				stats.Unrendered[dd.snap.EventType]++
			}
			for _, e := range dd.orders {
				stats.Unrendered[e.EventType]++
			}
			continue
		}
		last := dd.snap.EventTime
		for _, e := range dd.orders {
			line.Order += int(math.Round(e.Quantity))
			if e.EventTime.After(last) {
				last = e.EventTime
			}
		}
		line.Weekday = (int(dd.snap.EventTime.UTC().Weekday()) + 6) % 7
		s := 0
		if !last.Before(cutoff) {
			s = 1
		}
		// The outcome covers days d+L..d+L+6 (L the lead time the decision
		// states; dataset.ExtraRealisedCost): a train line carries it only
		// when all of them end before the cutoff, so that train text holds
		// nothing learnt at or after it. An outcome without a lead time
		// cannot be placed and is left out.
		for _, e := range dd.orders {
			c, ok := extraInt(e, dataset.ExtraRealisedCost)
			if !ok {
				continue
			}
			lt, ok := extraInt(e, ExtraLeadTimeDays)
			if ok && lt >= 0 && (s == 1 || !time.Unix((d+int64(lt+dataset.Costs.HorizonDays))*86400, 0).After(cutoff)) {
				line.Cost7, line.HasCost7 = c, true
			}
			break
		}
		sd := &sides[s]
		if !sd.hasLT {
			for _, e := range append([]*dataset.Event{dd.snap}, dd.orders...) {
				if lt, ok := extraInt(e, ExtraLeadTimeDays); ok {
					sd.lt, sd.hasLT = lt, true
					break
				}
			}
		}
		sd.lines = append(sd.lines, line)
		sd.events += 1 + len(dd.orders)
		stats.Rendered[dd.snap.EventType]++
		for _, e := range dd.orders {
			stats.Rendered[e.EventType]++
		}
	}
	// The val side may reuse the lead time learned on the train side (the
	// past); the train side never learns it from val days.
	if !sides[1].hasLT && sides[0].hasLT {
		sides[1].lt, sides[1].hasLT = sides[0].lt, true
	}
	key := "inv/" + loc + "/" + sku
	for s := range sides {
		sd := &sides[s]
		if len(sd.lines) == 0 {
			continue
		}
		sd.b.WriteString(FormatHeader(InventoryHeader{Location: loc, SKU: sku, LeadTime: sd.lt}))
		for _, l := range sd.lines {
			sd.b.WriteString(FormatDay(l))
		}
		doc := Document{Key: key, Text: sd.b.String(), Events: sd.events}
		train, val = appendSide(train, val, s, doc)
	}
	return train, val
}

// splitAtCutoff sorts one entity's events and splits them, event by event,
// into the train side (before cutoff) and the val side (at or after it): the
// time split every timeline shares. first is the day of the earliest event,
// from which step days count on both sides.
func splitAtCutoff(evs []*dataset.Event, cutoff time.Time, stats *RenderStats) (first int64, parts [2][]*dataset.Event) {
	sortEvents(evs)
	first = dayIndex(evs[0].EventTime)
	for _, e := range evs {
		s := 0
		if !e.EventTime.Before(cutoff) {
			s = 1
		}
		parts[s] = append(parts[s], e)
		stats.Rendered[e.EventType]++
	}
	return first, parts
}

// appendSide adds doc to train (side 0) or val (side 1).
func appendSide(train, val []Document, side int, doc Document) ([]Document, []Document) {
	if side == 0 {
		return append(train, doc), val
	}
	return train, append(val, doc)
}

// renderJourney renders one retail order into at most one train and one val
// document. Step days count from the order's first event, which is in the
// past of both sides, so the val half carries no train-side leak and the
// train half nothing from the val side.
func renderJourney(id string, evs []*dataset.Event, cutoff time.Time, stats *RenderStats) (train, val []Document) {
	first, parts := splitAtCutoff(evs, cutoff, stats)
	for s, part := range parts {
		if len(part) == 0 {
			continue
		}
		h := OrderHeader{Promised: -1}
		for _, e := range part {
			if h.Location == "" && e.Location != "" {
				h.Location = e.Location
			}
			if h.Carrier == "" && e.Carrier != "" {
				h.Carrier = e.Carrier
			}
			if h.Promised < 0 && e.EventType == string(dataset.OrderPlaced) {
				if p, ok := extraInt(e, ExtraPromisedDays); ok {
					h.Promised = p
				}
			}
		}
		var b strings.Builder
		b.WriteString(FormatOrderHeader(h))
		var prev OrderStep
		for i, e := range part {
			st := OrderStep{Step: journeySteps[e.EventType], Day: int(dayIndex(e.EventTime) - first)}
			if i > 0 && st == prev {
				continue
			}
			b.WriteString(FormatOrderStep(st))
			prev = st
		}
		doc := Document{Key: "ord/" + id, Text: b.String(), Events: len(part)}
		train, val = appendSide(train, val, s, doc)
	}
	return train, val
}

// renderShipment renders one shipment's transport events into at most one
// train and one val document, split at cutoff event by event as journeys
// are. Step days count from the shipment's first event (its departure when
// that is present), in the past of both sides. Header fields come only from
// the events of the side being written, so the train half never carries the
// destination or lead time learned from a val-side event, and the val half
// leaves out what only the train side's departure knew.
func renderShipment(id string, evs []*dataset.Event, cutoff time.Time, stats *RenderStats) (train, val []Document) {
	first, parts := splitAtCutoff(evs, cutoff, stats)
	for s, part := range parts {
		if len(part) == 0 {
			continue
		}
		h := ShipmentHeader{LeadTime: -1}
		for _, e := range part {
			departed := e.EventType == string(dataset.TransportDeparted)
			if departed && h.From == "" {
				h.From = e.Location
			}
			if h.To == "" {
				if d := strings.TrimSpace(e.Extras[ExtraDestination]); d != "" {
					h.To = d
				} else if !departed {
					h.To = e.Location // delayed and arrived happen at the destination
				}
			}
			if h.Carrier == "" {
				h.Carrier = e.Carrier
			}
			if h.LeadTime < 0 {
				if lt, ok := extraInt(e, ExtraLeadTimeDays); ok && lt >= 0 {
					h.LeadTime = lt
				}
			}
		}
		var b strings.Builder
		b.WriteString(FormatShipmentHeader(h))
		var prev ShipmentStep
		for i, e := range part {
			st := ShipmentStep{Step: shipmentSteps[e.EventType], Day: int(dayIndex(e.EventTime) - first), DelayDays: -1}
			if e.EventType == string(dataset.TransportDelayed) {
				if d, ok := extraInt(e, ExtraDelayDays); ok && d >= 0 {
					st.DelayDays = d
				}
			}
			if i > 0 && st == prev {
				continue
			}
			b.WriteString(FormatShipmentStep(st))
			prev = st
		}
		doc := Document{Key: "shp/" + id, Text: b.String(), Events: len(part)}
		train, val = appendSide(train, val, s, doc)
	}
	return train, val
}
