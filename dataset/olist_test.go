package dataset_test

import (
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/supplyline/supplyline/dataset"
)

// olistSample returns the real Olist sample directory, ../shared/data/olist-sample
// relative to the repository root, or skips the test when it is absent.
func olistSample(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("Olist sample: no go.mod above the test's directory, cannot find the repository root")
		}
		dir = parent
	}
	sample := filepath.Join(dir, "..", "shared", "data", "olist-sample")
	if _, err := os.Stat(filepath.Join(sample, dataset.OlistOrdersFile)); err != nil {
		t.Skipf("Olist sample absent (%v): put the Olist CSV files in %s to run this test", err, sample)
	}
	return sample
}

// readCSVTable reads a CSV file independently of the importer: header, then
// rows with every field trimmed.
func readCSVTable(t *testing.T, path string) (map[string]int, [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[strings.TrimSpace(h)] = i
	}
	for _, rec := range recs[1:] {
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
	}
	return col, recs[1:]
}

func importOlist(t *testing.T, dir string) (dataset.ImportResult, string) {
	t.Helper()
	out := t.TempDir()
	res, err := dataset.ImportOlist(context.Background(), dataset.OlistConfig{Dir: dir, OutDir: out})
	if err != nil {
		t.Fatalf("ImportOlist: %v", err)
	}
	if err := res.Reconcile(); err != nil {
		t.Fatal(err)
	}
	return res, out
}

// journeys groups events by order id, each in canonical order.
func journeys(evs []dataset.Event) map[string][]dataset.Event {
	m := map[string][]dataset.Event{}
	for _, e := range evs {
		m[e.OrderID] = append(m[e.OrderID], e)
	}
	return m
}

func placedOf(t *testing.T, j []dataset.Event) dataset.Event {
	t.Helper()
	for _, e := range j {
		if e.EventType == string(dataset.OrderPlaced) {
			return e
		}
	}
	t.Fatalf("journey %v has no order_placed", j)
	return dataset.Event{}
}

// olistFixture lays out the hand-written fixture in testdata/olist-fixture
// under the Olist file names in a temporary directory. It is stored under
// other names so that nothing in the repository looks like a copy of the
// shared Olist data.
func olistFixture(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	for name, table := range map[string]string{"orders.txt": dataset.OlistOrdersFile, "order_items.txt": dataset.OlistItemsFile,
		"order_payments.txt": dataset.OlistPaymentsFile, "customers.txt": dataset.OlistCustomersFile} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, table), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestImportOlistFixture(t *testing.T) {
	res, out := importOlist(t, olistFixture(t, filepath.Join("testdata", "olist-fixture")))

	wantTables := []dataset.TableCounts{
		{Table: dataset.OlistOrdersFile, Rows: 9, Used: 5, Orphans: 0, Rejected: 4},
		{Table: dataset.OlistItemsFile, Rows: 6, Used: 4, Orphans: 1, Rejected: 1},
		{Table: dataset.OlistPaymentsFile, Rows: 4, Used: 3, Orphans: 0, Rejected: 1},
		{Table: dataset.OlistCustomersFile, Rows: 3, Used: 2, Orphans: 1, Rejected: 0},
	}
	if !slices.Equal(res.Tables, wantTables) {
		t.Errorf("tables\n got %+v\nwant %+v", res.Tables, wantTables)
	}
	if res.RowsIn != 9 || res.Imported != 5 || res.Rejected != 6 || res.MissingJoins != 4 {
		t.Errorf("rows in %d imported %d rejected %d missing joins %d, want 9 5 6 4", res.RowsIn, res.Imported, res.Rejected, res.MissingJoins)
	}
	wantBy := map[string]int64{"items": 2, "payments": 3, "customer": 3}
	for k, v := range wantBy {
		if res.MissingJoinsBy[k] != v {
			t.Errorf("missing joins by %s = %d, want %d (all %v)", k, res.MissingJoinsBy[k], v, res.MissingJoinsBy)
		}
	}
	wantViolations := []dataset.TimeOrderViolation{{OrderID: "ord-d", Detail: "approved 2018-01-06T08:00:00Z > shipped 2018-01-05T20:00:00Z"}}
	if !slices.Equal(res.TimeOrderViolations, wantViolations) {
		t.Errorf("violations %+v, want %+v", res.TimeOrderViolations, wantViolations)
	}

	// Every reject names its file, row and reason, and is in the quarantine.
	wantRejects := []struct {
		file   string
		row    int64
		reason string
	}{
		{dataset.OlistOrdersFile, 4, `order_purchase_timestamp: "2018-13-45 08:00:00" is not a "2006-01-02 15:04:05" timestamp`},
		{dataset.OlistOrdersFile, 5, "order_id: empty"},
		{dataset.OlistOrdersFile, 6, "order_id: ord-a is a duplicate of the order at row 0"},
		{dataset.OlistOrdersFile, 8, "has 5 fields, the header has 8"},
		{dataset.OlistItemsFile, 3, "price: -5 is negative"},
		{dataset.OlistPaymentsFile, 2, `payment_value: "abc" is not a number`},
	}
	q := readQuarantine(t, out)
	if len(q) != len(wantRejects) || len(res.Rejects) != len(wantRejects) {
		t.Fatalf("%d quarantined, %d rejects, want %d: %+v", len(q), len(res.Rejects), len(wantRejects), q)
	}
	for i, w := range wantRejects {
		got := q[i]
		prefix := "row " + strconv.FormatInt(w.row, 10) + " of " + w.file + ": "
		if got.SourceFile != w.file || got.SourceRow != w.row || !strings.HasPrefix(got.Reason, prefix) || !strings.Contains(got.Reason, w.reason) {
			t.Errorf("reject %d = %s row %d %q, want %s row %d containing %q", i, got.SourceFile, got.SourceRow, got.Reason, w.file, w.row, w.reason)
		}
		if got.Extras["source_line"] != strconv.FormatInt(w.row+2, 10) {
			t.Errorf("reject %d: source_line %q, want %d", i, got.Extras["source_line"], w.row+2)
		}
	}
	if q[0].Extras["order_purchase_timestamp"] != "2018-13-45 08:00:00" || q[0].OrderID != "ord-e" {
		t.Errorf("rejected order row not kept as it was: %+v", q[0])
	}

	evs, err := dataset.ReadEvents(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(evs)) != res.Events || res.Events != 16 {
		t.Errorf("%d events read, result says %d, want 16", len(evs), res.Events)
	}
	js := journeys(evs)
	ts := func(s string) time.Time {
		v, err := time.Parse(time.DateTime, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		order  string
		steps  []step
		qty    float64
		price  float64
		sku    string
		extras map[string]string
		absent []string
	}{
		{
			// Quoted id in orders, unquoted and quoted in items and payments: all join.
			order: "ord-a",
			steps: []step{
				{dataset.OrderPlaced, "2018-01-02 10:00:00", "SP", ""},
				{dataset.OrderApproved, "2018-01-02 10:30:00", "SP", ""},
				{dataset.Shipped, "2018-01-03 12:00:00", "", dataset.OlistCarrier},
				{dataset.Delivered, "2018-01-06 15:00:00", "SP", dataset.OlistCarrier},
			},
			qty: 2, price: 15.25,
			extras: map[string]string{
				"promised_date": "2018-01-12", "promised_days": "10", "order_value": "30.50", "freight_value": "5.00",
				"items": "2", "products": "prod-1,prod-2", "sellers": "sell-1", "payment_type": "credit_card+voucher",
				"payment_value": "36.50", "payment_installments": "3", "payments": "2", "customer_city": "sao paulo",
				"customer_zip_code_prefix": "01001", "order_status": "delivered",
			},
			absent: []string{"missing_joins", "time_order_violation"},
		},
		{
			// Canceled after shipping: delivery_failed at the estimated date.
			order: "ord-b",
			steps: []step{
				{dataset.OrderPlaced, "2018-01-03 09:00:00", "", ""},
				{dataset.OrderApproved, "2018-01-03 09:10:00", "", ""},
				{dataset.Shipped, "2018-01-04 08:00:00", "", dataset.OlistCarrier},
				{dataset.DeliveryFailed, "2018-01-10 00:00:00", "", dataset.OlistCarrier},
			},
			qty: 1, price: 10.5, sku: "prod-1",
			extras: map[string]string{"missing_joins": "payments,customer", "order_status": "canceled", "promised_days": "7"},
		},
		{
			// Unavailable, never shipped: placed only.
			order: "ord-c",
			steps: []step{{dataset.OrderPlaced, "2018-01-04 23:59:59", "", ""}},
			qty:   1, price: 7.25, sku: "prod-4",
			extras: map[string]string{"missing_joins": "customer", "promised_days": "16", "freight_value": "0.00"},
		},
		{
			// Approved after shipped in the source: kept as is, marked.
			order: "ord-d",
			steps: []step{
				{dataset.OrderPlaced, "2018-01-05 08:00:00", "RJ", ""},
				{dataset.Shipped, "2018-01-05 20:00:00", "", dataset.OlistCarrier},
				{dataset.OrderApproved, "2018-01-06 08:00:00", "RJ", ""},
				{dataset.Delivered, "2018-01-09 10:00:00", "RJ", dataset.OlistCarrier},
			},
			extras: map[string]string{"missing_joins": "items,payments", "time_order_violation": "approved>shipped", "customer_state": "RJ"},
			absent: []string{"items", "order_value"},
		},
		{
			// Space around the id, no estimated date.
			order: "ord-g",
			steps: []step{
				{dataset.OrderPlaced, "2018-01-07 12:00:00", "", ""},
				{dataset.OrderApproved, "2018-01-07 13:00:00", "", ""},
				{dataset.Shipped, "2018-01-08 12:00:00", "", dataset.OlistCarrier},
			},
			extras: map[string]string{"missing_joins": "items,payments,customer", "order_status": "shipped"},
			absent: []string{"promised_date", "promised_days"},
		},
	}
	if len(js) != len(cases) {
		t.Errorf("%d journeys, want %d", len(js), len(cases))
	}
	for _, c := range cases {
		t.Run(c.order, func(t *testing.T) {
			j := js[c.order]
			if len(j) != len(c.steps) {
				t.Fatalf("%d events, want %d: %+v", len(j), len(c.steps), j)
			}
			for i, s := range c.steps {
				e := j[i]
				if e.EventType != string(s.typ) || !e.EventTime.Equal(ts(s.at)) || e.Location != s.loc || e.Carrier != s.car {
					t.Errorf("step %d = %s %v loc %q carrier %q, want %s %s loc %q carrier %q",
						i, e.EventType, e.EventTime, e.Location, e.Carrier, s.typ, s.at, s.loc, s.car)
				}
				if e.EventTime.Location() != time.UTC {
					t.Errorf("step %d time %v is not UTC", i, e.EventTime)
				}
				if e.Quantity != c.qty || e.SKU != c.sku {
					t.Errorf("step %d quantity %v sku %q, want %v %q", i, e.Quantity, e.SKU, c.qty, c.sku)
				}
				if want := "olist-" + c.order + "-" + strconv.Itoa(journeyPos(c.steps, i)) + "-" + strings.TrimPrefix(string(s.typ), "order_"); e.EventID != want {
					t.Errorf("step %d id %q, want %q", i, e.EventID, want)
				}
			}
			p := placedOf(t, j)
			if p.Price != c.price {
				t.Errorf("placed price %v, want %v", p.Price, c.price)
			}
			for k, v := range c.extras {
				if p.Extras[k] != v {
					t.Errorf("extras[%s] = %q, want %q", k, p.Extras[k], v)
				}
			}
			for _, k := range c.absent {
				if v, ok := p.Extras[k]; ok {
					t.Errorf("extras[%s] = %q, want absent", k, v)
				}
			}
		})
	}
}

// step is one expected journey step.
type step struct {
	typ      dataset.EventType
	at       string
	loc, car string
}

// journeyPos is the 1-based place of steps[i] in journey order (placed,
// approved, shipped, then delivered or delivery_failed), which need not be
// its place in time order.
func journeyPos(steps []step, i int) int {
	order := []dataset.EventType{dataset.OrderPlaced, dataset.OrderApproved, dataset.Shipped, dataset.Delivered, dataset.DeliveryFailed}
	pos := 0
	for _, typ := range order {
		for _, s := range steps {
			if s.typ == typ {
				pos++
				if typ == steps[i].typ {
					return pos
				}
			}
		}
	}
	return -1
}

func TestImportOlistSample(t *testing.T) {
	sample := olistSample(t)
	start := time.Now()
	res, out := importOlist(t, sample)
	elapsed := time.Since(start)
	var rowsAll int64
	for _, tc := range res.Tables {
		rowsAll += tc.Rows
	}
	t.Logf("imported %d orders (%d events) from %d CSV rows in %v: %.0f rows/s; rejected %d; missing joins %v; time-order violations %d",
		res.Imported, res.Events, rowsAll, elapsed, float64(rowsAll)/elapsed.Seconds(), res.Rejected, res.MissingJoinsBy, len(res.TimeOrderViolations))

	// Independent reading of the source tables.
	oc, orders := readCSVTable(t, filepath.Join(sample, dataset.OlistOrdersFile))
	ids := map[string]bool{}
	for _, r := range orders {
		ids[r[oc["order_id"]]] = true
	}
	if res.RowsIn != int64(len(orders)) || res.Imported != int64(len(ids)) || res.Rejected != 0 {
		t.Errorf("rows in %d imported %d rejected %d; the orders file has %d rows, %d distinct ids and no bad row",
			res.RowsIn, res.Imported, res.Rejected, len(orders), len(ids))
	}
	ic, items := readCSVTable(t, filepath.Join(sample, dataset.OlistItemsFile))
	itemCount := map[string]int{}
	for _, r := range items {
		itemCount[r[ic["order_id"]]]++
	}
	pc, pays := readCSVTable(t, filepath.Join(sample, dataset.OlistPaymentsFile))
	paid := map[string]bool{}
	for _, r := range pays {
		paid[r[pc["order_id"]]] = true
	}
	cc, custs := readCSVTable(t, filepath.Join(sample, dataset.OlistCustomersFile))
	known := map[string]bool{}
	for _, r := range custs {
		known[r[cc["customer_id"]]] = true
	}
	wantMissing := map[string]string{}
	var nMissing int64
	for _, r := range orders {
		var m []string
		id := r[oc["order_id"]]
		if itemCount[id] == 0 {
			m = append(m, "items")
		}
		if !paid[id] {
			m = append(m, "payments")
		}
		if !known[r[oc["customer_id"]]] {
			m = append(m, "customer")
		}
		wantMissing[id] = strings.Join(m, ",")
		if len(m) > 0 {
			nMissing++
		}
	}
	if res.MissingJoins != nMissing || nMissing == 0 {
		t.Errorf("missing joins %d, want %d (> 0: the sample's tables are truncated)", res.MissingJoins, nMissing)
	}

	evs, err := dataset.ReadEvents(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	js := journeys(evs)
	if len(js) != len(ids) {
		t.Errorf("%d journeys, want %d", len(js), len(ids))
	}
	rank := map[string]int{string(dataset.OrderPlaced): 0, string(dataset.OrderApproved): 1, string(dataset.Shipped): 2, string(dataset.Delivered): 3}
	var violations []string
	var joined, delivered int
	for id, j := range js {
		p := placedOf(t, j)
		if got := p.Extras["missing_joins"]; got != wantMissing[id] {
			t.Errorf("order %s: missing_joins %q, want %q", id, got, wantMissing[id])
		}
		if n := itemCount[id]; float64(n) != p.Quantity {
			t.Errorf("order %s: quantity %v, want %d items", id, p.Quantity, n)
		} else if n > 0 {
			joined++
		}
		pd, err := strconv.Atoi(p.Extras["promised_days"])
		if err != nil || pd < 1 || pd > 120 {
			t.Errorf("order %s: promised_days %q not in [1, 120]", id, p.Extras["promised_days"])
		}
		// Steps out of order are reported, never silently reordered: the
		// journey in canonical (time) order shows the inversion itself.
		inverted := false
		for a, e := range j {
			r, ok := rank[e.EventType]
			if !ok {
				continue
			}
			for _, later := range j[a+1:] {
				if rl, ok := rank[later.EventType]; ok && rl < r && later.EventTime.After(e.EventTime) {
					inverted = true
				}
			}
			if a > 0 && e.EventTime.Equal(j[a-1].EventTime) && r < rank[j[a-1].EventType] {
				t.Errorf("order %s: %s sorts after %s at the same time", id, j[a-1].EventType, e.EventType)
			}
			if e.EventType == string(dataset.Delivered) {
				delivered++
				if d := e.EventTime.Sub(p.EventTime); d < 0 || d > 200*24*time.Hour {
					t.Errorf("order %s delivered %v after purchase", id, d)
				}
			}
		}
		if inverted {
			violations = append(violations, id)
			if p.Extras["time_order_violation"] == "" {
				t.Errorf("order %s is out of order but not marked", id)
			}
		}
	}
	if joined == 0 || delivered == 0 {
		t.Errorf("%d orders joined items, %d delivered: want some of each", joined, delivered)
	}
	var reported []string
	for _, v := range res.TimeOrderViolations {
		reported = append(reported, v.OrderID)
	}
	slices.Sort(violations)
	slices.Sort(reported)
	if len(violations) == 0 || !slices.Equal(violations, reported) {
		t.Errorf("%d orders out of order in the output, %d reported; want the same, non-zero (Olist has some)", len(violations), len(reported))
	}

	// Deterministic: a second import writes the same bytes.
	again, _ := importOlist(t, sample)
	if res.Manifest.ContentHash == "" || again.Manifest.ContentHash != res.Manifest.ContentHash {
		t.Errorf("content hash %q then %q", res.Manifest.ContentHash, again.Manifest.ContentHash)
	}

	// The output is canonical: Ingest accepts all of it.
	m, err := dataset.Ingest(context.Background(), dataset.IngestConfig{Inputs: []string{filepath.Join(out, "events")}, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if m.Accepted != res.Events || m.Quarantined != 0 || m.Duplicates != 0 {
		t.Errorf("ingest of the import: accepted %d quarantined %d duplicates %d, want %d 0 0", m.Accepted, m.Quarantined, m.Duplicates, res.Events)
	}
}

func TestImportOlistConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  dataset.OlistConfig
	}{
		{"no dir", dataset.OlistConfig{OutDir: "x"}},
		{"no out", dataset.OlistConfig{Dir: "x"}},
		{"remote out", dataset.OlistConfig{Dir: "x", OutDir: "s3://b/p"}},
		{"empty time range", dataset.OlistConfig{Dir: "x", OutDir: "y", MinTime: time.Unix(10, 0), MaxTime: time.Unix(10, 0)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := dataset.ImportOlist(context.Background(), c.cfg); !errors.Is(err, dataset.ErrInvalidConfig) {
				t.Errorf("err %v, want ErrInvalidConfig", err)
			}
		})
	}
	t.Run("items without price column", func(t *testing.T) {
		dir := t.TempDir()
		for name, text := range map[string]string{
			dataset.OlistOrdersFile: "order_id,customer_id,order_status,order_purchase_timestamp\no1,c1,delivered,2018-01-01 00:00:00\n",
			dataset.OlistItemsFile:  "order_id,order_item_id,product_id\no1,1,p1\n",
		} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, err := dataset.ImportOlist(context.Background(), dataset.OlistConfig{Dir: dir, OutDir: t.TempDir()})
		var mc *dataset.MissingColumnError
		if !errors.As(err, &mc) || mc.File != dataset.OlistItemsFile || mc.Column != "price" {
			t.Errorf("err %v, want a MissingColumnError for %s price", err, dataset.OlistItemsFile)
		}
	})
	t.Run("no orders file", func(t *testing.T) {
		_, err := dataset.ImportOlist(context.Background(), dataset.OlistConfig{Dir: t.TempDir(), OutDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), dataset.OlistOrdersFile) {
			t.Errorf("err %v, want one naming %s", err, dataset.OlistOrdersFile)
		}
	})
}

// BenchmarkImportOlist imports the real sample: read, join, convert and
// write (615 day partitions, each synced, which dominates).
func BenchmarkImportOlist(b *testing.B) {
	sample := olistSample(b)
	b.ReportAllocs()
	var rows int64
	for b.Loop() {
		res, err := dataset.ImportOlist(context.Background(), dataset.OlistConfig{Dir: sample, OutDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		for _, tc := range res.Tables {
			rows += tc.Rows
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "row/s")
}
