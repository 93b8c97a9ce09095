package tokenize

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/supplyline/supplyline/dataset"
)

// EventReader is a stream of canonical events. Read fills evs with up to
// len(evs) events and returns how many; it returns io.EOF (with n == 0)
// at the end. Events handed out are the caller's to keep.
type EventReader interface {
	Read(evs []dataset.Event) (n int, err error)
}

// sliceReader is an EventReader over events in memory; it copies them out
// (the copies share their Extras maps, which the build only reads).
type sliceReader struct{ evs []dataset.Event }

func (r *sliceReader) Read(evs []dataset.Event) (int, error) {
	if len(r.evs) == 0 {
		return 0, io.EOF
	}
	n := copy(evs, r.evs)
	r.evs = r.evs[n:]
	return n, nil
}

// CanonicalReader streams the events of a directory of canonical Parquet
// files (an ingest output, whose events/ subdirectory holds the day
// partitions, or any directory of canonical files such as
// dataset.Generate's), file after file in path order, a batch of rows at a
// time: memory holds one batch, not the table. Unlike dataset.ReadEvents
// it does not sort the events; the build does not need them sorted.
type CanonicalReader struct {
	files []string
	f     *os.File
	r     *parquet.GenericReader[dataset.Event]
}

var _ EventReader = (*CanonicalReader)(nil)

// OpenCanonical lists the canonical Parquet files below dir (dir/events
// when that exists, so an ingest's quarantine is not read) for reading.
func OpenCanonical(dir string) (*CanonicalReader, error) {
	root := dir
	if st, err := os.Stat(filepath.Join(dir, "events")); err == nil && st.IsDir() {
		root = filepath.Join(dir, "events")
	}
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".parquet") && !strings.HasPrefix(d.Name(), ".") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tokenize: list canonical events in %s: %w", dir, err)
	}
	slices.Sort(files)
	return &CanonicalReader{files: files}, nil
}

// Read implements EventReader.
func (c *CanonicalReader) Read(evs []dataset.Event) (int, error) {
	for {
		if c.r == nil {
			if len(c.files) == 0 {
				return 0, io.EOF
			}
			f, err := os.Open(c.files[0])
			if err != nil {
				return 0, fmt.Errorf("tokenize: read canonical events: %w", err)
			}
			c.f, c.r = f, parquet.NewGenericReader[dataset.Event](f)
		}
		clear(evs) // the reader would otherwise reuse the Extras maps of evs
		n, err := c.r.Read(evs)
		for i := range evs[:n] {
			evs[i].EventTime = evs[i].EventTime.UTC()
		}
		if err == io.EOF {
			name := c.files[0]
			c.files = c.files[1:]
			if cerr := c.closeFile(); cerr != nil {
				return 0, fmt.Errorf("tokenize: read canonical events %s: %w", name, cerr)
			}
			err = nil
		}
		if err != nil {
			return n, fmt.Errorf("tokenize: read canonical events %s: %w", c.files[0], err)
		}
		if n > 0 {
			return n, nil
		}
	}
}

func (c *CanonicalReader) closeFile() error {
	if c.r == nil {
		return nil
	}
	err := c.r.Close()
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	c.f, c.r = nil, nil
	return err
}

// Close releases the file being read.
func (c *CanonicalReader) Close() error { return c.closeFile() }
