package dataset

import (
	"time"
)

// IngestManifest describes one ingest. Ingest writes it as JSON to
// OutDir/manifest.json; workflows pass it (it is small) instead of data.
type IngestManifest struct {
	// SchemaVersion of the canonical files, SchemaVersion at write time.
	SchemaVersion int `json:"schema_version"`
	// Inputs are the files read, in the order they were read (sorted by name).
	Inputs []InputFile `json:"inputs"`
	// RowsIn counts the rows of every readable input file.
	RowsIn int64 `json:"rows_in"`
	// Accepted rows are in the canonical files.
	Accepted int64 `json:"accepted"`
	// Quarantined rows failed validation and are in the quarantine file.
	Quarantined int64 `json:"quarantined"`
	// Duplicates are valid rows whose event_id an earlier valid row had;
	// the first (in sorted file order, then row order) wins. A row of a bad
	// file never counts.
	Duplicates int64 `json:"duplicates"`
	// Reconciles is RowsIn == Accepted + Quarantined + Duplicates; Ingest
	// refuses to write a manifest where it is false.
	Reconciles bool `json:"reconciles"`
	// BadFiles are inputs that could not be read at all; their rows are not
	// in RowsIn.
	BadFiles []BadFile `json:"bad_files"`
	// Files are the canonical files, relative to OutDir, in (date, part)
	// order.
	Files []string `json:"files"`
	// Quarantine is the quarantine file, relative to OutDir.
	Quarantine string `json:"quarantine"`
	// ContentHash is the hex sha256 over, for every canonical file in Files
	// order, its relative path, a newline, the hex sha256 of its bytes and a
	// newline. Equal hashes mean equal canonical data, wherever the inputs
	// came from; an unchanged rerun over the same inputs gives the same hash.
	ContentHash string `json:"content_hash"`
	// MinEventTime and MaxEventTime bound the accepted events (zero if none).
	MinEventTime time.Time `json:"min_event_time"`
	MaxEventTime time.Time `json:"max_event_time"`
	// TypeCounts counts accepted events per event type.
	TypeCounts map[string]int64 `json:"type_counts"`
}

// InputFile is one input the ingest read.
type InputFile struct {
	File  string `json:"file"`
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`
}

// Reconcile returns a *ReconcileError unless the counts add up.
func (m *IngestManifest) Reconcile() error {
	if m.RowsIn != m.Accepted+m.Quarantined+m.Duplicates {
		return &ReconcileError{RowsIn: m.RowsIn, Accepted: m.Accepted, Quarantined: m.Quarantined, Duplicates: m.Duplicates}
	}
	return nil
}
