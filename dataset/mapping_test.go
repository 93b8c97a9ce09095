package dataset_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/supplyline/supplyline/dataset"
)

// mappingFields returns the Field of every *MappingError joined in err.
func mappingFields(t *testing.T, err error) []string {
	t.Helper()
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else if err != nil {
		errs = []error{err}
	}
	var fields []string
	for _, e := range errs {
		var me *dataset.MappingError
		if !errors.As(e, &me) {
			t.Errorf("%v is not a *MappingError", e)
			continue
		}
		fields = append(fields, me.Field)
	}
	return fields
}

func TestMappingValidate(t *testing.T) {
	header := []string{"id", "ts", "status", "qty", "cost", "store", "note"}
	cases := []struct {
		name string
		json string
		// want are the fields of every problem, in report order; none means valid.
		want []string
		// msg is a text one of the problems must contain.
		msg string
	}{
		{name: "shorthand columns", json: `{"event_id": "id", "event_time": "ts", "event_type": "status"}`},
		{name: "full", json: `{"name": "n", "format": "csv",
			"event_id": {"template": "x-{id}-{_row}"},
			"event_time": {"column": "ts", "formats": ["2006-01-02", "unix_ms", "rfc3339", "auto"]},
			"event_type": {"column": "status", "values": {"s": "order_placed", "d": "delivered"}},
			"order_id": {"column": "id"}, "sku": {"value": "P1"}, "location": "store", "carrier": {"template": "c-{store}"},
			"quantity": "qty", "price": {"value": 2.5}, "extras": ["note", "*rest*"]}`},
		{name: "constant type, renamed extras", json: `{"event_id": "id", "event_time": "ts", "event_type": {"value": "lost_sale"}, "extras": {"comment": "note"}}`},

		{name: "empty", json: `{}`, want: []string{"event_id", "event_time", "event_type"}, msg: "required"},
		{name: "unknown canonical field", json: `{"event_id": "id", "event_time": "ts", "event_type": "status", "weight": "qty"}`,
			want: []string{"weight"}, msg: "unknown field"},
		{name: "unknown source column", json: `{"event_id": "ident", "event_time": "ts", "event_type": "status"}`,
			want: []string{"event_id"}, msg: `column "ident" is not in the input header`},
		{name: "strftime layout", json: `{"event_id": "id", "event_time": {"column": "ts", "formats": ["%Y-%m-%d"]}, "event_type": "status"}`,
			want: []string{"event_time.formats[0]"}, msg: "not a Go time layout"},
		{name: "layout without year", json: `{"event_id": "id", "event_time": {"column": "ts", "formats": ["01/02 15:04"]}, "event_type": "status"}`,
			want: []string{"event_time.formats[0]"}, msg: "no year"},
		{name: "unknown event type in value map", json: `{"event_id": "id", "event_time": "ts", "event_type": {"column": "status", "values": {"x": "sold"}}}`,
			want: []string{`event_type.values["x"]`}, msg: `"sold" is not a schema v1 event type`},
		{name: "unknown constant event type", json: `{"event_id": "id", "event_time": "ts", "event_type": {"value": "sold"}}`,
			want: []string{"event_type.value"}},
		{name: "constant id", json: `{"event_id": {"value": "a"}, "event_time": "ts", "event_type": "status"}`,
			want: []string{"event_id"}, msg: "same id"},
		{name: "template with only the row number", json: `{"event_id": {"template": "a-{_row}x"}, "event_time": "ts", "event_type": "status"}`},
		{name: "unclosed template", json: `{"event_id": {"template": "a-{id"}, "event_time": "ts", "event_type": "status"}`,
			want: []string{"event_id.template"}, msg: "unclosed"},
		{name: "two sources", json: `{"event_id": {"column": "id", "template": "{id}"}, "event_time": "ts", "event_type": "status"}`,
			want: []string{"event_id"}, msg: "exactly one"},
		{name: "negative constant quantity", json: `{"event_id": "id", "event_time": "ts", "event_type": "status", "quantity": {"value": -1}}`,
			want: []string{"quantity.value"}},
		{name: "template for price", json: `{"event_id": "id", "event_time": "ts", "event_type": "status", "price": {"template": "{cost}"}}`,
			want: []string{"price"}},
		{name: "wrong JSON type", json: `{"event_id": 3, "event_time": "ts", "event_type": "status"}`,
			want: []string{"event_id", "event_id"}},
		{name: "unknown key in a field", json: `{"event_id": {"colum": "id"}, "event_time": "ts", "event_type": "status"}`,
			want: []string{"event_id", "event_id"}, msg: `unknown field "colum"`},
		{name: "bad format", json: `{"format": "xlsx", "event_id": "id", "event_time": "ts", "event_type": "status"}`,
			want: []string{"format"}},
		{name: "extras", json: `{"event_id": "id", "event_time": "ts", "event_type": "status", "extras": ["note", "nope", "note"]}`,
			want: []string{"extras[1]", "extras[2]"}},
		{
			// Every problem at once, in one error.
			name: "many problems",
			json: `{"event_id": "ident", "event_time": {"column": "when", "formats": ["YYYY-MM-DD", "unix_ms"]},
				"event_type": {"column": "status", "values": {"s": "sold"}}, "weight": 1, "quantity": "amount"}`,
			want: []string{"weight", "event_id", "quantity", "event_time", "event_time.formats[0]", `event_type.values["s"]`},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := dataset.ParseMapping([]byte(c.json))
			if err != nil {
				t.Fatalf("ParseMapping: %v", err)
			}
			err = m.Validate(header)
			if got := mappingFields(t, err); !slices.Equal(got, c.want) {
				t.Fatalf("problems %q, want %q; error:\n%v", got, c.want, err)
			}
			if c.want == nil {
				return
			}
			if !errors.Is(err, dataset.ErrInvalidMapping) || !errors.Is(err, dataset.ErrInvalidConfig) {
				t.Errorf("errors.Is ErrInvalidMapping/ErrInvalidConfig false for %v", err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not contain %q", err, c.msg)
			}
		})
	}
	t.Run("not JSON", func(t *testing.T) {
		if _, err := dataset.ParseMapping([]byte(`{"event_id": `)); err == nil {
			t.Error("no error for truncated JSON")
		}
	})
}

func ExampleMapping_Validate() {
	m, _ := dataset.ParseMapping([]byte(`{
		"event_id": "id",
		"event_time": {"column": "ts", "formats": ["YYYY-MM-DD"]},
		"event_type": {"value": "sold"}
	}`))
	fmt.Println(m.Validate([]string{"order", "ts"}))
	// Output:
	// mapping: event_id: column "id" is not in the input header (order, ts)
	// mapping: event_time.formats[0]: "YYYY-MM-DD" is not a Go time layout (write the reference time, e.g. "2006-01-02 15:04:05") nor one of auto, rfc3339, unix, unix_ms, unix_us, unix_ns
	// mapping: event_type.value: "sold" is not a schema v1 event type
}

func importMapped(t *testing.T, mappingJSON, input string) (dataset.ImportResult, string) {
	t.Helper()
	m, err := dataset.ParseMapping([]byte(mappingJSON))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	res, err := dataset.ImportMapped(context.Background(), dataset.MappedConfig{Mapping: m, Input: input, OutDir: out})
	if err != nil {
		t.Fatalf("ImportMapped: %v", err)
	}
	if err := res.Reconcile(); err != nil {
		t.Fatal(err)
	}
	return res, out
}

func TestImportMappedCSV(t *testing.T) {
	m, err := dataset.ReadMapping(filepath.Join("testdata", "mapped", "shipments.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	res, err := dataset.ImportMapped(context.Background(), dataset.MappedConfig{Mapping: m, Input: filepath.Join("testdata", "mapped", "shipments.csv"), OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	if res.Source != "mapped:shipments" || res.RowsIn != 10 || res.Imported != 3 || res.Rejected != 7 || res.Events != 3 {
		t.Errorf("source %q rows in %d imported %d rejected %d events %d, want mapped:shipments 10 3 7 3",
			res.Source, res.RowsIn, res.Imported, res.Rejected, res.Events)
	}
	evs, err := dataset.ReadEvents(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	want := []dataset.Event{
		{EventID: "ship-SH-1-dep", EventTime: time.Date(2024, 3, 1, 7, 0, 0, 0, time.UTC), EventType: "transport_departed",
			OrderID: "SH-1", Location: "DC01", Carrier: "acme", Quantity: 10, Price: 2.5, Extras: map[string]string{"note": "first"}},
		{EventID: "ship-SH-2-arr", EventTime: time.Date(2024, 3, 2, 10, 15, 0, 0, time.UTC), EventType: "transport_arrived",
			OrderID: "SH-2", Location: "S01", Carrier: "acme", Quantity: 4, Price: 0},
		{EventID: "ship-SH-3-dep", EventTime: time.Date(2024, 3, 2, 12, 0, 0, 0, time.UTC), EventType: "transport_departed",
			OrderID: "SH-3", Location: "DC02", Carrier: "fastco", Quantity: 7, Price: 1.25, Extras: map[string]string{"note": "unix seconds"}},
	}
	if got := normalize(evs); !equalEvents(got, want) {
		t.Errorf("events\n got %+v\nwant %+v", got, want)
	}
	wantRejects := []struct {
		row    int64
		reason string
	}{
		{1, "event_id: ship-SH-1-dep duplicates row 0"},
		{4, `event_time: "yesterday" matches none of the formats`},
		{5, `event_type: "lost" is not in the mapping's values`},
		{6, "quantity: -2 is negative"},
		{7, `quantity: "many" is not a number`},
		{8, `event_id: template column "shipment" is empty`},
		{9, "has 3 fields, the header has 8"},
	}
	q := readQuarantine(t, out)
	if len(q) != len(wantRejects) {
		t.Fatalf("%d quarantined, want %d: %+v", len(q), len(wantRejects), q)
	}
	for i, w := range wantRejects {
		prefix := fmt.Sprintf("row %d of shipments.csv: ", w.row)
		if q[i].SourceRow != w.row || !strings.HasPrefix(q[i].Reason, prefix) || !strings.Contains(q[i].Reason, w.reason) {
			t.Errorf("reject %d: row %d %q, want row %d %q", i, q[i].SourceRow, q[i].Reason, w.row, w.reason)
		}
	}
	if q[1].EventTime != "yesterday" || q[1].Extras["note"] != "bad time" {
		t.Errorf("rejected row not kept as read: %+v", q[1])
	}

	t.Run("invalid mapping reads nothing", func(t *testing.T) {
		bad := m
		bad.EventTime = &dataset.TimeMap{Column: "when", Formats: []string{"DD/MM/YYYY"}}
		out := t.TempDir()
		_, err := dataset.ImportMapped(context.Background(), dataset.MappedConfig{Mapping: bad, Input: filepath.Join("testdata", "mapped", "shipments.csv"), OutDir: out})
		if got := mappingFields(t, err); !slices.Equal(got, []string{"event_time", "event_time.formats[0]"}) {
			t.Errorf("problems %q, want event_time and its format: %v", got, err)
		}
		if entries, _ := os.ReadDir(out); len(entries) != 0 {
			t.Errorf("output written for an invalid mapping: %v", entries)
		}
	})
}

func equalEvents(a, b []dataset.Event) bool {
	return slices.EqualFunc(a, b, func(x, y dataset.Event) bool {
		return x.EventID == y.EventID && x.EventTime.Equal(y.EventTime) && x.EventType == y.EventType && x.OrderID == y.OrderID &&
			x.SKU == y.SKU && x.Location == y.Location && x.Carrier == y.Carrier && x.Quantity == y.Quantity && x.Price == y.Price &&
			fmt.Sprint(x.Extras) == fmt.Sprint(y.Extras)
	})
}

// TestImportMappedOlistOrders maps the real Olist orders file as a user's
// table: one order_placed per order at its purchase time, with the promised
// date in extras. It must agree with the Olist importer's order_placed.
func TestImportMappedOlistOrders(t *testing.T) {
	sample := olistSample(t)
	const mapping = `{
		"name": "olist-orders",
		"event_id": {"template": "olist-{order_id}-placed"},
		"event_time": {"column": "order_purchase_timestamp", "formats": ["2006-01-02 15:04:05"]},
		"event_type": {"value": "order_placed"},
		"order_id": "order_id",
		"quantity": {"value": 1},
		"extras": {"promised_date": "order_estimated_delivery_date", "order_status": "order_status", "customer_id": "customer_id"}
	}`
	res, out := importMapped(t, mapping, filepath.Join(sample, dataset.OlistOrdersFile))
	oc, orders := readCSVTable(t, filepath.Join(sample, dataset.OlistOrdersFile))
	if res.RowsIn != int64(len(orders)) || res.Imported != res.RowsIn || res.Rejected != 0 {
		t.Errorf("rows in %d imported %d rejected %d, want %d %d 0", res.RowsIn, res.Imported, res.Rejected, len(orders), len(orders))
	}
	evs, err := dataset.ReadEvents(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	byOrder := map[string]dataset.Event{}
	for _, e := range evs {
		if e.EventType != string(dataset.OrderPlaced) || e.Quantity != 1 {
			t.Fatalf("event %+v is not an order_placed of 1", e)
		}
		byOrder[e.OrderID] = e
	}
	if len(byOrder) != len(orders) {
		t.Fatalf("%d orders in the output, want %d", len(byOrder), len(orders))
	}
	for _, r := range orders {
		e := byOrder[r[oc["order_id"]]]
		at, err := time.Parse(time.DateTime, r[oc["order_purchase_timestamp"]])
		if err != nil {
			t.Fatal(err)
		}
		if !e.EventTime.Equal(at) || e.Extras["promised_date"] != r[oc["order_estimated_delivery_date"]] || e.Extras["order_status"] != r[oc["order_status"]] {
			t.Fatalf("order %s: %+v, want time %v and the source's promised date and status", r[oc["order_id"]], e, at)
		}
	}

	// The Olist importer's order_placed events have the same times.
	olist, olistOut := importOlist(t, sample)
	oevs, err := dataset.ReadEvents(context.Background(), olistOut)
	if err != nil {
		t.Fatal(err)
	}
	var placed int64
	for _, e := range oevs {
		if e.EventType == string(dataset.OrderPlaced) {
			placed++
			if !byOrder[e.OrderID].EventTime.Equal(e.EventTime) {
				t.Errorf("order %s placed at %v by the Olist importer, %v by the mapping", e.OrderID, e.EventTime, byOrder[e.OrderID].EventTime)
			}
		}
	}
	if placed != olist.Imported || placed != res.Imported {
		t.Errorf("%d placed by the Olist importer (imported %d), %d by the mapping", placed, olist.Imported, res.Imported)
	}
}

// shipmentRow is a small Parquet table of a user's, with native types.
type shipmentRow struct {
	Ref     string    `parquet:"ref"`
	Stamp   int64     `parquet:"stamp_ms"`
	At      time.Time `parquet:"at,timestamp(millisecond)"`
	Kind    string    `parquet:"kind"`
	Units   int32     `parquet:"units"`
	Cost    float64   `parquet:"cost"`
	Site    string    `parquet:"site"`
	Comment string    `parquet:"comment"`
}

func TestImportMappedParquet(t *testing.T) {
	base := time.Date(2024, 5, 1, 6, 0, 0, 0, time.UTC)
	rows := []shipmentRow{
		{"R1", base.UnixMilli(), base, "out", 5, 1.5, "DC01", "ok"},
		{"R2", base.Add(90 * time.Minute).UnixMilli(), base.Add(90 * time.Minute), "in", 5, 0, "S01", ""},
		{"R3", base.Add(time.Hour).UnixMilli(), base.Add(time.Hour), "gone", 1, 0, "S01", "unknown kind"},
		{"R4", base.Add(2 * time.Hour).UnixMilli(), base.Add(2 * time.Hour), "in", -3, 0, "S02", "negative"},
	}
	in := filepath.Join(t.TempDir(), "moves.parquet")
	writeRows(t, in, rows)

	cases := []struct {
		name, timeMap string
	}{
		{"unix_ms column", `{"column": "stamp_ms", "formats": ["unix_ms"]}`},
		{"native timestamp column", `"at"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mapping := `{"event_id": "ref", "event_time": ` + c.timeMap + `,
				"event_type": {"column": "kind", "values": {"out": "replenishment_ordered", "in": "replenishment_received"}},
				"sku": {"value": "P001"}, "location": "site", "quantity": "units", "price": "cost", "extras": ["*rest*"]}`
			res, out := importMapped(t, mapping, in)
			if res.RowsIn != 4 || res.Imported != 2 || res.Rejected != 2 {
				t.Errorf("rows in %d imported %d rejected %d, want 4 2 2", res.RowsIn, res.Imported, res.Rejected)
			}
			evs, err := dataset.ReadEvents(context.Background(), out)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 2 {
				t.Fatalf("%d events, want 2", len(evs))
			}
			e := evs[0]
			if e.EventID != "R1" || !e.EventTime.Equal(base) || e.EventType != "replenishment_ordered" || e.SKU != "P001" ||
				e.Location != "DC01" || e.Quantity != 5 || e.Price != 1.5 || e.Extras["comment"] != "ok" {
				t.Errorf("first event %+v", e)
			}
			// *rest* keeps the columns no other field uses, and only those.
			for k := range e.Extras {
				if k != "comment" && k != "at" && k != "stamp_ms" {
					t.Errorf("extras has %q, which a field uses", k)
				}
			}
			if evs[1].EventID != "R2" || !evs[1].EventTime.Equal(base.Add(90*time.Minute)) {
				t.Errorf("second event %+v", evs[1])
			}
			q := readQuarantine(t, out)
			if len(q) != 2 || !strings.Contains(q[0].Reason, `"gone" is not in the mapping's values`) || !strings.Contains(q[1].Reason, "quantity: -3 is negative") {
				t.Errorf("quarantine %+v", q)
			}
		})
	}
}
