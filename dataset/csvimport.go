package dataset

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/supplyline/supplyline/dataset/blob"
)

// importFile is the importers' report below OutDir, beside manifest.json.
const importFile = "import.json"

// ImportResult is what an importer (ImportOlist, ImportMapped) did. It is
// also written as JSON to OutDir/import.json.
//
// The output directory has the layout Ingest writes, through the same
// writer: OutDir/events/date=YYYY-MM-DD/part-00000.parquet (canonical
// events, so OutDir/events can be given to Ingest or read by ReadEvents),
// OutDir/quarantine/quarantine.parquet (every rejected row with its reason)
// and OutDir/manifest.json. That manifest is at event level: its RowsIn is
// the canonical events written plus the rows rejected, Accepted the events
// and Quarantined the rejects; the CSV row counts are here, in Tables.
type ImportResult struct {
	// Source is "olist" or "mapped:NAME" (the mapping's name).
	Source string `json:"source"`
	// RowsIn counts the rows of the driving table: the Olist orders file,
	// or the mapped table. RowsIn == Imported + Rejected.
	RowsIn int64 `json:"rows_in"`
	// Imported counts driving rows that became events: orders for Olist
	// (one order journey each), rows for a mapped table (one event each).
	Imported int64 `json:"imported"`
	// Rejected counts rows of every table that could not be converted;
	// each is in Rejects and the quarantine file with file, row and reason.
	Rejected int64 `json:"rejected"`
	// Events counts the canonical events written.
	Events int64 `json:"events"`
	// MissingJoins counts imported orders that lack at least one joined
	// table; MissingJoinsBy counts them per table ("items", "payments",
	// "customer"). Olist only.
	MissingJoins   int64            `json:"missing_joins"`
	MissingJoinsBy map[string]int64 `json:"missing_joins_by,omitempty"`
	// TimeOrderViolations are orders whose steps are out of order in the
	// source (for example approved after shipped). They are imported as the
	// source has them, never reordered, and marked in extras. Olist only.
	TimeOrderViolations []TimeOrderViolation `json:"time_order_violations,omitempty"`
	// Tables counts every table read. For each, Rows == Used + Orphans + Rejected.
	Tables []TableCounts `json:"tables"`
	// Rejects are the rejected rows, as written to the quarantine file.
	Rejects []QuarantinedRow `json:"-"`
	// Manifest is the event-level manifest written to OutDir/manifest.json.
	Manifest IngestManifest `json:"-"`
}

// TableCounts accounts for every data row (header excluded) of one table.
type TableCounts struct {
	// Table is the file's base name.
	Table string `json:"table"`
	// Rows read. Rows == Used + Orphans + Rejected.
	Rows int64 `json:"rows"`
	// Used rows went into events.
	Used int64 `json:"used"`
	// Orphans are well-formed rows that refer to nothing imported (an item
	// whose order is not in the orders file, a customer no order has). The
	// Olist sample's tables are truncated independently, so it has many.
	Orphans int64 `json:"orphans"`
	// Rejected rows could not be converted; they are in the quarantine.
	Rejected int64 `json:"rejected"`
}

// TimeOrderViolation is one order whose journey steps are out of order.
type TimeOrderViolation struct {
	OrderID string `json:"order_id"`
	// Detail names the steps, e.g. "approved 2017-03-02T10:00:00Z > shipped 2017-03-01T17:00:00Z".
	Detail string `json:"detail"`
}

// Reconcile checks every table's counts and RowsIn == Imported + Rejected of
// the driving table (the first in Tables).
func (r *ImportResult) Reconcile() error {
	for _, t := range r.Tables {
		if t.Rows != t.Used+t.Orphans+t.Rejected {
			return &ImportReconcileError{Table: t.Table, Rows: t.Rows, Used: t.Used, Orphans: t.Orphans, Rejected: t.Rejected}
		}
	}
	var rejected int64
	for _, t := range r.Tables {
		rejected += t.Rejected
	}
	if len(r.Tables) == 0 || r.RowsIn != r.Tables[0].Rows || r.Imported != r.Tables[0].Used || r.Rejected != rejected ||
		r.Rejected != int64(len(r.Rejects)) {
		d := TableCounts{Table: "(driving table)"}
		if len(r.Tables) > 0 {
			d = r.Tables[0]
		}
		return &ImportReconcileError{Table: d.Table, Rows: r.RowsIn, Used: r.Imported, Orphans: d.Orphans, Rejected: r.Rejected}
	}
	return nil
}

// rejectRow builds the quarantine row for a source row that failed.
func rejectRow(table string, row int64, why string, q QuarantinedRow) QuarantinedRow {
	q.Reason = fmt.Sprintf("row %d of %s: %s", row, table, why)
	q.SourceFile = table
	q.SourceRow = row
	return q
}

// checkImportOut validates an importer's output directory.
func checkImportOut(outDir string) (string, error) {
	switch {
	case strings.TrimSpace(outDir) == "":
		return "", fmt.Errorf("%w: empty output directory", ErrInvalidConfig)
	case strings.Contains(outDir, "://") && !strings.HasPrefix(outDir, "file://"):
		return "", fmt.Errorf("%w: output directory %q must be local", ErrInvalidConfig, outDir)
	}
	return strings.TrimPrefix(outDir, "file://"), nil
}

// writeImport writes events and rejects through Ingest's writer (the same
// layout, file names, sort order and content hash), then import.json. The
// result must reconcile first: nothing is written otherwise.
func writeImport(ctx context.Context, outDir string, events []Event, inputs []InputFile, res *ImportResult) error {
	if err := res.Reconcile(); err != nil {
		return err
	}
	m := IngestManifest{SchemaVersion: SchemaVersion, Inputs: inputs, TypeCounts: map[string]int64{}, BadFiles: []BadFile{}}
	if m.Inputs == nil {
		m.Inputs = []InputFile{}
	}
	byDay := map[string][]Event{}
	for _, e := range events {
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
	m.Accepted = int64(len(events))
	m.Quarantined = int64(len(res.Rejects))
	m.RowsIn = m.Accepted + m.Quarantined
	if err := m.Reconcile(); err != nil {
		return err
	}
	m.Reconciles = true
	rejects := res.Rejects
	if rejects == nil {
		rejects = []QuarantinedRow{}
	}
	if err := writeOutputs(ctx, outDir, byDay, rejects, &m); err != nil {
		return err
	}
	res.Events = m.Accepted
	res.Manifest = m
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return putFile(ctx, blob.NewLocal(outDir), importFile, nil, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}
