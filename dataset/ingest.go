package dataset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/parquet-go/parquet-go"

	"github.com/supplyline/supplyline/dataset/blob"
)

// Output layout below IngestConfig.OutDir. Ingest owns these paths and
// replaces them on every run.
const (
	eventsDir      = "events"
	quarantineFile = "quarantine/quarantine.parquet"
	manifestFile   = "manifest.json"
	tmpDirName     = ".ingest-tmp"
)

// IngestConfig configures Ingest. Fields are JSON-friendly so an activity
// can take it as input.
type IngestConfig struct {
	// Inputs are Parquet files to read: local files, directories (every
	// *.parquet below, recursively), globs, file:// paths, s3://bucket/prefix
	// (every *.parquet object below) or s3://bucket/key.parquet. Required.
	Inputs []string `json:"inputs"`
	// OutDir is the local output directory. Required.
	OutDir string `json:"out_dir"`
	// S3 configures the client for s3:// inputs; the zero value is AWS.
	S3 blob.S3Options `json:"s3"`
	// MinTime and MaxTime bound valid event times, [MinTime, MaxTime).
	// Zero MinTime means 2000-01-01 UTC; zero MaxTime means one year from now.
	MinTime time.Time `json:"min_time"`
	MaxTime time.Time `json:"max_time"`

	// mem allocates Arrow buffers; nil is memory.DefaultAllocator. Tests
	// set a checked allocator.
	mem memory.Allocator
}

// Validate reports a config Ingest cannot run; errors wrap ErrInvalidConfig.
func (c IngestConfig) Validate() error {
	switch {
	case len(c.Inputs) == 0:
		return fmt.Errorf("%w: no inputs", ErrInvalidConfig)
	case c.OutDir == "":
		return fmt.Errorf("%w: empty output directory", ErrInvalidConfig)
	case strings.Contains(c.OutDir, "://") && !strings.HasPrefix(c.OutDir, "file://"):
		return fmt.Errorf("%w: output directory %q must be local", ErrInvalidConfig, c.OutDir)
	}
	for _, in := range c.Inputs {
		if strings.TrimSpace(in) == "" {
			return fmt.Errorf("%w: empty input", ErrInvalidConfig)
		}
	}
	d := c.withDefaults()
	if !d.MinTime.Before(d.MaxTime) {
		return fmt.Errorf("%w: min time %v is not before max time %v", ErrInvalidConfig, d.MinTime, d.MaxTime)
	}
	return nil
}

func (c IngestConfig) withDefaults() IngestConfig {
	if c.MinTime.IsZero() {
		c.MinTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if c.MaxTime.IsZero() {
		c.MaxTime = time.Now().UTC().AddDate(1, 0, 0)
	}
	if c.mem == nil {
		c.mem = memory.DefaultAllocator
	}
	c.OutDir = strings.TrimPrefix(c.OutDir, "file://")
	return c
}

// QuarantinedRow is a row of the quarantine file: the source row's
// canonical fields as text (so a value that could not be coerced is kept
// as it was), where it came from and why it was rejected.
type QuarantinedRow struct {
	// Reason reads "row N of FILE: field: problem[; field: problem]".
	Reason     string `parquet:"reason"`
	SourceFile string `parquet:"source_file"`
	// SourceRow counts from 0 within the file.
	SourceRow int64             `parquet:"source_row"`
	EventID   string            `parquet:"event_id"`
	EventTime string            `parquet:"event_time"`
	EventType string            `parquet:"event_type"`
	OrderID   string            `parquet:"order_id"`
	SKU       string            `parquet:"sku"`
	Location  string            `parquet:"location"`
	Carrier   string            `parquet:"carrier"`
	Quantity  string            `parquet:"quantity"`
	Price     string            `parquet:"price"`
	Extras    map[string]string `parquet:"extras"`
}

// fileResult is what one input file yields, before deduplication.
type fileResult struct {
	rows        int64
	valid       []Event // in row order
	quarantined []QuarantinedRow
}

// Ingest validates, deduplicates and canonicalises the input events:
//
//	OutDir/events/date=YYYY-MM-DD/part-00000.parquet  accepted events, sorted by (event_time, event_id)
//	OutDir/quarantine/quarantine.parquet             rejected rows with a reason (always written)
//	OutDir/manifest.json                             the IngestManifest
//
// Input files are read in sorted name order; an unreadable file (not
// Parquet, truncated, missing a required column) contributes no rows and is
// listed in the manifest's BadFiles. Ingest then returns the complete
// manifest together with a *BadFilesError, so the caller decides whether a
// partial ingest is acceptable.
//
// Thin for now: accepted events are held in memory until they are written
// (deduplication and day partitioning need them); an external sort by day
// replaces that when inputs outgrow memory.
func Ingest(ctx context.Context, cfg IngestConfig) (IngestManifest, error) {
	if err := cfg.Validate(); err != nil {
		return IngestManifest{}, err
	}
	cfg = cfg.withDefaults()
	tmpDir := filepath.Join(cfg.OutDir, tmpDirName)
	defer os.RemoveAll(tmpDir)

	sources, bad, err := resolveInputs(ctx, cfg)
	if err != nil {
		return IngestManifest{}, err
	}
	m := IngestManifest{SchemaVersion: SchemaVersion, TypeCounts: map[string]int64{}, Inputs: []InputFile{}}
	seen := map[string]bool{}
	byDay := map[string][]Event{}
	var quarantined []QuarantinedRow
	for _, src := range sources {
		if err := ctx.Err(); err != nil {
			return IngestManifest{}, err
		}
		res, err := readSource(ctx, src, tmpDir, cfg)
		if err != nil {
			if ctx.Err() != nil {
				return IngestManifest{}, ctx.Err()
			}
			slog.Warn("ingest: bad input file", "file", src.name, "err", err)
			bad = append(bad, BadFile{File: src.name, Error: err.Error()})
			continue
		}
		m.Inputs = append(m.Inputs, InputFile{File: src.name, Rows: res.rows, Bytes: src.size})
		m.RowsIn += res.rows
		m.Quarantined += int64(len(res.quarantined))
		quarantined = append(quarantined, res.quarantined...)
		for _, e := range res.valid {
			if seen[e.EventID] {
				m.Duplicates++
				continue
			}
			seen[e.EventID] = true
			m.Accepted++
			m.TypeCounts[e.EventType]++
			if m.MinEventTime.IsZero() || e.EventTime.Before(m.MinEventTime) {
				m.MinEventTime = e.EventTime
			}
			if e.EventTime.After(m.MaxEventTime) {
				m.MaxEventTime = e.EventTime
			}
			day := e.EventTime.Format(time.DateOnly)
			byDay[day] = append(byDay[day], e)
		}
	}
	m.BadFiles = bad
	if m.BadFiles == nil {
		m.BadFiles = []BadFile{}
	}
	if err := m.Reconcile(); err != nil {
		return IngestManifest{}, err
	}
	m.Reconciles = true

	if err := writeOutputs(ctx, cfg.OutDir, byDay, quarantined, &m); err != nil {
		return IngestManifest{}, err
	}
	slog.Info("ingest done", "out", cfg.OutDir, "rows_in", m.RowsIn, "accepted", m.Accepted,
		"quarantined", m.Quarantined, "duplicates", m.Duplicates, "bad_files", len(m.BadFiles), "content_hash", m.ContentHash)
	if len(bad) > 0 {
		return m, &BadFilesError{Files: bad}
	}
	return m, nil
}

// writeOutputs replaces the canonical files, the quarantine and the manifest.
func writeOutputs(ctx context.Context, outDir string, byDay map[string][]Event, quarantined []QuarantinedRow, m *IngestManifest) error {
	for _, d := range []string{eventsDir, filepath.Dir(quarantineFile)} {
		if err := os.RemoveAll(filepath.Join(outDir, d)); err != nil {
			return fmt.Errorf("dataset: ingest: clear %s: %w", d, err)
		}
	}
	store := blob.NewLocal(outDir)
	days := make([]string, 0, len(byDay))
	for d := range byDay {
		days = append(days, d)
	}
	slices.Sort(days)
	h := sha256.New()
	m.Files = []string{}
	for _, d := range days {
		events := byDay[d]
		sortEvents(events)
		key := eventsDir + "/date=" + d + "/part-00000.parquet"
		io.WriteString(h, key+"\n")
		if err := putFile(ctx, store, key, h, func(w io.Writer) error { return writeEvents(w, events) }); err != nil {
			return err
		}
		m.Files = append(m.Files, key)
	}
	m.ContentHash = hex.EncodeToString(h.Sum(nil))

	err := putFile(ctx, store, quarantineFile, nil, func(w io.Writer) error {
		pw := parquet.NewGenericWriter[QuarantinedRow](w, writerOptions()...)
		if _, err := pw.Write(quarantined); err != nil {
			return err
		}
		return pw.Close()
	})
	if err != nil {
		return err
	}
	m.Quarantine = quarantineFile

	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return putFile(ctx, store, manifestFile, nil, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// putFile writes key through write, also feeding hash when it is not nil.
func putFile(ctx context.Context, store blob.Store, key string, hash io.Writer, write func(io.Writer) error) error {
	w, err := store.Create(ctx, key)
	if err != nil {
		return fmt.Errorf("dataset: ingest: %w", err)
	}
	var dst io.Writer = w
	if hash != nil {
		dst = io.MultiWriter(w, hash)
	}
	if err := write(dst); err != nil {
		blob.Abort(w)
		return fmt.Errorf("dataset: ingest: write %s: %w", key, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("dataset: ingest: %w", err)
	}
	return nil
}

// readSource reads one input file completely; any error makes it a bad file.
// Nothing from a file is used unless all of it reads, so a file truncated
// mid-way does not contribute half its rows.
func readSource(ctx context.Context, src source, tmpDir string, cfg IngestConfig) (res fileResult, err error) {
	f, cleanup, err := src.open(ctx, tmpDir)
	if err != nil {
		return res, err
	}
	defer cleanup()
	defer func() {
		// The Parquet reader can panic on corrupt input it does not expect.
		if r := recover(); r != nil {
			err = fmt.Errorf("corrupt Parquet file: %v", r)
		}
	}()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return res, fmt.Errorf("not a readable Parquet file: %w", err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, cfg.mem)
	if err != nil {
		return res, fmt.Errorf("not a readable Parquet file: %w", err)
	}
	sc, err := fr.Schema()
	if err != nil {
		return res, fmt.Errorf("unsupported Parquet schema: %w", err)
	}
	for _, c := range requiredColumns {
		if len(sc.FieldIndices(c)) == 0 {
			return res, &MissingColumnError{File: src.name, Column: c}
		}
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return res, fmt.Errorf("read: %w", err)
	}
	defer rr.Release()
	for rr.Next() {
		rec := rr.RecordBatch()
		convertBatch(rec, src.name, &res, cfg)
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return res, fmt.Errorf("read row %d: %w", res.rows, err)
	}
	if want := pf.NumRows(); res.rows != want {
		return res, fmt.Errorf("read %d of %d rows", res.rows, want)
	}
	return res, nil
}

// convertBatch coerces, validates and sorts the rows of one batch into res.
func convertBatch(rec arrow.RecordBatch, name string, res *fileResult, cfg IngestConfig) {
	sc := rec.Schema()
	col := map[string]arrow.Array{}
	var unknown []int
	for i, f := range sc.Fields() {
		if slices.Contains(canonicalColumns, f.Name) {
			if _, dup := col[f.Name]; !dup {
				col[f.Name] = rec.Column(i)
				continue
			}
		}
		unknown = append(unknown, i)
	}
	text := func(c string, i int) string {
		if a := col[c]; a != nil {
			s, _ := stringAt(a, i)
			return s
		}
		return ""
	}
	for i := 0; i < int(rec.NumRows()); i++ {
		row := res.rows
		res.rows++
		e := Event{
			EventID:   text("event_id", i),
			EventType: text("event_type", i),
			OrderID:   text("order_id", i),
			SKU:       text("sku", i),
			Location:  text("location", i),
			Carrier:   text("carrier", i),
			Extras:    map[string]string{},
		}
		var parseErrs []error
		bad := map[string]bool{}
		var perr error
		if e.EventTime, perr = timeAt(col["event_time"], i); perr != nil {
			parseErrs = append(parseErrs, &FieldError{"event_time", perr.Error()})
			bad["event_time"] = true
		}
		if e.Quantity, perr = floatAt(col["quantity"], i); perr != nil {
			parseErrs = append(parseErrs, &FieldError{"quantity", perr.Error()})
			bad["quantity"] = true
		}
		if e.Price, perr = floatAt(col["price"], i); perr != nil {
			parseErrs = append(parseErrs, &FieldError{"price", perr.Error()})
			bad["price"] = true
		}
		if m, ok := col["extras"].(*array.Map); ok {
			mapAt(m, i, e.Extras)
		} else if a := col["extras"]; a != nil {
			if s, ok := stringAt(a, i); ok {
				e.Extras["extras"] = s
			}
		}
		for _, j := range unknown {
			name := sc.Field(j).Name
			if _, taken := e.Extras[name]; taken {
				continue
			}
			if s, ok := stringAt(rec.Column(j), i); ok {
				e.Extras[name] = s
			}
		}
		if len(e.Extras) == 0 {
			e.Extras = nil
		}

		errs := parseErrs
		for _, err := range fieldErrors(e, cfg.MinTime, cfg.MaxTime) {
			var fe *FieldError
			if errors.As(err, &fe) && bad[fe.Field] {
				continue
			}
			errs = append(errs, err)
		}
		if len(errs) == 0 {
			res.valid = append(res.valid, e)
			continue
		}
		res.quarantined = append(res.quarantined, QuarantinedRow{
			Reason:     reason(name, row, errs),
			SourceFile: name,
			SourceRow:  row,
			EventID:    e.EventID,
			EventTime:  text("event_time", i),
			EventType:  e.EventType,
			OrderID:    e.OrderID,
			SKU:        e.SKU,
			Location:   e.Location,
			Carrier:    e.Carrier,
			Quantity:   text("quantity", i),
			Price:      text("price", i),
			Extras:     e.Extras,
		})
	}
}
