package dataset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
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
	// Workers is how many row-group tasks are read, validated and written
	// at once; zero means GOMAXPROCS. The output is the same for any value.
	Workers int `json:"workers,omitempty"`

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
	case c.Workers < 0:
		return fmt.Errorf("%w: %d workers", ErrInvalidConfig, c.Workers)
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
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
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

// Ingest validates, deduplicates and canonicalises the input events:
//
//	OutDir/events/date=YYYY-MM-DD/part-NNNNN.parquet  accepted events, zstd
//	OutDir/quarantine/quarantine.parquet             rejected rows with a reason (always written)
//	OutDir/manifest.json                             the IngestManifest
//
// Input files are taken in sorted name order and each file's rows in row
// order; that is "input order". A row whose event_id an earlier row (in
// input order) already had is a duplicate and is dropped: the first wins.
// An unreadable file (not Parquet, truncated, corrupt, missing a required
// column) contributes no rows, even if it fails after some of its row
// groups were read, and is listed in the manifest's BadFiles. Ingest then
// returns the complete manifest together with a *BadFilesError, so the
// caller decides whether a partial ingest is acceptable.
//
// Ingest streams. Up to IngestConfig.Workers tasks (runs of consecutive row
// groups of one file, see taskRows) are read, validated column by column
// and hashed at once; each task then takes its turn, in input order, to be
// deduplicated against every earlier row, and writes its accepted rows, one
// part file per UTC day it touches, while later tasks take their turns. A
// day's parts are numbered in input order and a part's rows are in input
// order, so for inputs that are one sorted file per day, such as
// Generate's, there is one part per day, sorted by (event_time, event_id).
// The output bytes, which duplicate wins and the quarantine are the same
// for any number of workers.
//
// Memory is bounded by Workers x (the larger of taskRows rows and the
// largest row group) of decoded rows, plus the deduplication set (see
// idSet: about 64 MiB per million distinct ids); it does not grow with the
// input otherwise. Outputs are staged below OutDir/.ingest-tmp and replace
// the previous events/ and quarantine/ only once the ingest has succeeded.
func Ingest(ctx context.Context, cfg IngestConfig) (IngestManifest, error) {
	if err := cfg.Validate(); err != nil {
		return IngestManifest{}, err
	}
	cfg = cfg.withDefaults()
	tmpDir := filepath.Join(cfg.OutDir, tmpDirName)
	if err := os.RemoveAll(tmpDir); err != nil {
		return IngestManifest{}, fmt.Errorf("dataset: ingest: clear %s: %w", tmpDir, err)
	}
	defer os.RemoveAll(tmpDir)

	sources, bad, err := resolveInputs(ctx, cfg)
	if err != nil {
		return IngestManifest{}, err
	}
	r := newIngestRun(cfg, tmpDir)
	if err := r.run(ctx, sources); err != nil {
		return IngestManifest{}, err
	}
	m := r.m
	m.BadFiles = append(bad, r.bad...)
	if m.BadFiles == nil {
		m.BadFiles = []BadFile{}
	}
	if err := m.Reconcile(); err != nil {
		return IngestManifest{}, err
	}
	m.Reconciles = true
	if err := r.install(ctx, &m); err != nil {
		return IngestManifest{}, err
	}
	slog.Info("ingest done", "out", cfg.OutDir, "rows_in", m.RowsIn, "accepted", m.Accepted,
		"quarantined", m.Quarantined, "duplicates", m.Duplicates, "bad_files", len(m.BadFiles),
		"workers", cfg.Workers, "content_hash", m.ContentHash)
	if len(m.BadFiles) > 0 {
		return m, &BadFilesError{Files: m.BadFiles}
	}
	return m, nil
}

// writeOutputs replaces the canonical files, the quarantine and the
// manifest with events held in memory, one sorted part per day. The
// importers use it; Ingest streams instead (ingest_run.go).
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
	m.Files = []string{}
	var sums []string
	for _, d := range days {
		events := byDay[d]
		sortEvents(events)
		key := eventsDir + "/date=" + d + "/part-00000.parquet"
		h := sha256.New()
		if err := putFile(ctx, store, key, h, func(w io.Writer) error { return writeEvents(w, events) }); err != nil {
			return err
		}
		m.Files = append(m.Files, key)
		sums = append(sums, hex.EncodeToString(h.Sum(nil)))
	}
	m.ContentHash = contentHash(m.Files, sums)

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

// contentHash is IngestManifest.ContentHash of files, whose own hex sha256
// sums are sums.
func contentHash(files, sums []string) string {
	h := sha256.New()
	for i, f := range files {
		io.WriteString(h, f+"\n"+sums[i]+"\n")
	}
	return hex.EncodeToString(h.Sum(nil))
}
