package dataset

import (
	"errors"
	"fmt"
	"strings"
)

// Errors of package dataset. Inspect them with errors.Is and errors.As:
//
//   - ErrInvalidConfig: a GenConfig or IngestConfig failed Validate. Permanent:
//     retrying the same input fails the same way.
//   - *BadFilesError: Ingest met input files it could not read at all (not
//     Parquet, truncated, missing a required column). Every other file was
//     still ingested and the manifest is complete for them; the caller
//     decides whether a partial ingest is acceptable.
//   - *MissingColumnError: an input file lacks a required column. It appears
//     inside BadFilesError, one per such file.
//   - *FieldError: one field of one row failed validation; its text is the
//     quarantine reason after the "row N of FILE: " prefix.
//   - *ReconcileError: the ingest's counts do not add up, that is rows in is
//     not accepted plus quarantined plus duplicates. This is a bug, never an
//     input problem.
//   - ErrInvalidMapping: a Mapping failed Validate. It wraps
//     ErrInvalidConfig, so errors.Is finds either.
//   - *MappingError: one problem of a Mapping, naming the mapping field.
//     Validate joins one per problem (errors.Join), so a user sees every
//     problem at once; each unwraps to ErrInvalidMapping.
//   - *ImportReconcileError: an importer's counts for one source table do
//     not add up (rows is not used plus orphans plus rejected). A bug, never
//     an input problem.
var ErrInvalidConfig = errors.New("dataset: invalid config")

// ErrInvalidMapping is wrapped by every *MappingError.
var ErrInvalidMapping = fmt.Errorf("%w: invalid mapping", ErrInvalidConfig)

// BadFile names one input that could not be read and why.
type BadFile struct {
	File  string `json:"file"`
	Error string `json:"error"`
}

// BadFilesError lists every input file Ingest could not read.
type BadFilesError struct {
	Files []BadFile
}

func (e *BadFilesError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dataset: %d bad input file(s)", len(e.Files))
	for _, f := range e.Files {
		fmt.Fprintf(&b, "; %s: %s", f.File, f.Error)
	}
	return b.String()
}

// MissingColumnError reports a required column absent from an input file.
type MissingColumnError struct {
	File   string
	Column string
}

func (e *MissingColumnError) Error() string {
	return fmt.Sprintf("%s: missing required column %q", e.File, e.Column)
}

// FieldError is a validation failure of one field of one event.
type FieldError struct {
	Field string // canonical column name, e.g. "quantity"
	Msg   string // e.g. "-3 is negative"
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// ReconcileError reports counts that do not reconcile.
type ReconcileError struct {
	RowsIn, Accepted, Quarantined, Duplicates int64
}

func (e *ReconcileError) Error() string {
	return fmt.Sprintf("dataset: ingest does not reconcile: rows in %d != accepted %d + quarantined %d + duplicates %d",
		e.RowsIn, e.Accepted, e.Quarantined, e.Duplicates)
}

// MappingError is one problem of a column mapping file.
type MappingError struct {
	Field string // mapping field, e.g. "event_time.formats[1]" or "extras[2]"
	Msg   string // e.g. `column "ts" is not in the input header`
}

func (e *MappingError) Error() string { return "mapping: " + e.Field + ": " + e.Msg }

// Unwrap makes errors.Is(err, ErrInvalidMapping) (and ErrInvalidConfig) true.
func (e *MappingError) Unwrap() error { return ErrInvalidMapping }

// ImportReconcileError reports an importer's table counts that do not add up.
type ImportReconcileError struct {
	Table                         string
	Rows, Used, Orphans, Rejected int64
}

func (e *ImportReconcileError) Error() string {
	return fmt.Sprintf("dataset: import of %s does not reconcile: rows %d != used %d + orphans %d + rejected %d",
		e.Table, e.Rows, e.Used, e.Orphans, e.Rejected)
}
