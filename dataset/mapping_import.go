package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// MappedConfig configures ImportMapped.
type MappedConfig struct {
	// Mapping maps the input's columns to canonical fields. Required.
	Mapping Mapping `json:"-"`
	// Input is a local CSV or Parquet file. Required.
	Input string `json:"input"`
	// OutDir is the local output directory, laid out as Ingest's. Required.
	OutDir string `json:"out_dir"`
	// MinTime and MaxTime bound valid event times, [MinTime, MaxTime), as
	// in IngestConfig: zero means 2000-01-01 UTC and one year from now.
	MinTime time.Time `json:"min_time"`
	MaxTime time.Time `json:"max_time"`
}

// Validate reports a config ImportMapped cannot run, short of the mapping
// (which needs the input's header); errors wrap ErrInvalidConfig.
func (c MappedConfig) Validate() error {
	if strings.TrimSpace(c.Input) == "" {
		return fmt.Errorf("%w: mapped import: empty input", ErrInvalidConfig)
	}
	if _, err := checkImportOut(c.OutDir); err != nil {
		return err
	}
	d := IngestConfig{MinTime: c.MinTime, MaxTime: c.MaxTime}.withDefaults()
	if !d.MinTime.Before(d.MaxTime) {
		return fmt.Errorf("%w: min time %v is not before max time %v", ErrInvalidConfig, d.MinTime, d.MaxTime)
	}
	return nil
}

// tableRows is a table read row by row as text, CSV or Parquet.
type tableRows interface {
	header() []string
	// next returns the next row (nil Err) or a row that could not be read
	// (Err set), or io.EOF after the last.
	next() (csvRow, error)
	name() string
	size() int64
	Close() error
}

type csvRows struct{ *csvTable }

func (c csvRows) header() []string { return c.csvTable.header }
func (c csvRows) name() string     { return c.csvTable.name }
func (c csvRows) size() int64      { return c.csvTable.size }

// ImportMapped converts one user table into canonical events, one per row,
// as m maps them, and writes them to cfg.OutDir (see ImportResult).
//
// The mapping is checked against the input's header first; when it is
// invalid, nothing is read and the error joins every problem (each a
// *MappingError; errors.Is(err, ErrInvalidMapping) holds). Then each row
// that cannot be converted (a time no format parses, a type missing from
// the values map, a quantity that is not a number, an empty or duplicated
// event_id, anything ValidateEvent refuses) is rejected into the quarantine
// with its row and every reason. RowsIn == Imported + Rejected.
//
// Empty cells are left out of extras. Native Parquet timestamp and date
// columns need no format.
func ImportMapped(ctx context.Context, cfg MappedConfig) (ImportResult, error) {
	if err := cfg.Validate(); err != nil {
		return ImportResult{}, err
	}
	outDir, _ := checkImportOut(cfg.OutDir)
	bounds := IngestConfig{MinTime: cfg.MinTime, MaxTime: cfg.MaxTime}.withDefaults()
	src, err := openTable(cfg.Input, cfg.Mapping.Format)
	if err != nil {
		return ImportResult{}, fmt.Errorf("dataset: mapped import: %w", err)
	}
	defer src.Close()
	cm, err := cfg.Mapping.compile(src.header())
	if err != nil {
		return ImportResult{}, err
	}
	name := cfg.Mapping.Name
	if name == "" {
		name = strings.TrimSuffix(src.name(), filepath.Ext(src.name()))
	}
	res := ImportResult{Source: "mapped:" + name}
	counts := TableCounts{Table: src.name()}
	var events []Event
	seen := map[string]int64{}
	nativeTime := map[int]bool{}
	if p, ok := src.(*parquetRows); ok {
		nativeTime = p.nativeTime
	}
	for {
		if counts.Rows%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return ImportResult{}, err
			}
		}
		r, err := src.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return ImportResult{}, fmt.Errorf("dataset: mapped import: %w", err)
		}
		counts.Rows++
		var errs []error
		var e Event
		if r.Err != nil {
			errs = []error{r.Err}
		} else {
			e, errs = cm.convert(r.Fields, r.Row, nativeTime)
			errs = mergeFieldErrors(errs, fieldErrors(e, bounds.MinTime, bounds.MaxTime))
			if first, dup := seen[e.EventID]; dup && len(errs) == 0 {
				errs = append(errs, &FieldError{"event_id", fmt.Sprintf("%s duplicates row %d", e.EventID, first)})
			}
		}
		if len(errs) > 0 {
			counts.Rejected++
			q := QuarantinedRow{EventID: e.EventID, EventType: e.EventType, OrderID: e.OrderID, SKU: e.SKU,
				Location: e.Location, Carrier: e.Carrier, Extras: rawRow(src.header(), r)}
			if cm.timeCol >= 0 && cm.timeCol < len(r.Fields) {
				q.EventTime = r.Fields[cm.timeCol]
			}
			res.Rejects = append(res.Rejects, rejectRow(src.name(), r.Row, joinErrs(errs), q))
			continue
		}
		seen[e.EventID] = r.Row
		counts.Used++
		events = append(events, e)
	}
	res.Tables = []TableCounts{counts}
	res.RowsIn, res.Imported, res.Rejected = counts.Rows, counts.Used, counts.Rejected
	inputs := []InputFile{{File: src.name(), Rows: counts.Rows, Bytes: src.size()}}
	if err := writeImport(ctx, outDir, events, inputs, &res); err != nil {
		return ImportResult{}, err
	}
	return res, nil
}

// mergeFieldErrors appends the validation errors of fields that did not
// already fail to convert (a time that did not parse is not also "missing").
func mergeFieldErrors(conv, valid []error) []error {
	failed := map[string]bool{}
	for _, err := range conv {
		var fe *FieldError
		if errors.As(err, &fe) {
			failed[fe.Field] = true
		}
	}
	for _, err := range valid {
		var fe *FieldError
		if errors.As(err, &fe) && failed[fe.Field] {
			continue
		}
		conv = append(conv, err)
	}
	return conv
}

// convert maps one row; it returns every field that failed.
func (c *compiledMapping) convert(rec []string, row int64, nativeTime map[int]bool) (Event, []error) {
	var e Event
	var errs []error
	for _, f := range []struct {
		field string
		m     textField
		dst   *string
	}{
		{"event_id", c.eventID, &e.EventID}, {"order_id", c.orderID, &e.OrderID}, {"sku", c.sku, &e.SKU},
		{"location", c.location, &e.Location}, {"carrier", c.car, &e.Carrier},
	} {
		var empty int
		*f.dst, empty = f.m.eval(rec, row)
		if empty >= 0 && f.field == "event_id" {
			errs = append(errs, &FieldError{f.field, fmt.Sprintf("template column %q is empty", c.header[empty])})
		}
	}
	if s := rec[c.timeCol]; s == "" {
		errs = append(errs, &FieldError{"event_time", "empty"})
	} else if nativeTime[c.timeCol] {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			errs = append(errs, &FieldError{"event_time", fmt.Sprintf("%q: %v", s, err)})
		}
		e.EventTime = t.UTC().Truncate(time.Microsecond)
	} else {
		ok := false
		for _, p := range c.timeParsers {
			if t, err := p(s); err == nil {
				e.EventTime, ok = t.UTC().Truncate(time.Microsecond), true
				break
			}
		}
		if !ok {
			errs = append(errs, &FieldError{"event_time", fmt.Sprintf("%q matches none of the formats %q", s, c.timeFormats)})
		}
	}
	switch {
	case c.typeCol < 0:
		e.EventType = c.typeValue
	case c.typeValues != nil:
		v := rec[c.typeCol]
		t, ok := c.typeValues[v]
		if !ok {
			errs = append(errs, &FieldError{"event_type", fmt.Sprintf("%q is not in the mapping's values", v)})
		}
		e.EventType = t
	default:
		e.EventType = rec[c.typeCol]
	}
	for _, n := range []struct {
		field string
		f     numField
		dst   *float64
	}{{"quantity", c.quantity, &e.Quantity}, {"price", c.price, &e.Price}} {
		switch {
		case !n.f.set:
		case n.f.col < 0:
			*n.dst = n.f.value
		default:
			s := rec[n.f.col]
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				errs = append(errs, &FieldError{n.field, strconv.Quote(s) + " is not a number"})
			}
			*n.dst = v
		}
	}
	for _, x := range c.extras {
		if v := rec[x.col]; v != "" {
			if e.Extras == nil {
				e.Extras = make(map[string]string, len(c.extras))
			}
			e.Extras[x.key] = v
		}
	}
	return e, errs
}

// openTable opens a CSV or Parquet input; format "" picks by extension.
func openTable(path, format string) (tableRows, error) {
	if format == "" {
		format = "csv"
		if strings.EqualFold(filepath.Ext(path), ".parquet") {
			format = "parquet"
		}
	}
	if format == "parquet" {
		return openParquetRows(path)
	}
	t, err := openCSV(path)
	if err != nil {
		return nil, err
	}
	return csvRows{t}, nil
}

// parquetRows reads a Parquet file batch by batch, each value as text
// (as ingest renders values: timestamps RFC 3339, floats shortest form).
type parquetRows struct {
	f          *os.File
	path       string
	cols       []string
	nativeTime map[int]bool
	bytes      int64
	rr         pqarrow.RecordReader
	rec        arrow.RecordBatch
	i, row     int64
	total      int64
}

func openParquetRows(path string) (p *parquetRows, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: corrupt Parquet file: %v", filepath.Base(path), r)
		}
		if err != nil {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable Parquet file: %w", filepath.Base(path), err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 14}, memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable Parquet file: %w", filepath.Base(path), err)
	}
	sc, err := fr.Schema()
	if err != nil {
		return nil, fmt.Errorf("%s: unsupported Parquet schema: %w", filepath.Base(path), err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	p = &parquetRows{f: f, path: path, nativeTime: map[int]bool{}, bytes: st.Size(), rr: rr, total: pf.NumRows()}
	for i, fl := range sc.Fields() {
		p.cols = append(p.cols, fl.Name)
		switch fl.Type.ID() {
		case arrow.TIMESTAMP, arrow.DATE32, arrow.DATE64:
			p.nativeTime[i] = true
		}
	}
	return p, nil
}

func (p *parquetRows) header() []string { return p.cols }
func (p *parquetRows) name() string     { return filepath.Base(p.path) }
func (p *parquetRows) size() int64      { return p.bytes }

func (p *parquetRows) next() (r csvRow, err error) {
	defer func() {
		if rec := recover(); rec != nil {
			err = fmt.Errorf("%s: corrupt Parquet file at row %d: %v", p.name(), p.row, rec)
		}
	}()
	for p.rec == nil || p.i >= p.rec.NumRows() {
		if !p.rr.Next() {
			if err := p.rr.Err(); err != nil && !errors.Is(err, io.EOF) {
				return csvRow{}, fmt.Errorf("%s: read row %d: %w", p.name(), p.row, err)
			}
			if p.row != p.total {
				return csvRow{}, fmt.Errorf("%s: read %d of %d rows", p.name(), p.row, p.total)
			}
			return csvRow{}, io.EOF
		}
		p.rec, p.i = p.rr.RecordBatch(), 0
	}
	fields := make([]string, len(p.cols))
	i := int(p.i)
	for c := range p.cols {
		a := p.rec.Column(c)
		if p.nativeTime[c] {
			if t, err := timeAt(a, i); err == nil {
				fields[c] = t.Format(time.RFC3339Nano)
			}
			continue
		}
		if s, ok := stringAt(a, i); ok {
			fields[c] = strings.TrimSpace(s)
		}
	}
	r = csvRow{Fields: fields, Row: p.row}
	p.i++
	p.row++
	return r, nil
}

func (p *parquetRows) Close() error {
	p.rr.Release()
	return p.f.Close()
}
