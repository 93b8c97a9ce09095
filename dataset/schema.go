package dataset

import (
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// SchemaVersion is the version of the canonical event schema. It is written
// into every canonical Parquet file's key/value metadata ("supplyline.schema_version")
// and into every ingest manifest. Bump it when a field changes meaning or type.
const SchemaVersion = 1

// EventType is one of a closed, documented set. See EventTypes.
type EventType string

// The canonical event types of schema v1, grouped by domain. Quantity and
// Price mean the following for each type (a dash means the field must be 0):
//
//	retail orders
//	  order_placed           units ordered, unit price        (store sale or e-commerce order line)
//	  order_approved         units, -
//	fulfilment
//	  picked                 units picked, -
//	  shipped                units shipped, -                 (carrier = who carries it)
//	  delivered              units delivered, -
//	  delivery_failed        units not delivered, -
//	  returned               units returned, unit refund
//	inventory
//	  inventory_snapshot     units on hand at end of day, unit cost
//	  stockout               units on hand (0), -
//	  lost_sale              units of demand not served, unit price
//	replenishment
//	  replenishment_ordered  units ordered from the DC, unit cost   (the decision)
//	  replenishment_received units received, -
//	transport
//	  transport_departed     units on the leg, -
//	  transport_arrived      units on the leg, -
//	  transport_delayed      units on the leg, -              (extras["delay_days"])
const (
	OrderPlaced           EventType = "order_placed"
	OrderApproved         EventType = "order_approved"
	Picked                EventType = "picked"
	Shipped               EventType = "shipped"
	Delivered             EventType = "delivered"
	DeliveryFailed        EventType = "delivery_failed"
	Returned              EventType = "returned"
	InventorySnapshot     EventType = "inventory_snapshot"
	Stockout              EventType = "stockout"
	LostSale              EventType = "lost_sale"
	ReplenishmentOrdered  EventType = "replenishment_ordered"
	ReplenishmentReceived EventType = "replenishment_received"
	TransportDeparted     EventType = "transport_departed"
	TransportArrived      EventType = "transport_arrived"
	TransportDelayed      EventType = "transport_delayed"
)

// EventTypes lists every valid EventType of schema v1 in a stable order.
var EventTypes = []EventType{
	OrderPlaced, OrderApproved, Picked, Shipped, Delivered, DeliveryFailed, Returned,
	InventorySnapshot, Stockout, LostSale,
	ReplenishmentOrdered, ReplenishmentReceived,
	TransportDeparted, TransportArrived, TransportDelayed,
}

var eventTypeSet = func() map[EventType]bool {
	m := make(map[EventType]bool, len(EventTypes))
	for _, t := range EventTypes {
		m[t] = true
	}
	return m
}()

// Valid reports whether t is in the closed set of schema v1.
func (t EventType) Valid() bool { return eventTypeSet[t] }

// Event is one canonical event, the row type of canonical Parquet files.
// Field names are the Parquet/Arrow column names. Entity keys that do not
// apply to an event type are empty strings, never null.
type Event struct {
	// EventID is unique across the whole dataset; duplicates are dropped on ingest.
	EventID string `parquet:"event_id"`
	// EventTime is UTC with microsecond precision.
	EventTime time.Time `parquet:"event_time,timestamp(microsecond)"`
	// EventType is one of EventTypes.
	EventType string `parquet:"event_type"`
	// OrderID is the retail order, purchase order or shipment the event belongs to.
	OrderID string `parquet:"order_id"`
	// SKU is the product.
	SKU string `parquet:"sku"`
	// Location is the store, distribution centre or customer region.
	Location string `parquet:"location"`
	// Carrier is the transport carrier, when one is involved.
	Carrier string `parquet:"carrier"`
	// Quantity is in units, finite and non-negative; see the table at EventType.
	Quantity float64 `parquet:"quantity"`
	// Price is per unit in the dataset's currency, finite and non-negative.
	Price float64 `parquet:"price"`
	// Extras keeps source columns the schema does not name, so nothing is dropped.
	Extras map[string]string `parquet:"extras"`
}

// ArrowSchema returns the canonical event schema v1 as an Arrow schema. It is
// the same layout as Event: the metadata carries the schema version.
func ArrowSchema() *arrow.Schema {
	md := arrow.NewMetadata([]string{"supplyline.schema_version"}, []string{fmt.Sprint(SchemaVersion)})
	return arrow.NewSchema([]arrow.Field{
		{Name: "event_id", Type: arrow.BinaryTypes.String},
		{Name: "event_time", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: "event_type", Type: arrow.BinaryTypes.String},
		{Name: "order_id", Type: arrow.BinaryTypes.String},
		{Name: "sku", Type: arrow.BinaryTypes.String},
		{Name: "location", Type: arrow.BinaryTypes.String},
		{Name: "carrier", Type: arrow.BinaryTypes.String},
		{Name: "quantity", Type: arrow.PrimitiveTypes.Float64},
		{Name: "price", Type: arrow.PrimitiveTypes.Float64},
		{Name: "extras", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String), Nullable: true},
	}, &md)
}
