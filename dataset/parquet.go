package dataset

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// schemaVersionKey is the Parquet key/value metadata key that carries SchemaVersion.
const schemaVersionKey = "supplyline.schema_version"

// writerOptions are shared by every canonical file, generated or ingested,
// so the same events always give the same bytes. Strings are PLAIN-encoded
// (then Snappy-compressed): parquet-go's default for them,
// DELTA_LENGTH_BYTE_ARRAY, is less widely supported, and arrow-go v18.8's
// decoder for it leaks allocator memory.
func writerOptions() []parquet.WriterOption {
	return []parquet.WriterOption{
		parquet.Compression(&parquet.Snappy),
		parquet.DefaultEncodingFor(parquet.ByteArray, &parquet.Plain),
		parquet.KeyValueMetadata(schemaVersionKey, strconv.Itoa(SchemaVersion)),
	}
}

// writeEvents writes events as one canonical Parquet file to w.
func writeEvents(w io.Writer, events []Event) error {
	pw := parquet.NewGenericWriter[Event](w, writerOptions()...)
	if _, err := pw.Write(events); err != nil {
		return err
	}
	return pw.Close()
}

// sortEvents orders events by (event_time, event_id), the canonical order.
func sortEvents(events []Event) {
	slices.SortFunc(events, func(a, b Event) int {
		if c := a.EventTime.Compare(b.EventTime); c != 0 {
			return c
		}
		return strings.Compare(a.EventID, b.EventID)
	})
}

// ReadEvents reads every canonical Parquet file below dir and returns the
// events sorted by (event_time, event_id). dir is an ingest OutDir (its
// events/ subdirectory is read, so the quarantine is not) or any directory
// of canonical files, such as Generate's output.
//
// Thin for now: it loads everything into memory, which suits the synthetic
// worlds the tokenizer renders today. A streaming reader (io-style Read
// returning io.EOF) over day partitions replaces it when data grows.
func ReadEvents(ctx context.Context, dir string) ([]Event, error) {
	root := dir
	if st, err := os.Stat(filepath.Join(dir, "events")); err == nil && st.IsDir() {
		root = filepath.Join(dir, "events")
	}
	files, err := findParquet(root)
	if err != nil {
		return nil, err
	}
	var out []Event
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		evs, err := readEventFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
	}
	sortEvents(out)
	return out, nil
}

func readEventFile(name string) ([]Event, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("dataset: read events: %w", err)
	}
	defer f.Close()
	r := parquet.NewGenericReader[Event](f)
	defer r.Close()
	evs := make([]Event, r.NumRows())
	n, err := r.Read(evs)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("dataset: read events %s: %w", name, err)
	}
	if n != len(evs) {
		return nil, fmt.Errorf("dataset: read events %s: got %d of %d rows", name, n, len(evs))
	}
	for i := range evs {
		evs[i].EventTime = evs[i].EventTime.UTC()
	}
	return evs, nil
}

// findParquet returns every *.parquet file below root, sorted.
func findParquet(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".parquet") && !strings.HasPrefix(d.Name(), ".") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dataset: list %s: %w", root, err)
	}
	slices.Sort(out)
	return out, nil
}
