package dataset

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// csvTable reads a CSV file that starts with a header row, for the
// importers. Fields are trimmed of surrounding space, and quoting may differ
// from row to row ("id" and id are the same value), as in the Olist files.
// Quotes inside an unquoted field are kept (LazyQuotes), so a stray quote
// costs at most its own row, never the rest of the file.
type csvTable struct {
	path   string
	name   string // base name, used in reasons and the quarantine
	header []string
	index  map[string]int
	size   int64

	f   *os.File
	r   *csv.Reader
	row int64 // data rows returned so far, header excluded
}

// csvRow is one data row. Fields has len(header) entries when Err is nil.
type csvRow struct {
	Fields []string
	Row    int64 // 0-based data row, header excluded
	Line   int   // 1-based line in the file, for people
	Err    error // the row could not be read as len(header) fields
}

// openCSV opens path and reads its header. An empty file, an empty or
// duplicated column name is an error: no row could be read reliably.
func openCSV(path string) (*csvTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	t := &csvTable{path: path, name: filepath.Base(path), size: st.Size(), f: f}
	t.r = csv.NewReader(bufio.NewReaderSize(f, 1<<16))
	t.r.FieldsPerRecord = -1
	t.r.LazyQuotes = true
	hdr, err := t.r.Read()
	if err != nil {
		f.Close()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty file, no header", t.name)
		}
		return nil, fmt.Errorf("%s: header: %w", t.name, err)
	}
	if len(hdr) > 0 {
		hdr[0] = strings.TrimPrefix(hdr[0], "\uFEFF") // a byte-order mark some exporters write
	}
	t.index = make(map[string]int, len(hdr))
	for i, h := range hdr {
		h = strings.TrimSpace(h)
		hdr[i] = h
		if h == "" {
			f.Close()
			return nil, fmt.Errorf("%s: header: column %d has no name", t.name, i+1)
		}
		if _, dup := t.index[h]; dup {
			f.Close()
			return nil, fmt.Errorf("%s: header: column %q appears twice", t.name, h)
		}
		t.index[h] = i
	}
	t.header = hdr
	return t, nil
}

// Close closes the file.
func (t *csvTable) Close() error { return t.f.Close() }

// next returns the next data row, or io.EOF after the last. A row that is not
// len(header) fields comes back with Err set (and whatever fields were read),
// so the caller rejects it and goes on.
func (t *csvTable) next() (csvRow, error) {
	rec, err := t.r.Read()
	if errors.Is(err, io.EOF) {
		return csvRow{}, io.EOF
	}
	r := csvRow{Row: t.row}
	t.row++
	var pe *csv.ParseError
	switch {
	case errors.As(err, &pe):
		r.Line, r.Err = pe.StartLine, pe.Err
		return r, nil
	case err != nil:
		return csvRow{}, fmt.Errorf("%s: %w", t.name, err)
	}
	r.Line, _ = t.r.FieldPos(0)
	for i := range rec {
		rec[i] = strings.TrimSpace(rec[i])
	}
	r.Fields = rec
	if len(rec) != len(t.header) {
		r.Err = fmt.Errorf("has %d fields, the header has %d", len(rec), len(t.header))
	}
	return r, nil
}

// get returns column col of a row read from t, "" when the row lacks it.
func (t *csvTable) get(r csvRow, col string) string {
	i, ok := t.index[col]
	if !ok || i >= len(r.Fields) {
		return ""
	}
	return r.Fields[i]
}

// rawRow keeps a row as read, by column, for the quarantine.
func rawRow(header []string, r csvRow) map[string]string {
	m := make(map[string]string, len(r.Fields)+1)
	for i, v := range r.Fields {
		k := "_field" + strconv.Itoa(i+1)
		if i < len(header) {
			k = header[i]
		}
		m[k] = v
	}
	if r.Line > 0 {
		m["source_line"] = strconv.Itoa(r.Line)
	}
	return m
}
