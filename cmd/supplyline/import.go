package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/supplyline/supplyline/dataset"
)

const importUsage = `usage:
  supplyline import olist --in DIR --out DIR
  supplyline import mapped --mapping MAPPING.json --in FILE --out DIR`

// runImport converts a real dataset into canonical events: the Olist CSV
// tables, or any CSV or Parquet table through a JSON column mapping.
func runImport(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(out, importUsage)
		return nil
	}
	kind, args := args[0], args[1:]
	fs := flag.NewFlagSet("import "+kind, flag.ContinueOnError)
	in := fs.String("in", "", "input: the directory of Olist CSV files (olist) or a CSV or Parquet file (mapped); required")
	dir := fs.String("out", "", "output directory: events/ (day-partitioned canonical Parquet), quarantine/, manifest.json, import.json; required")
	var mappingPath *string
	switch kind {
	case "olist":
	case "mapped":
		mappingPath = fs.String("mapping", "", "JSON mapping of the input's columns to canonical fields; required")
	default:
		return fmt.Errorf("import: unknown source %q\n%s", kind, importUsage)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	var missing []string
	if *in == "" {
		missing = append(missing, "--in")
	}
	if *dir == "" {
		missing = append(missing, "--out")
	}
	if mappingPath != nil && *mappingPath == "" {
		missing = append(missing, "--mapping")
	}
	if len(missing) > 0 {
		return fmt.Errorf("import %s: %s required\n%s", kind, strings.Join(missing, " and "), importUsage)
	}

	progress := progressLine(os.Stderr)
	progress(fmt.Sprintf("importing %s from %s ...", kind, *in))
	start := time.Now()
	var res dataset.ImportResult
	var err error
	if kind == "olist" {
		res, err = dataset.ImportOlist(ctx, dataset.OlistConfig{Dir: *in, OutDir: *dir})
	} else {
		var m dataset.Mapping
		if m, err = dataset.ReadMapping(*mappingPath); err != nil {
			return err
		}
		res, err = dataset.ImportMapped(ctx, dataset.MappedConfig{Mapping: m, Input: *in, OutDir: *dir})
		if errors.Is(err, dataset.ErrInvalidMapping) {
			return fmt.Errorf("import mapped: %s does not fit %s:\n%w", *mappingPath, *in, err)
		}
	}
	if err != nil {
		return fmt.Errorf("import %s: %w", kind, err)
	}
	elapsed := time.Since(start)
	progress(fmt.Sprintf("imported in %v\n", elapsed.Round(time.Millisecond)))
	printImport(out, res, *dir, elapsed)
	return nil
}

// printImport prints the counts: imported, rejected, missing joins.
func printImport(w io.Writer, res dataset.ImportResult, dir string, elapsed time.Duration) {
	unit := "rows"
	if res.Source == "olist" {
		unit = "orders"
	}
	var rows int64
	for _, t := range res.Tables {
		rows += t.Rows
	}
	fmt.Fprintf(w, "imported %d of %d %s (%s) as %d events in %s\n", res.Imported, res.RowsIn, unit, res.Source, res.Events, filepath.Join(dir, "events"))
	fmt.Fprintf(w, "rejected %d rows (%s)\n", res.Rejected, filepath.Join(dir, res.Manifest.Quarantine))
	if res.Source == "olist" {
		var by []string
		for _, k := range slices.Sorted(maps.Keys(res.MissingJoinsBy)) {
			by = append(by, fmt.Sprintf("%s %d", k, res.MissingJoinsBy[k]))
		}
		fmt.Fprintf(w, "missing joins %d orders (%s)\n", res.MissingJoins, strings.Join(by, ", "))
		fmt.Fprintf(w, "time-order violations %d orders (kept as in the source, marked time_order_violation)\n", len(res.TimeOrderViolations))
	}
	for _, t := range res.Tables {
		fmt.Fprintf(w, "  %-36s rows %6d  used %6d  orphans %6d  rejected %4d\n", t.Table, t.Rows, t.Used, t.Orphans, t.Rejected)
	}
	if s := elapsed.Seconds(); s > 0 {
		fmt.Fprintf(w, "%d source rows in %v (%.0f rows/s); content hash %s\n", rows, elapsed.Round(time.Millisecond), float64(rows)/s, res.Manifest.ContentHash)
	}
}

// progressLine returns a printer of one-line progress to f when f is a
// terminal, and a no-op otherwise, so logs and pipes stay clean.
func progressLine(f *os.File) func(string) {
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return func(string) {}
	}
	return func(s string) { fmt.Fprintf(f, "\r\033[K%s", s) }
}
