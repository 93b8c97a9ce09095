package dataset_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/parquet-go/parquet-go"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/dataset/blob"
	"github.com/supplyline/supplyline/internal/s3test"
)

// writeRows writes rows of any struct type as a Parquet file, with the
// writer options given.
func writeRows[T any](t *testing.T, path string, rows []T, opts ...parquet.WriterOption) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[T](f, opts...)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func readQuarantine(t *testing.T, outDir string) []dataset.QuarantinedRow {
	t.Helper()
	f, err := os.Open(filepath.Join(outDir, "quarantine", "quarantine.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := parquet.NewGenericReader[dataset.QuarantinedRow](f)
	rows := make([]dataset.QuarantinedRow, r.NumRows())
	if n, err := r.Read(rows); n != len(rows) || (err != nil && err != io.EOF) {
		t.Fatalf("read quarantine: %d of %d rows: %v", n, len(rows), err)
	}
	return rows
}

func ingest(t *testing.T, cfg dataset.IngestConfig) dataset.IngestManifest {
	t.Helper()
	m, err := dataset.Ingest(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Ingest: %v", err)
	}
	return m
}

// normalize makes events comparable: an absent and an empty extras map are the same.
func normalize(evs []dataset.Event) []dataset.Event {
	for i := range evs {
		if len(evs[i].Extras) == 0 {
			evs[i].Extras = nil
		}
	}
	return evs
}

func TestIngestGeneratedWorld(t *testing.T) {
	ctx := context.Background()
	genDir, sum := generate(t, dataset.GenConfig{Seed: 11, Days: 30})
	out := t.TempDir()
	m := ingest(t, dataset.IngestConfig{Inputs: []string{genDir}, OutDir: out})

	if m.RowsIn != sum.Events || m.Accepted != sum.Events || m.Quarantined != 0 || m.Duplicates != 0 || !m.Reconciles {
		t.Fatalf("manifest counts: rows_in %d accepted %d quarantined %d duplicates %d reconciles %v; generated %d",
			m.RowsIn, m.Accepted, m.Quarantined, m.Duplicates, m.Reconciles, sum.Events)
	}
	if !reflect.DeepEqual(m.TypeCounts, sum.Counts) {
		t.Errorf("type counts %v, generated %v", m.TypeCounts, sum.Counts)
	}
	if len(m.Inputs) != 30 || len(m.Files) != 30 || m.Files[0] != "events/date=2024-01-01/part-00000.parquet" {
		t.Errorf("%d inputs, %d files, first %v", len(m.Inputs), len(m.Files), m.Files)
	}
	if m.SchemaVersion != dataset.SchemaVersion || len(m.ContentHash) != 64 || len(m.BadFiles) != 0 {
		t.Errorf("manifest %+v", m)
	}

	var onDisk dataset.IngestManifest
	b, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &onDisk); err != nil {
		t.Fatal(err)
	}
	if onDisk.ContentHash != m.ContentHash || onDisk.Accepted != m.Accepted || !onDisk.MaxEventTime.Equal(m.MaxEventTime) {
		t.Errorf("manifest.json differs from the returned manifest")
	}

	want, err := dataset.ReadEvents(ctx, genDir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := dataset.ReadEvents(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalize(got), normalize(want)) {
		t.Errorf("canonical events differ from the generated ones (%d vs %d)", len(got), len(want))
	}
	if !m.MinEventTime.Equal(got[0].EventTime) || !m.MaxEventTime.Equal(got[len(got)-1].EventTime) {
		t.Errorf("manifest time range %v..%v, events span %v..%v", m.MinEventTime, m.MaxEventTime, got[0].EventTime, got[len(got)-1].EventTime)
	}

	// Again, into the same directory: same bytes, nothing stale left over.
	m2 := ingest(t, dataset.IngestConfig{Inputs: []string{genDir}, OutDir: out})
	if m2.ContentHash != m.ContentHash {
		t.Errorf("content hash changed between identical ingests: %s vs %s", m.ContentHash, m2.ContentHash)
	}
	// A subset replaces the previous output.
	m3 := ingest(t, dataset.IngestConfig{Inputs: []string{filepath.Join(genDir, "date=2024-01-0[12]")}, OutDir: out})
	entries, _ := os.ReadDir(filepath.Join(out, "events"))
	if len(m3.Files) != 2 || len(entries) != 2 {
		t.Errorf("after re-ingesting two days: manifest lists %d files, %d partitions on disk", len(m3.Files), len(entries))
	}
}

func goodEvent(id string, day int) dataset.Event {
	return dataset.Event{
		EventID:   id,
		EventTime: time.Date(2024, 3, 1+day, 10, 0, 0, 123456000, time.UTC),
		EventType: string(dataset.OrderPlaced),
		SKU:       "P001",
		Location:  "S01",
		Quantity:  2,
		Price:     9.5,
	}
}

func TestIngestQuarantineAndDuplicates(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	a := filepath.Join(in, "a.parquet")
	b := filepath.Join(in, "b.parquet")
	writeRows(t, a, []dataset.Event{goodEvent("e1", 0), goodEvent("e2", 1), goodEvent("e2", 2)})

	bad := func(mut func(*dataset.Event)) dataset.Event {
		e := goodEvent("bad", 0)
		mut(&e)
		return e
	}
	tests := []struct {
		name   string
		row    dataset.Event
		reason string // after "row N of FILE: "
	}{
		{"negative quantity", bad(func(e *dataset.Event) { e.EventID, e.Quantity = "q", -3 }), "quantity: -3 is negative"},
		{"NaN price", bad(func(e *dataset.Event) { e.EventID, e.Price = "p", math.NaN() }), "price: NaN is not finite"},
		{"infinite quantity", bad(func(e *dataset.Event) { e.EventID, e.Quantity = "inf", math.Inf(1) }), "quantity: +Inf is not finite"},
		{"unknown type", bad(func(e *dataset.Event) { e.EventID, e.EventType = "t", "teleported" }), `event_type: "teleported" is not a schema v1 event type`},
		{"empty id", bad(func(e *dataset.Event) { e.EventID = "" }), "event_id: empty"},
		{"too old", bad(func(e *dataset.Event) { e.EventID, e.EventTime = "old", time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC) }),
			"event_time: 1999-12-31T00:00:00Z is before 2000-01-01T00:00:00Z"},
		{"two problems", bad(func(e *dataset.Event) { e.EventID, e.Quantity, e.Price = "two", -1, -2 }), "quantity: -1 is negative; price: -2 is negative"},
	}
	rows := []dataset.Event{goodEvent("e1", 3), goodEvent("e3", 1)} // e1 duplicates a.parquet's first row
	for _, tt := range tests {
		rows = append(rows, tt.row)
	}
	writeRows(t, b, rows)

	// b is named first on purpose: files are read in sorted order whatever the input order.
	m := ingest(t, dataset.IngestConfig{Inputs: []string{b, a}, OutDir: out})
	wantIn := int64(3 + len(rows))
	if m.RowsIn != wantIn || m.Accepted != 3 || m.Duplicates != 2 || m.Quarantined != int64(len(tests)) || !m.Reconciles {
		t.Fatalf("rows_in %d (want %d), accepted %d (want 3), duplicates %d (want 2), quarantined %d (want %d)",
			m.RowsIn, wantIn, m.Accepted, m.Duplicates, m.Quarantined, len(tests))
	}
	q := readQuarantine(t, out)
	if len(q) != len(tests) {
		t.Fatalf("quarantine holds %d rows, want %d", len(q), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := int64(2 + i)
			want := fmt.Sprintf("row %d of %s: %s", row, b, tt.reason)
			if q[i].Reason != want || q[i].SourceFile != b || q[i].SourceRow != row || q[i].EventID != tt.row.EventID {
				t.Errorf("quarantined %+v\nwant reason %q", q[i], want)
			}
		})
	}

	events, err := dataset.ReadEvents(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range events {
		ids = append(ids, e.EventID)
	}
	if strings.Join(ids, ",") != "e1,e2,e3" || !events[0].EventTime.Equal(goodEvent("", 0).EventTime) {
		t.Errorf("accepted %v (first e1 at %v); want e1 from a.parquet, e2, e3", ids, events[0].EventTime)
	}
}

// looseRow is a source file that is not canonical: a string time, an
// integer quantity, a float32 price, no order/location/carrier columns and
// a column the schema does not know.
type looseRow struct {
	EventID   string  `parquet:"event_id"`
	EventTime string  `parquet:"event_time"`
	EventType string  `parquet:"event_type"`
	SKU       string  `parquet:"sku"`
	Quantity  int64   `parquet:"quantity"`
	Price     float32 `parquet:"price"`
	Weather   string  `parquet:"weather"`
}

type millisRow struct {
	EventID   string  `parquet:"event_id"`
	EventTime int64   `parquet:"event_time"`
	EventType string  `parquet:"event_type"`
	Quantity  float64 `parquet:"quantity"`
	Price     float64 `parquet:"price"`
}

type noPriceRow struct {
	EventID   string    `parquet:"event_id"`
	EventTime time.Time `parquet:"event_time,timestamp(millisecond)"`
	EventType string    `parquet:"event_type"`
	Quantity  float64   `parquet:"quantity"`
}

func TestIngestCoercesColumns(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	loose := filepath.Join(in, "loose.parquet")
	writeRows(t, loose, []looseRow{
		{"l1", "2024-02-01T10:00:00.5+01:00", "picked", "P001", 3, 0, "rain"},
		{"l2", "2024-02-01 11:30:00", "shipped", "P002", 1, 0, "sun"},
		{"l3", "yesterday", "shipped", "P002", 1, 0, ""},
	})
	millis := filepath.Join(in, "millis.parquet")
	ts := time.Date(2024, 2, 2, 8, 0, 0, 0, time.UTC)
	writeRows(t, millis, []millisRow{
		{"m1", ts.UnixMilli(), "delivered", 1, 0},
		{"m2", ts.UnixMicro(), "delivered", 1, 0},
		{"m3", ts.UnixNano(), "delivered", 1, 0},
	})
	noPrice := filepath.Join(in, "noprice.parquet")
	writeRows(t, noPrice, []noPriceRow{{"n1", ts, "picked", 1}})

	m, err := dataset.Ingest(context.Background(), dataset.IngestConfig{Inputs: []string{filepath.Join(in, "*.parquet")}, OutDir: out})
	var bf *dataset.BadFilesError
	if !errors.As(err, &bf) || len(bf.Files) != 1 || bf.Files[0].File != noPrice || !strings.Contains(bf.Files[0].Error, `missing required column "price"`) {
		t.Fatalf("err = %v, want a BadFilesError naming %s and column price", err, noPrice)
	}
	if m.RowsIn != 6 || m.Accepted != 5 || m.Quarantined != 1 {
		t.Fatalf("rows_in %d accepted %d quarantined %d, want 6, 5, 1", m.RowsIn, m.Accepted, m.Quarantined)
	}
	q := readQuarantine(t, out)
	if want := fmt.Sprintf(`row 2 of %s: event_time: cannot parse "yesterday" as a time`, loose); q[0].Reason != want {
		t.Errorf("reason %q, want %q", q[0].Reason, want)
	}
	events, err := dataset.ReadEvents(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]dataset.Event{}
	for _, e := range events {
		byID[e.EventID] = e
	}
	checks := []struct {
		id   string
		time time.Time
	}{
		{"l1", time.Date(2024, 2, 1, 9, 0, 0, 500000000, time.UTC)},
		{"l2", time.Date(2024, 2, 1, 11, 30, 0, 0, time.UTC)},
		{"m1", ts}, {"m2", ts}, {"m3", ts},
	}
	for _, c := range checks {
		if e, ok := byID[c.id]; !ok || !e.EventTime.Equal(c.time) {
			t.Errorf("%s: time %v, want %v", c.id, e.EventTime, c.time)
		}
	}
	if e := byID["l1"]; e.Quantity != 3 || e.Extras["weather"] != "rain" || e.SKU != "P001" || e.Carrier != "" {
		t.Errorf("l1 = %+v; want quantity 3 and extras weather=rain", e)
	}
}

func TestIngestBadFiles(t *testing.T) {
	genDir, sum := generate(t, dataset.GenConfig{Seed: 2, Days: 5})
	in, out := t.TempDir(), t.TempDir()
	good, err := os.ReadFile(filepath.Join(genDir, sum.Files[0]))
	if err != nil {
		t.Fatal(err)
	}
	goodPath := filepath.Join(in, "good.parquet")
	garbage := filepath.Join(in, "garbage.parquet")
	truncated := filepath.Join(in, "truncated.parquet")
	os.WriteFile(goodPath, good, 0o644)
	os.WriteFile(garbage, []byte("this is not a parquet file, just some text\n"), 0o644)
	os.WriteFile(truncated, good[:len(good)/2], 0o644)

	m, err := dataset.Ingest(context.Background(), dataset.IngestConfig{Inputs: []string{in, filepath.Join(in, "missing.parquet")}, OutDir: out})
	var bf *dataset.BadFilesError
	if !errors.As(err, &bf) {
		t.Fatalf("err = %v, want *BadFilesError", err)
	}
	var names []string
	for _, f := range bf.Files {
		names = append(names, f.File)
		if f.Error == "" {
			t.Errorf("%s: empty error", f.File)
		}
	}
	slices.Sort(names)
	if want := []string{garbage, filepath.Join(in, "missing.parquet"), truncated}; !slices.Equal(names, want) {
		t.Errorf("bad files %v, want %v", names, want)
	}
	for _, n := range names {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error text does not name %s: %v", n, err)
		}
	}
	if !reflect.DeepEqual(m.BadFiles, bf.Files) {
		t.Errorf("manifest bad files %v differ from the error's %v", m.BadFiles, bf.Files)
	}
	evs, _ := dataset.ReadEvents(context.Background(), filepath.Join(genDir, filepath.Dir(sum.Files[0])))
	if m.RowsIn != int64(len(evs)) || m.Accepted != int64(len(evs)) || len(m.Inputs) != 1 || m.Inputs[0].File != goodPath {
		t.Errorf("rows_in %d accepted %d inputs %v; want %d rows from %s only", m.RowsIn, m.Accepted, m.Inputs, len(evs), goodPath)
	}
	if _, err := os.Stat(filepath.Join(out, "manifest.json")); err != nil {
		t.Errorf("manifest not written despite good files: %v", err)
	}
}

func TestIngestS3(t *testing.T) {
	ctx := context.Background()
	genDir, sum := generate(t, dataset.GenConfig{Seed: 4, Days: 10})
	local := ingest(t, dataset.IngestConfig{Inputs: []string{genDir}, OutDir: t.TempDir()})

	endpoint, bucket := s3test.Start(t)
	opts := blob.S3Options{Endpoint: endpoint, PathStyle: true}
	store, err := blob.OpenURI(ctx, "s3://"+bucket+"/raw/world", opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range sum.Files {
		b, err := os.ReadFile(filepath.Join(genDir, f))
		if err != nil {
			t.Fatal(err)
		}
		w, err := store.Create(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}

	m := ingest(t, dataset.IngestConfig{Inputs: []string{"s3://" + bucket + "/raw/world"}, OutDir: t.TempDir(), S3: opts})
	if m.ContentHash != local.ContentHash || m.Accepted != sum.Events || len(m.Inputs) != 10 {
		t.Errorf("S3 ingest: hash %s accepted %d inputs %d; local ingest: hash %s accepted %d",
			m.ContentHash, m.Accepted, len(m.Inputs), local.ContentHash, local.Accepted)
	}
	if want := "s3://" + bucket + "/raw/world/" + sum.Files[0]; m.Inputs[0].File != want {
		t.Errorf("first input %q, want %q", m.Inputs[0].File, want)
	}

	// A single object, and a prefix without objects.
	one := ingest(t, dataset.IngestConfig{Inputs: []string{"s3://" + bucket + "/raw/world/" + sum.Files[0]}, OutDir: t.TempDir(), S3: opts})
	if len(one.Inputs) != 1 || one.Accepted == 0 {
		t.Errorf("single object: %+v", one.Inputs)
	}
	_, err = dataset.Ingest(ctx, dataset.IngestConfig{Inputs: []string{"s3://" + bucket + "/nothing-here"}, OutDir: t.TempDir(), S3: opts})
	var bf *dataset.BadFilesError
	if !errors.As(err, &bf) {
		t.Errorf("empty prefix: err = %v, want *BadFilesError", err)
	}
}

func TestCanonicalReadableByArrow(t *testing.T) {
	genDir, _ := generate(t, dataset.GenConfig{Seed: 9, Days: 2})
	out := t.TempDir()
	m := ingest(t, dataset.IngestConfig{Inputs: []string{genDir}, OutDir: out})
	for _, name := range append([]string{filepath.Join(genDir, "date=2024-01-01", "events.parquet")}, filepath.Join(out, m.Files[0])) {
		t.Run(filepath.Base(filepath.Dir(name)), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			f, err := os.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			tbl, err := pqarrow.ReadTable(context.Background(), f, nil, pqarrow.ArrowReadProperties{}, mem)
			if err != nil {
				t.Fatalf("pqarrow.ReadTable: %v", err)
			}
			defer tbl.Release()
			want := dataset.ArrowSchema()
			if tbl.NumCols() != int64(want.NumFields()) || tbl.NumRows() == 0 {
				t.Fatalf("%d columns, %d rows", tbl.NumCols(), tbl.NumRows())
			}
			for i, f := range want.Fields() {
				got := tbl.Schema().Field(i)
				if got.Name != f.Name {
					t.Errorf("column %d is %q, want %q", i, got.Name, f.Name)
				}
				if got.Type.ID() != f.Type.ID() {
					t.Errorf("column %s has type %s, want %s", f.Name, got.Type, f.Type)
				}
			}
			if ts, ok := tbl.Schema().Field(1).Type.(*arrow.TimestampType); !ok || ts.Unit != arrow.Microsecond {
				t.Errorf("event_time type %s, want timestamp[us]", tbl.Schema().Field(1).Type)
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			pf, err := file.NewParquetReader(f)
			if err != nil {
				t.Fatal(err)
			}
			if v := pf.MetaData().KeyValueMetadata().FindValue("supplyline.schema_version"); v == nil || *v != fmt.Sprint(dataset.SchemaVersion) {
				t.Errorf("schema version metadata = %v", v)
			}
		})
	}
}

func TestIngestConfigValidate(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name string
		cfg  dataset.IngestConfig
		ok   bool
	}{
		{"minimal", dataset.IngestConfig{Inputs: []string{"in"}, OutDir: "out"}, true},
		{"no inputs", dataset.IngestConfig{OutDir: "out"}, false},
		{"empty input", dataset.IngestConfig{Inputs: []string{""}, OutDir: "out"}, false},
		{"no out dir", dataset.IngestConfig{Inputs: []string{"in"}}, false},
		{"s3 out dir", dataset.IngestConfig{Inputs: []string{"in"}, OutDir: "s3://b/out"}, false},
		{"inverted range", dataset.IngestConfig{Inputs: []string{"in"}, OutDir: "out", MinTime: now, MaxTime: now.Add(-time.Hour)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, dataset.ErrInvalidConfig) {
				t.Errorf("%v does not wrap ErrInvalidConfig", err)
			}
		})
	}
}

func ExampleIngest() {
	ctx := context.Background()
	world, _ := os.MkdirTemp("", "world")
	out, _ := os.MkdirTemp("", "canonical")
	defer os.RemoveAll(world)
	defer os.RemoveAll(out)
	if _, err := dataset.Generate(ctx, dataset.GenConfig{Seed: 1, Days: 3}, world); err != nil {
		panic(err)
	}
	m, err := dataset.Ingest(ctx, dataset.IngestConfig{Inputs: []string{world}, OutDir: out})
	var bad *dataset.BadFilesError
	if errors.As(err, &bad) {
		fmt.Println("some inputs were unreadable:", bad)
	} else if err != nil {
		panic(err)
	}
	fmt.Println(m.Reconciles, m.RowsIn == m.Accepted+m.Quarantined+m.Duplicates, m.Files[0])
	// Output: true true events/date=2024-01-01/part-00000.parquet
}
