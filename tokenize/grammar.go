package tokenize

import (
	"fmt"
	"strconv"
	"strings"
)

// Special tokens. They get the last ids of the vocabulary, after the 256
// byte symbols and the merges, and are never produced by BPE merges.
const (
	DocStart = "<|doc|>"
	DocEnd   = "<|end|>"
)

// SpecialTokens lists the special tokens in id order.
var SpecialTokens = []string{DocStart, DocEnd}

// The inventory timeline grammar (one document per (location, SKU), one line per day):
//
//	inv loc=S01 sku=P003 lt=2\n
//	w=3 oh=12 pipe=6 dem=5 lost=0 pos=13 c7=38 up=21 ord=8\n
//	w=4 ...
//
// wrapped in DocStart ... DocEnd. Fields of a day, in order: w weekday
// (0=Monday), oh units on hand at the start of the day (after receipts),
// pipe units ordered but not yet received, dem units demanded, lost units of
// demand not served, pos the inventory position after the day's sales (oh
// minus units sold plus pipe, derived from the fields before it: what a
// base-stock policy orders up from), then the outcome c7, the cost the
// day's decision went on to realise over the seven days from the day its
// order is due on, days lt..lt+6 after it (holding plus lost sales,
// dataset.ExtraRealisedCost; left out when it is not known, for
// example when those days are after the train/val cutoff), and last the
// decision: up, the inventory position the day's order brings it up to
// (pos + ord), then ord, the units ordered at the end of the day, which
// arrive lt days later. The decision comes last so that a model can be
// prompted with everything before it and asked for it: a model states up
// and its order is up - pos (at least 0), the order-up-to level being the
// quantity a policy keeps steady where the order itself moves with every
// day's sales. c7 comes right before the decision so that a model can be
// conditioned on the outcome it should achieve (a low c7 asks for a good
// decision), in the manner of return-conditioned policies.

// InventoryHeader is the first line of an inventory timeline document.
type InventoryHeader struct {
	Location string
	SKU      string
	LeadTime int
}

// InventoryDay is one line of an inventory timeline.
type InventoryDay struct {
	Weekday  int
	OnHand   int
	Pipeline int
	Demand   int
	Lost     int
	// Cost7 is the decision's realised (or, in a prompt, targeted) cost over
	// the seven days from its order's due day on; it is rendered only when
	// HasCost7 is set.
	Cost7    int
	HasCost7 bool
	Order    int
}

// Position is the inventory position after the day's sales: on hand at the
// start of the day, less the units sold, plus the pipeline.
func (d InventoryDay) Position() int {
	return d.OnHand - (d.Demand - d.Lost) + d.Pipeline
}

// FormatHeader renders the header line, newline included.
func FormatHeader(h InventoryHeader) string {
	return fmt.Sprintf("inv loc=%s sku=%s lt=%d\n", h.Location, h.SKU, h.LeadTime)
}

// FormatDay renders a complete day line, newline included.
func FormatDay(d InventoryDay) string {
	return string(AppendDay(nil, d))
}

// AppendDay appends a complete day line, newline included, to b.
func AppendDay(b []byte, d InventoryDay) []byte {
	b = AppendDayPrompt(b, d)
	b = strconv.AppendInt(b, int64(d.Position()+d.Order), 10)
	b = append(b, " ord="...)
	b = strconv.AppendInt(b, int64(d.Order), 10)
	return append(b, '\n')
}

// FormatDayPrompt renders a day line up to and including "up=", so that the
// next tokens a model emits are the level it orders up to.
func FormatDayPrompt(d InventoryDay) string {
	return string(AppendDayPrompt(nil, d))
}

// AppendDayPrompt appends a day line up to and including "up=" to b.
func AppendDayPrompt(b []byte, d InventoryDay) []byte {
	field := func(name string, v int) {
		b = append(b, name...)
		b = strconv.AppendInt(b, int64(v), 10)
	}
	field("w=", d.Weekday)
	field(" oh=", d.OnHand)
	field(" pipe=", d.Pipeline)
	field(" dem=", d.Demand)
	field(" lost=", d.Lost)
	field(" pos=", d.Position())
	if d.HasCost7 {
		field(" c7=", d.Cost7)
	}
	return append(b, " up="...)
}

// The order journey grammar (one document per retail order, one line per
// distinct (step, day) in time order):
//
//	ord loc=RJ promised=5 carrier=C1\n
//	placed d=0\n
//	approved d=0\n
//	picked d=1\n
//	shipped d=1\n
//	delivered d=4\n
//
// The header carries the order's location (store or customer region), the
// promised delivery days (extras "promised_days" of order_placed) and last the
// carrier, the fulfilment decision; fields whose source events are not in the
// document are left out rather than guessed. Each step line is the event type
// without the "order_" prefix and d, whole UTC days since the order's first
// event. The outcome (delivered, delivery_failed, returned) comes last in
// time, so a model prompted with the header and the first steps is asked to
// predict how the journey ends. Several events of the same step and day
// (order lines of one order) collapse into one line.

// OrderHeader is the first line of an order journey document. Empty fields
// and a negative Promised are omitted.
type OrderHeader struct {
	Location string
	Promised int
	Carrier  string
}

// OrderStep is one line of an order journey.
type OrderStep struct {
	// Step is the event type with the "order_" prefix removed ("placed", "picked", ...).
	Step string
	// Day is whole UTC days since the order's first event.
	Day int
}

// FormatOrderHeader renders the order header line, newline included.
func FormatOrderHeader(h OrderHeader) string {
	var b strings.Builder
	b.WriteString("ord")
	if h.Location != "" {
		b.WriteString(" loc=" + h.Location)
	}
	if h.Promised >= 0 {
		fmt.Fprintf(&b, " promised=%d", h.Promised)
	}
	if h.Carrier != "" {
		b.WriteString(" carrier=" + h.Carrier)
	}
	b.WriteByte('\n')
	return b.String()
}

// FormatOrderStep renders a step line, newline included.
func FormatOrderStep(s OrderStep) string {
	return fmt.Sprintf("%s d=%d\n", s.Step, s.Day)
}

// The shipment grammar (one document per shipment, keyed by the OrderID of
// its transport events, one line per distinct leg event in time order):
//
//	shp from=DC01 to=S03 carrier=C01 lt=3\n
//	departed d=0\n
//	delayed d=3 days=1\n
//	arrived d=4\n
//
// The header carries the origin (Location of transport_departed), the
// destination (extras "destination" of transport_departed, else the Location
// of transport_delayed or transport_arrived, which happen there), the
// carrier, and last the planned lead time lt (extras "lead_time_days"), the
// delivery days a model can be prompted for. As in order journeys, fields
// whose source events are not in the document are left out rather than
// guessed. Each step line is the event type without the "transport_" prefix
// and d, whole UTC days since the shipment's first event (its departure);
// a delay line ends with days, the announced delay (extras "delay_days"),
// its outcome field. The arrival comes last in time, so a model prompted with
// the header and the departure is asked when the shipment arrives. Identical
// consecutive lines collapse into one.

// ShipmentHeader is the first line of a shipment document. Empty fields and
// a negative LeadTime are omitted.
type ShipmentHeader struct {
	From     string
	To       string
	Carrier  string
	LeadTime int
}

// ShipmentStep is one line of a shipment document.
type ShipmentStep struct {
	// Step is the event type with the "transport_" prefix removed
	// ("departed", "delayed", "arrived").
	Step string
	// Day is whole UTC days since the shipment's first event.
	Day int
	// DelayDays is the announced delay of a "delayed" step; negative omits it.
	DelayDays int
}

// FormatShipmentHeader renders the shipment header line, newline included.
func FormatShipmentHeader(h ShipmentHeader) string {
	var b strings.Builder
	b.WriteString("shp")
	if h.From != "" {
		b.WriteString(" from=" + h.From)
	}
	if h.To != "" {
		b.WriteString(" to=" + h.To)
	}
	if h.Carrier != "" {
		b.WriteString(" carrier=" + h.Carrier)
	}
	if h.LeadTime >= 0 {
		fmt.Fprintf(&b, " lt=%d", h.LeadTime)
	}
	b.WriteByte('\n')
	return b.String()
}

// FormatShipmentStep renders a step line, newline included.
func FormatShipmentStep(s ShipmentStep) string {
	if s.DelayDays >= 0 {
		return fmt.Sprintf("%s d=%d days=%d\n", s.Step, s.Day, s.DelayDays)
	}
	return fmt.Sprintf("%s d=%d\n", s.Step, s.Day)
}
