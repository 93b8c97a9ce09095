package dataset

import (
	"bytes"
	"cmp"
	"strconv"
	"time"
)

// genEvent is one generated event before it is written: what its Event is
// derived from, without the strings and the extras map. Generate holds
// about eight days of events back for their realised costs, and in this
// form each costs 48 bytes instead of an Event's 144 plus a few hundred
// in strings and maps, so a dense world fits in memory (see Generate).
// generator.event turns it into the Event that is written.
type genEvent struct {
	t   int64 // event time, microseconds since the world's start
	seq int64 // event id: ev-SEED-%09d
	// who is the series index of a store event, or the SKU index of an
	// e-commerce order line.
	who int32
	// n is the sale's number within its series-day (0-based), or the
	// e-commerce order's number within its day (0-based).
	n   int32
	qty int32
	// x holds what the extras say, by kind:
	//	evSale        promo (1 = true)
	//	evSnapshot    on_hand_start, pipeline_start, demand, lost
	//	evOrdered     order_up_to, realised_cost_7d, and 1 once it is known
	//	evEcomPlaced  promised date, in days after the order
	x    [4]int32
	kind evKind
	// carrier is the index into generator.carriers plus one; 0 is none.
	carrier uint8
	// loc is an e-commerce event's location: a region index, or locDC.
	loc uint8
	// back is the number of days from the order the event belongs to (the
	// PO of a transport event, the e-commerce order) to the event's day.
	back uint8
}

// evKind is a genEvent's kind: an EventType, with a store sale and an
// e-commerce order line told apart.
type evKind uint8

// The kinds of store events, then of e-commerce events (from evEcomPlaced on).
const (
	evDelayed evKind = iota
	evArrived
	evReceived
	evSale
	evLostSale
	evStockout
	evSnapshot
	evOrdered
	evDeparted
	evEcomPlaced
	evEcomApproved
	evEcomPicked
	evEcomShipped
	evEcomDelivered
	evEcomFailed
	evEcomReturned
	numEvKinds
)

var evKindTypes = [numEvKinds]EventType{
	evDelayed:       TransportDelayed,
	evArrived:       TransportArrived,
	evReceived:      ReplenishmentReceived,
	evSale:          OrderPlaced,
	evLostSale:      LostSale,
	evStockout:      Stockout,
	evSnapshot:      InventorySnapshot,
	evOrdered:       ReplenishmentOrdered,
	evDeparted:      TransportDeparted,
	evEcomPlaced:    OrderPlaced,
	evEcomApproved:  OrderApproved,
	evEcomPicked:    Picked,
	evEcomShipped:   Shipped,
	evEcomDelivered: Delivered,
	evEcomFailed:    DeliveryFailed,
	evEcomReturned:  Returned,
}

func (k evKind) eventType() EventType { return evKindTypes[k] }

const (
	noCarrier = 0
	locDC     = 255 // genEvent.loc of an e-commerce step at DC01
)

// compareGenEvents orders events as sortEvents orders their Events: by
// event_time, then event_id as a string.
func compareGenEvents(a, b genEvent) int {
	if c := cmp.Compare(a.t, b.t); c != 0 {
		return c
	}
	return compareSeqs(a.seq, b.seq)
}

// compareSeqs compares two event ids by their numbers, as strings: ids are
// zero-padded to nine digits, so below 10⁹ that is the numbers' order.
func compareSeqs(a, b int64) int {
	if a < 1e9 && b < 1e9 {
		return cmp.Compare(a, b)
	}
	var ba, bb [20]byte
	return bytes.Compare(appendPadded(ba[:0], a, 9), appendPadded(bb[:0], b, 9))
}

// appendPadded appends n in decimal, zero-padded to width, as %0*d does.
func appendPadded(dst []byte, n int64, width int) []byte {
	var buf [20]byte
	digits := strconv.AppendInt(buf[:0], n, 10)
	for range width - len(digits) {
		dst = append(dst, '0')
	}
	return append(dst, digits...)
}

// stamp is day's date as order ids spell it, YYYYMMDD.
func (g *generator) stamp(day int) string {
	if g.stamps[day] == "" {
		g.stamps[day] = g.cfg.Start.AddDate(0, 0, day).Format("20060102")
	}
	return g.stamps[day]
}

// event is e as it is written.
func (g *generator) event(e *genEvent) Event {
	day := int(e.t / usDay)
	g.idBuf = strconv.AppendUint(append(g.idBuf[:0], "ev-"...), g.cfg.Seed, 10)
	g.idBuf = appendPadded(append(g.idBuf, '-'), e.seq, 9)
	out := Event{
		EventID:   string(g.idBuf),
		EventTime: g.cfg.Start.Add(time.Duration(e.t) * time.Microsecond),
		EventType: string(e.kind.eventType()),
		Quantity:  float64(e.qty),
	}
	if e.carrier != noCarrier {
		out.Carrier = g.carriers[e.carrier-1]
	}
	if e.kind >= evEcomPlaced {
		return g.ecomEvent(e, day, out)
	}
	s := g.series[e.who]
	out.Location, out.SKU = s.Location, s.SKU
	po := func() string { return "PO-" + s.Location + "-" + s.SKU + "-" + g.stamp(day-int(e.back)) }
	switch e.kind {
	case evDelayed:
		out.OrderID = po()
		out.Extras = map[string]string{"delay_days": "1"}
	case evArrived, evReceived:
		out.OrderID = po()
	case evSale:
		out.Price = s.UnitPrice
		out.OrderID = "T-" + s.Location + "-" + s.SKU + "-" + g.stamp(day) + "-" + string(appendPadded(nil, int64(e.n)+1, 3))
		if e.x[0] == 1 {
			out.Extras = map[string]string{"promo": "true"}
		}
	case evLostSale:
		out.Price = s.UnitPrice
	case evSnapshot:
		out.Price = s.UnitCost
		out.Extras = map[string]string{
			"on_hand_start":  itoa(int(e.x[0])),
			"pipeline_start": itoa(int(e.x[1])),
			"demand":         itoa(int(e.x[2])),
			"lost":           itoa(int(e.x[3])),
		}
	case evOrdered:
		out.OrderID, out.Price = po(), s.UnitCost
		out.Extras = map[string]string{
			"policy":         s.Policy,
			"policy_param":   s.param,
			"lead_time_days": s.leadTime,
			"order_up_to":    itoa(int(e.x[0])),
			"source":         dcID,
		}
		if e.x[2] == 1 {
			out.Extras[ExtraRealisedCost] = itoa(int(e.x[1]))
		}
	case evDeparted:
		out.OrderID, out.Location = po(), dcID
		out.Extras = map[string]string{"destination": s.Location, "lead_time_days": s.leadTime}
	}
	return out
}

// ecomEvent completes out, the Event of e-commerce event e on day.
func (g *generator) ecomEvent(e *genEvent, day int, out Event) Event {
	ordered := day - int(e.back)
	out.OrderID = "EO-" + g.stamp(ordered) + "-" + string(appendPadded(nil, int64(e.n)+1, 4))
	out.SKU = g.skuIDs[e.who]
	out.Location = dcID
	if e.loc != locDC {
		out.Location = regions[e.loc]
	}
	switch e.kind {
	case evEcomPlaced:
		out.Price = g.prices[e.who]
		out.Extras = map[string]string{
			"promised_date": g.cfg.Start.AddDate(0, 0, ordered+int(e.x[0])).Format(time.DateOnly),
			"channel":       "ecom",
		}
	case evEcomReturned:
		out.Price = g.prices[e.who]
	}
	return out
}
