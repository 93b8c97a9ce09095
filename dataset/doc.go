// Package dataset owns the canonical event schema and everything that
// produces canonical events: the synthetic retail world (Generate), ingest
// with validation, coercion, deduplication and quarantine (Ingest), and the
// reader the tokenizer uses (ReadEvents). It does not import Temporal.
//
// # Canonical event schema, version 1
//
// A canonical event table is Parquet whose rows are Event (the Go struct)
// and whose Arrow form is ArrowSchema(). Files carry the key/value metadata
// "supplyline.schema_version" = SchemaVersion. Ingested files live at
// OUT/events/date=YYYY-MM-DD/part-NNNNN.parquet, one partition per UTC day
// with parts numbered in input order and rows in input order (see Ingest;
// one part sorted by (event_time, event_id) for Generate's output). The
// columns:
//
// event_id (string, required). Unique across the dataset. Ingest keeps the
// first row with an id (files in sorted name order, then row order) and
// counts the rest as duplicates. Never empty.
//
// event_time (timestamp, microseconds, UTC, required). When the event
// happened. Ingest accepts [IngestConfig.MinTime, IngestConfig.MaxTime)
// and coerces timestamps of other units, integer epochs and RFC 3339 or
// "2006-01-02 15:04:05" strings, truncating to microseconds.
//
// event_type (string, required). One of EventTypes, a closed set; the table
// at EventType says what quantity and price mean for each.
//
// order_id (string). The retail order, purchase order or shipment the event
// belongs to; empty when none. Store sales are transactions "T-...",
// e-commerce orders "EO-...", replenishment orders and their shipments
// "PO-..." in generated data.
//
// sku (string). The product; empty when none.
//
// location (string). Where the event happens: a store ("S01"), a
// distribution centre ("DC01") or a customer region ("R-NORTH"). Inventory
// series are keyed by (location, sku).
//
// carrier (string). The transport carrier, when one is involved.
//
// quantity (double, required). Units, finite and non-negative.
//
// price (double, required). Per unit in the dataset's currency, finite and
// non-negative; 0 where the table at EventType has a dash.
//
// extras (map<string, string>, nullable). Everything else: source columns
// the schema does not name (ingest moves them here, so nothing is dropped)
// and the per-type details listed in gen.go (for example
// inventory_snapshot's on_hand_start, pipeline_start, demand and lost, and
// replenishment_ordered's policy, policy_param, lead_time_days and
// realised_cost_7d).
//
// # The synthetic world
//
// Generate writes the events of a simulated retail network, one file per
// day, and world.json (GenSummary): the config, every series' demand
// process and logged policy, and the cost that policy went on to realise.
// Each replenishment_ordered carries realised_cost_7d, the holding plus
// lost-sale cost of its series over the 7 days after the decision, priced
// with Costs (1 per unit on hand at the end of a day, 9 per unit of demand
// lost: eval's defaults), so a model can be conditioned on the outcome.
// GenConfig.ForEvents sizes a world for a number of events; memory stays
// bounded by the events of one day (plus the e-commerce journeys under
// way), whatever the number of days.
//
// Entity keys that do not apply are empty strings, never null. A change to
// a column's meaning or type bumps SchemaVersion.
//
// # Importers
//
// ImportOlist reads the Olist e-commerce CSV tables into order journeys;
// ImportMapped reads any CSV or Parquet table through a Mapping. Both write
// the layout Ingest writes (OUT/events, OUT/quarantine, OUT/manifest.json)
// through the same writer, plus OUT/import.json (ImportResult), so OUT/events
// can be given to Ingest. Every source row is accounted for: imported,
// rejected into the quarantine with file, row and reason, or (for joined
// tables) counted as an orphan.
//
// # Mapping files
//
// A mapping is a JSON object whose keys are canonical fields; each says
// where its field comes from in the user's table:
//
//	{
//	  "name": "shipments",                      optional; results say "mapped:shipments"
//	  "format": "csv",                          optional: csv or parquet; default by extension
//	  "event_id": {"template": "ship-{shipment}-{status}"},
//	  "event_time": {"column": "ts", "formats": ["rfc3339", "01/02/2006 15:04", "unix_ms"]},
//	  "event_type": {"column": "status", "values": {"dep": "transport_departed", "arr": "transport_arrived"}},
//	  "order_id": "shipment",
//	  "sku": {"value": "P001"},
//	  "location": "dock",
//	  "carrier": {"column": "carrier_name"},
//	  "quantity": "units",
//	  "price": {"value": 0},
//	  "extras": ["note", "*rest*"]
//	}
//
// event_id, event_time and event_type are required; the others default to
// empty (0 for quantity and price). A text field (event_id, order_id, sku,
// location, carrier) is a column name, or an object with exactly one of
// "column", "value" (a constant) or "template" ({column} placeholders,
// {_row} for the 0-based data row; an event_id template with an empty
// column rejects the row). quantity and price take a column or a numeric
// "value". event_time takes a column and "formats", tried in order: Go
// layouts (UTC unless the layout has a zone), "rfc3339", "unix" (seconds),
// "unix_ms", "unix_us", "unix_ns" or "auto" (Ingest's coercion; the
// default); native Parquet timestamps need none. event_type is a constant
// {"value": "order_placed"} or a column with a "values" map from the
// table's values to event types (a value outside the map rejects the row);
// a bare column must hold event type names. extras is a list of columns,
// kept under their own names, or an object from extras key to column; the
// entry "*rest*" keeps every column no other field uses. Empty cells are
// not kept in extras.
//
// Mapping.Validate checks the mapping against the table's header and
// reports every problem at once: unknown fields, missing required fields,
// columns not in the header, layouts that are not Go layouts or lack a
// year, event types outside schema v1, fields given two sources.
//
// # Errors
//
// The error values and types are listed at ErrInvalidConfig in errors.go.
package dataset
