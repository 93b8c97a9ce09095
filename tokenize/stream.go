package tokenize

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/supplyline/supplyline/dataset"
)

// The streaming half of Build: events -> spill buckets (spill.go) ->
// documents rendered bucket by bucket on all workers -> one run file of
// documents per split, in build order, plus the train word counts the BPE
// trainer needs. The encoder then reads the runs back a batch at a time.

// readBatch is the number of events read from the source at a time.
const readBatch = 1024

// rendered is what renderToRuns produced.
type rendered struct {
	runs   [2]string // run file of train (0) and val (1)
	docs   [2]int64
	bytes  [2]int64
	events [2]int64
	stats  RenderStats
	counts map[string]int64 // words of the train text
	read   int64            // input events
	// buckets is the number of leaf buckets rendered, and depth the
	// deepest level among them (0: no bucket had to be cut again).
	buckets, depth int
}

// renderToRuns renders every event of src into run files in dir, split in
// time at cutoff, on workers goroutines. Memory: a batch of input events,
// the 64 spill writers' buffers, and per worker one bucket (at most about
// maxBucket bytes of spilled events, unless one entity alone is larger)
// and its documents, with at most 2×workers rendered buckets waiting to be
// written; plus the train word counts, which grow with the distinct words
// of the text, not with its length.
// progress is called from the calling goroutine (see BuildConfig.OnProgress).
func renderToRuns(ctx context.Context, src EventReader, cutoff time.Time, dir string, workers int, maxBucket int64, progress func(BuildProgress)) (rendered, error) {
	out := rendered{stats: newRenderStats(), counts: map[string]int64{}}
	progress(BuildProgress{Stage: "partitioning"})
	roots, read, err := partition(ctx, src, dir, &out.stats, progress)
	out.read = read
	if err != nil {
		return out, err
	}
	progress(BuildProgress{Stage: "rendering", Events: read})
	var runs [2]*runWriter
	for s, name := range []string{SplitTrain, SplitVal} {
		out.runs[s] = filepath.Join(dir, name+".docs")
		if runs[s], err = createRun(out.runs[s]); err != nil {
			return out, err
		}
		defer runs[s].f.Close()
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers = max(workers, 1)
	jobs := make(chan *renderJob, workers)
	order := make(chan *renderJob, 2*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				if j.err = ctx.Err(); j.err == nil {
					j.render(cutoff)
				}
				close(j.done)
			}
		})
	}
	go func() {
		defer close(order)
		defer close(jobs)
		// walk queues b, or its children in digit order when b is over
		// budget; false means stop.
		var walk func(b spillBucket) bool
		walk = func(b spillBucket) bool {
			if b.size > maxBucket && b.level < spillMaxLevel {
				children, err := splitBucket(ctx, b)
				if err != nil {
					j := &renderJob{err: err, done: make(chan struct{})}
					close(j.done)
					select {
					case order <- j:
					case <-ctx.Done():
					}
					return false
				}
				for _, c := range children {
					if !walk(c) {
						return false
					}
				}
				return true
			}
			j := &renderJob{bucket: b, done: make(chan struct{})}
			select {
			case order <- j:
			case <-ctx.Done():
				return false
			}
			jobs <- j // never blocks for long: the workers drain jobs until it closes
			return true
		}
		for _, b := range roots {
			if !walk(b) {
				return
			}
		}
	}()
	for j := range order {
		<-j.done
		if err == nil {
			err = j.err
		}
		for s := 0; err == nil && s < 2; s++ {
			for _, d := range j.docs[s] {
				if err = runs[s].add(d); err != nil {
					break
				}
				out.docs[s]++
				out.bytes[s] += int64(len(d.Text))
				out.events[s] += int64(d.Events)
			}
		}
		if err == nil {
			out.stats.add(j.stats)
			mergeCounts(out.counts, j.counts)
			out.buckets++
			out.depth = max(out.depth, j.bucket.level)
			progress(BuildProgress{Stage: "rendering", Events: read, Docs: out.docs[0] + out.docs[1]})
		}
		j.docs, j.counts = [2][]Document{}, nil
		if err != nil {
			cancel() // the walker stops; the loop drains what it queued
		}
	}
	wg.Wait()
	if err == nil {
		err = ctx.Err()
	}
	for _, r := range runs {
		if ferr := r.w.Flush(); err == nil {
			err = ferr
		}
	}
	return out, err
}

// partition reads src into the level-0 spill buckets in dir, counting the
// events that fit no document in stats.Unrendered. It returns the buckets
// and the number of events read.
func partition(ctx context.Context, src EventReader, dir string, stats *RenderStats, progress func(BuildProgress)) ([]spillBucket, int64, error) {
	set := &spillSet{dir: dir, prefix: "b"}
	buf := make([]dataset.Event, readBatch)
	var rec, scratch []byte
	var read int64
	for {
		if err := ctx.Err(); err != nil {
			set.abort()
			return nil, read, err
		}
		n, err := src.Read(buf)
		if read/progressEvents != (read+int64(n))/progressEvents {
			progress(BuildProgress{Stage: "partitioning", Events: read + int64(n)})
		}
		read += int64(n)
		for i := range buf[:n] {
			e := &buf[i]
			kind := entityOf(e)
			if kind == entityNone {
				stats.Unrendered[e.EventType]++
				continue
			}
			h := entityHash(e, kind)
			rec, scratch = appendRecord(rec[:0], scratch, h, e)
			if werr := set.write(h, rec); werr != nil {
				set.abort()
				return nil, read, fmt.Errorf("tokenize: spill events: %w", werr)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			set.abort()
			return nil, read, err
		}
	}
	roots, err := set.close()
	if err != nil {
		set.abort()
		return nil, read, fmt.Errorf("tokenize: spill events: %w", err)
	}
	return roots, read, nil
}

// renderJob is one leaf bucket and, once done is closed, its documents.
type renderJob struct {
	bucket spillBucket
	docs   [2][]Document // train, val; in build order
	stats  RenderStats
	counts map[string]int64
	err    error
	done   chan struct{}
}

// render reads the bucket's events, removes its file and renders them.
func (j *renderJob) render(cutoff time.Time) {
	evs, err := readBucket(j.bucket.path)
	if err != nil {
		j.err = fmt.Errorf("tokenize: read spilled events: %w", err)
		return
	}
	os.Remove(j.bucket.path)
	ptrs := make([]*dataset.Event, len(evs))
	for i := range evs {
		ptrs[i] = &evs[i]
	}
	j.stats = newRenderStats()
	train, val := renderEvents(ptrs, cutoff, &j.stats)
	j.docs = [2][]Document{sortBuildOrder(train), sortBuildOrder(val)}
	j.counts = map[string]int64{}
	for _, d := range train {
		countWords(j.counts, d.Text)
	}
}

// sortBuildOrder sorts docs by (keyHash, key, text), the order Build writes.
func sortBuildOrder(docs []Document) []Document {
	type keyed struct {
		h uint64
		d Document
	}
	ks := make([]keyed, len(docs))
	for i, d := range docs {
		ks[i] = keyed{keyHash(d.Key), d}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		if c := cmp.Compare(a.h, b.h); c != 0 {
			return c
		}
		if c := strings.Compare(a.d.Key, b.d.Key); c != 0 {
			return c
		}
		return strings.Compare(a.d.Text, b.d.Text)
	})
	for i := range ks {
		docs[i] = ks[i].d
	}
	return docs
}

// A run file holds one split's documents in build order: per document the
// uvarint event count, the uvarint text length and the text.
type runWriter struct {
	f   *os.File
	w   *bufio.Writer
	hdr []byte
}

func createRun(path string) (*runWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &runWriter{f: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
}

func (r *runWriter) add(d Document) error {
	r.hdr = binary.AppendUvarint(r.hdr[:0], uint64(d.Events))
	r.hdr = binary.AppendUvarint(r.hdr, uint64(len(d.Text)))
	if _, err := r.w.Write(r.hdr); err != nil {
		return err
	}
	_, err := r.w.WriteString(d.Text)
	return err
}

// runReader reads a run file back, one document at a time.
type runReader struct {
	f *os.File
	r *bufio.Reader
}

func openRun(path string) (*runReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &runReader{f: f, r: bufio.NewReaderSize(f, 256<<10)}, nil
}

// Read returns the next document (without its Key, which encoding does not
// need), or io.EOF after the last.
func (r *runReader) Read() (Document, error) {
	events, err := binary.ReadUvarint(r.r)
	if err == io.EOF {
		return Document{}, io.EOF
	}
	if err != nil {
		return Document{}, fmt.Errorf("tokenize: read rendered documents: %w", err)
	}
	n, err := binary.ReadUvarint(r.r)
	if err != nil {
		return Document{}, fmt.Errorf("tokenize: read rendered documents: %w", errOr(err, io.ErrUnexpectedEOF))
	}
	var b strings.Builder
	b.Grow(int(n))
	if _, err := io.CopyN(&b, r.r, int64(n)); err != nil {
		return Document{}, fmt.Errorf("tokenize: read rendered documents: %w", errOr(err, io.ErrUnexpectedEOF))
	}
	return Document{Text: b.String(), Events: int(events)}, nil
}

// skip discards the next n documents.
func (r *runReader) skip(n int) error {
	for range n {
		if _, err := binary.ReadUvarint(r.r); err != nil {
			return fmt.Errorf("tokenize: read rendered documents: %w", errOr(err, io.ErrUnexpectedEOF))
		}
		size, err := binary.ReadUvarint(r.r)
		if err == nil {
			_, err = r.r.Discard(int(size))
		}
		if err != nil {
			return fmt.Errorf("tokenize: read rendered documents: %w", errOr(err, io.ErrUnexpectedEOF))
		}
	}
	return nil
}

func (r *runReader) Close() error { return r.f.Close() }

// errOr returns err, or alt in place of io.EOF.
func errOr(err, alt error) error {
	if errors.Is(err, io.EOF) {
		return alt
	}
	return err
}
