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
// OUT/events/date=YYYY-MM-DD/part-00000.parquet, one partition per UTC day,
// rows sorted by (event_time, event_id). The columns:
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
// replenishment_ordered's policy, policy_param and lead_time_days).
//
// Entity keys that do not apply are empty strings, never null. A change to
// a column's meaning or type bumps SchemaVersion.
//
// # Errors
//
// The error values and types are listed at ErrInvalidConfig in errors.go.
package dataset
