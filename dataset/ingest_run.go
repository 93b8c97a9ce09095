package dataset

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/parquet-go/parquet-go"

	"github.com/supplyline/supplyline/dataset/blob"
)

// taskRows is the least number of rows a task reads: consecutive row
// groups of one file are taken together until they reach it, so that
// small row groups do not make small part files. A row group larger than
// this is a task of its own. Tests lower it to make every row group a task.
var taskRows int64 = 1 << 17

// readBatchRows is the size of the record batches a task is read in.
const readBatchRows = 1 << 16

// ingestZstdLevel is the zstd level of canonical files: 1, the fastest.
// Level 3 (zstd's default) makes files about 5% smaller and costs ~15% more
// ingest time.
const ingestZstdLevel = 1

// touchAhead is how many rows ahead of its adds commit touches the id
// set's slots (see idSet.touch).
const touchAhead = 256

// quarantineRowGroup bounds the rows a quarantine writer buffers.
const quarantineRowGroup = 1 << 16

// ingestFile is one input file while its tasks are in flight.
type ingestFile struct {
	idx     int
	src     source
	pf      *file.Reader
	cleanup func()
	once    sync.Once
	left    atomic.Int32 // tasks not yet read; the last one closes the file
}

func (f *ingestFile) close() {
	f.once.Do(func() {
		if f.cleanup != nil {
			f.cleanup()
		}
	})
}

// ingestTask is a run of consecutive row groups of one file, or the marker
// of a file that has none or could not be opened.
type ingestTask struct {
	seq      int // position in input order
	file     *ingestFile
	rgs      []int
	firstRow int64 // the file row number of the task's first row
	wantRows int64 // the rows the footer promises
	last     bool  // the file's last task
	err      error // the file could not be opened, or this task not read
	batches  []*ingestBatch
}

// fileState accumulates one input file's counts during its turns; they
// join the manifest only when its last task has committed, so that a file
// found bad part-way through leaves no trace but its BadFile.
type fileState struct {
	idx                                    int
	src                                    source
	failed                                 error
	rows, accepted, quarantined, duplicate int64
	types                                  []int64 // by EventTypes index
	minMicros, maxMicros                   int64
	q                                      *quarantineSpill
}

// dayPart is one part file: the accepted rows of one task on one day.
type dayPart struct {
	file int // input file index
	day  int32
	part int
	key  string
	runs []rowRun
	sum  string // hex sha256 of the bytes, once written
}

// rowRun is rows [start, end) of batch batch of a task.
type rowRun struct{ batch, start, end int32 }

// ingestRun is one Ingest after its inputs are resolved.
type ingestRun struct {
	cfg    IngestConfig
	tmpDir string
	stage  *blob.Local // tmpDir/out: events/ and quarantine/ until installed
	seed   maphash.Seed
	props  *pq.WriterProperties

	// The turn: a task commits (deduplicates, counts, numbers its parts)
	// when next is its seq. Everything below is guarded by mu.
	mu          sync.Mutex
	turn        *sync.Cond
	next        int
	ids         *idSet
	cur         *fileState
	dayParts    map[int32]int
	parts       []*dayPart
	failed      map[int]bool
	quarantines []string // spill files of good input files, in input order
	m           IngestManifest
	bad         []BadFile
	types       []int64
	minMicros   int64
	maxMicros   int64
	touched     uint64 // see idSet.touch

	syncs     sync.WaitGroup // fsyncs of written parts
	syncSlots chan struct{}  // bounds the fsyncs in flight
	syncErr   atomic.Pointer[error]

	filesMu sync.Mutex
	files   []*ingestFile // every opened file, for cleanup
}

func newIngestRun(cfg IngestConfig, tmpDir string) *ingestRun {
	r := &ingestRun{
		cfg:       cfg,
		tmpDir:    tmpDir,
		stage:     blob.NewLocal(filepath.Join(tmpDir, "out")),
		seed:      maphash.MakeSeed(),
		props:     ingestWriterProps(cfg),
		ids:       newIDSet(),
		dayParts:  map[int32]int{},
		failed:    map[int]bool{},
		types:     make([]int64, len(EventTypes)),
		syncSlots: make(chan struct{}, 8),
		minMicros: 1<<63 - 1,
		maxMicros: -1 << 63,
		m:         IngestManifest{SchemaVersion: SchemaVersion, TypeCounts: map[string]int64{}, Inputs: []InputFile{}},
	}
	r.turn = sync.NewCond(&r.mu)
	return r
}

// ingestWriterProps are the Parquet settings of canonical part files.
// Strings are PLAIN and left to zstd: arrow-go's dictionary encoder for
// byte arrays allocates per value and cost more than it saved. The
// repetitive numbers are dictionary-encoded. Only event_time, the column
// readers prune by, carries statistics.
func ingestWriterProps(cfg IngestConfig) *pq.WriterProperties {
	return pq.NewWriterProperties(
		pq.WithAllocator(cfg.mem),
		pq.WithCompression(compress.Codecs.Zstd),
		pq.WithCompressionLevel(ingestZstdLevel),
		pq.WithDictionaryDefault(false),
		pq.WithDictionaryFor("quantity", true),
		pq.WithDictionaryFor("price", true),
		pq.WithStats(false),
		pq.WithStatsFor("event_time", true),
		pq.WithCreatedBy("supplyline ingest"),
	)
}

// run reads, validates, deduplicates and writes every source; r.m and
// r.bad then hold the counts. Only an error that stops the whole ingest
// (cancellation, a failed write) is returned.
func (r *ingestRun) run(ctx context.Context, sources []source) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		r.turn.Broadcast()
		r.mu.Unlock()
	})
	defer stop()

	tasks := make(chan *ingestTask)
	var wg sync.WaitGroup
	wg.Go(func() { r.produce(ctx, sources, tasks) })
	for range r.cfg.Workers {
		wg.Go(func() {
			for t := range tasks {
				if err := r.do(ctx, t); err != nil {
					cancel(err)
				}
			}
		})
	}
	wg.Wait()
	r.syncs.Wait()
	if err := r.syncErr.Load(); err != nil {
		cancel(*err)
	}
	r.filesMu.Lock()
	for _, f := range r.files {
		f.close()
	}
	r.filesMu.Unlock()
	if r.cur != nil && r.cur.q != nil {
		r.cur.q.discard()
	}
	if err := context.Cause(ctx); err != nil {
		return err
	}
	for i, n := range r.types {
		if n > 0 {
			r.m.TypeCounts[string(EventTypes[i])] = n
		}
	}
	if r.m.Accepted > 0 {
		r.m.MinEventTime = time.UnixMicro(r.minMicros).UTC()
		r.m.MaxEventTime = time.UnixMicro(r.maxMicros).UTC()
	}
	return nil
}

// produce opens the sources in input order and hands out their tasks.
// Opening one file ahead of the workers overlaps an S3 download with work.
func (r *ingestRun) produce(ctx context.Context, sources []source, tasks chan<- *ingestTask) {
	defer close(tasks)
	seq := 0
	send := func(t *ingestTask) bool {
		t.seq = seq
		seq++
		select {
		case tasks <- t:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for i, src := range sources {
		f := &ingestFile{idx: i, src: src}
		plan, err := r.open(ctx, f)
		if ctx.Err() != nil {
			return
		}
		if err != nil || len(plan) == 0 {
			f.close()
			if !send(&ingestTask{file: f, last: true, err: err}) {
				return
			}
			continue
		}
		f.left.Store(int32(len(plan)))
		for j, t := range plan {
			t.file, t.last = f, j == len(plan)-1
			if !send(t) {
				return
			}
		}
	}
}

// open opens f, checks its schema and plans its tasks.
func (r *ingestRun) open(ctx context.Context, f *ingestFile) (plan []*ingestTask, err error) {
	defer func() {
		// The Parquet reader can panic on corrupt input it does not expect.
		if p := recover(); p != nil {
			plan, err = nil, fmt.Errorf("corrupt Parquet file: %v", p)
		}
	}()
	osf, cleanup, err := f.src.open(ctx, filepath.Join(r.tmpDir, "download"))
	if err != nil {
		return nil, err
	}
	f.cleanup = cleanup
	r.filesMu.Lock()
	r.files = append(r.files, f)
	r.filesMu.Unlock()
	pf, err := file.NewParquetReader(osf)
	if err != nil {
		return nil, fmt.Errorf("not a readable Parquet file: %w", err)
	}
	f.pf = pf
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, r.cfg.mem)
	if err != nil {
		return nil, fmt.Errorf("not a readable Parquet file: %w", err)
	}
	sc, err := fr.Schema()
	if err != nil {
		return nil, fmt.Errorf("unsupported Parquet schema: %w", err)
	}
	for _, c := range requiredColumns {
		if len(sc.FieldIndices(c)) == 0 {
			return nil, &MissingColumnError{File: f.src.name, Column: c}
		}
	}
	var row int64
	var t *ingestTask
	for rg := range pf.NumRowGroups() {
		n := pf.MetaData().RowGroup(rg).NumRows()
		if t == nil {
			t = &ingestTask{firstRow: row}
			plan = append(plan, t)
		}
		t.rgs = append(t.rgs, rg)
		t.wantRows += n
		row += n
		if t.wantRows >= taskRows {
			t = nil
		}
	}
	return plan, nil
}

// do runs one task: read and convert, wait for its turn to commit, write.
func (r *ingestRun) do(ctx context.Context, t *ingestTask) error {
	if ctx.Err() != nil {
		return nil // draining after a stop
	}
	if t.err == nil && len(t.rgs) > 0 {
		t.batches, t.err = r.read(ctx, t)
	}
	defer func() {
		for _, b := range t.batches {
			b.release()
		}
	}()
	parts, err := r.commit(ctx, t)
	if err != nil {
		return err
	}
	for _, p := range parts {
		if err := r.writePart(ctx, p, t.batches); err != nil {
			return err
		}
	}
	return nil
}

// read reads and converts the task's row groups; any error makes its file bad.
func (r *ingestRun) read(ctx context.Context, t *ingestTask) (batches []*ingestBatch, err error) {
	f := t.file
	defer func() {
		if f.left.Add(-1) == 0 {
			f.close()
		}
	}()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("corrupt Parquet file: %v", p)
		}
		if err != nil {
			for _, b := range batches {
				b.release()
			}
			batches = nil
		}
	}()
	fr, err := pqarrow.NewFileReader(f.pf, pqarrow.ArrowReadProperties{BatchSize: readBatchRows}, r.cfg.mem)
	if err != nil {
		return nil, fmt.Errorf("not a readable Parquet file: %w", err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, t.rgs)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	defer rr.Release()
	conv := newConverter(f.src.name, r.cfg, r.seed)
	row := t.firstRow
	for rr.Next() {
		rec := rr.RecordBatch()
		batches = append(batches, conv.convert(rec, row))
		row += rec.NumRows()
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return batches, fmt.Errorf("read row %d: %w", row, err)
	}
	if got := row - t.firstRow; got != t.wantRows {
		return batches, fmt.Errorf("row groups %v: read %d of %d rows", t.rgs, got, t.wantRows)
	}
	return batches, nil
}

// commit waits for t's turn, then deduplicates its rows against every
// earlier row, counts them and numbers the part files t is to write.
func (r *ingestRun) commit(ctx context.Context, t *ingestTask) ([]*dayPart, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.next != t.seq && ctx.Err() == nil {
		r.turn.Wait()
	}
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	defer func() {
		r.next++
		r.turn.Broadcast()
	}()

	fs := r.cur
	if fs == nil || fs.idx != t.file.idx {
		fs = &fileState{idx: t.file.idx, src: t.file.src, types: make([]int64, len(EventTypes)), minMicros: 1<<63 - 1, maxMicros: -1 << 63}
		r.cur = fs
	}
	var parts []*dayPart
	switch {
	case fs.failed != nil:
	case t.err != nil:
		fs.failed = t.err
		r.ids.kill(uint32(fs.idx))
	default:
		var err error
		if parts, err = r.accept(fs, t); err != nil {
			return nil, err
		}
	}
	if t.last {
		r.cur = nil
		if err := r.finishFile(fs); err != nil {
			return nil, err
		}
	}
	return parts, nil
}

// accept is commit for a task that read: deduplication, counts, parts.
func (r *ingestRun) accept(fs *fileState, t *ingestTask) ([]*dayPart, error) {
	var parts []*dayPart
	byDay := map[int32]*dayPart{}
	file := uint32(fs.idx)
	for bi, b := range t.batches {
		fs.rows += b.rec.NumRows()
		if len(b.quarantined) > 0 {
			if fs.q == nil {
				q, err := newQuarantineSpill(filepath.Join(r.tmpDir, "quarantine", strconv.Itoa(fs.idx)+".parquet"))
				if err != nil {
					return nil, err
				}
				fs.q = q
			}
			if err := fs.q.write(b.quarantined); err != nil {
				return nil, err
			}
			fs.quarantined += int64(len(b.quarantined))
		}
		ids := b.rec.Column(colEventID).(*array.String)
		times := b.rec.Column(colEventTime).(*array.Timestamp).Values()
		var cur *dayPart
		for k, i := range b.valid {
			if k%touchAhead == 0 {
				r.touched += r.ids.touch(b.hash[k:min(k+touchAhead, len(b.hash))])
			}
			if !r.ids.add(b.hash[k], ids.Value(int(i)), file) {
				fs.duplicate++
				continue
			}
			fs.accepted++
			fs.types[b.typ[k]]++
			us := int64(times[i])
			fs.minMicros = min(fs.minMicros, us)
			fs.maxMicros = max(fs.maxMicros, us)
			if d := b.day[k]; cur == nil || cur.day != d {
				if cur = byDay[d]; cur == nil {
					cur = &dayPart{file: fs.idx, day: d}
					byDay[d] = cur
					parts = append(parts, cur)
				}
			}
			if n := len(cur.runs) - 1; n >= 0 && cur.runs[n].batch == int32(bi) && cur.runs[n].end == i {
				cur.runs[n].end++
			} else {
				cur.runs = append(cur.runs, rowRun{int32(bi), i, i + 1})
			}
		}
	}
	for _, p := range parts {
		p.part = r.dayParts[p.day]
		r.dayParts[p.day]++
		p.key = fmt.Sprintf("%s/date=%s/part-%05d.parquet", eventsDir, dayString(p.day), p.part)
		r.parts = append(r.parts, p)
	}
	return parts, nil
}

func dayString(day int32) string {
	return time.UnixMicro(int64(day) * microsPerDay).UTC().Format(time.DateOnly)
}

// finishFile adds a file's counts to the manifest, or records it as bad.
func (r *ingestRun) finishFile(fs *fileState) error {
	if fs.failed != nil {
		slog.Warn("ingest: bad input file", "file", fs.src.name, "err", fs.failed)
		r.bad = append(r.bad, BadFile{File: fs.src.name, Error: fs.failed.Error()})
		r.failed[fs.idx] = true
		if fs.q != nil {
			fs.q.discard()
		}
		return nil
	}
	if fs.q != nil {
		if err := fs.q.close(); err != nil {
			return err
		}
		r.quarantines = append(r.quarantines, fs.q.path)
	}
	r.m.Inputs = append(r.m.Inputs, InputFile{File: fs.src.name, Rows: fs.rows, Bytes: fs.src.size})
	r.m.RowsIn += fs.rows
	r.m.Accepted += fs.accepted
	r.m.Quarantined += fs.quarantined
	r.m.Duplicates += fs.duplicate
	for i, n := range fs.types {
		r.types[i] += n
	}
	if fs.accepted > 0 {
		r.minMicros = min(r.minMicros, fs.minMicros)
		r.maxMicros = max(r.maxMicros, fs.maxMicros)
	}
	return nil
}

// writePart writes one part file to the stage.
func (r *ingestRun) writePart(ctx context.Context, p *dayPart, batches []*ingestBatch) error {
	rec, err := assemble(p, batches, r.cfg)
	if err != nil {
		return fmt.Errorf("dataset: ingest: %s: %w", p.key, err)
	}
	defer rec.Release()
	// The stage is private until install renames it into place, so parts
	// are written in place, and their fsyncs run beside the work (a
	// goroutine blocked in fsync holds no GOMAXPROCS slot); install waits
	// for every one of them.
	path := filepath.Join(r.stage.Root(), filepath.FromSlash(p.key))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("dataset: ingest: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("dataset: ingest: %w", err)
	}
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<16)
	err = func() error {
		fw, err := pqarrow.NewFileWriter(canonSchema, bw, r.props, pqarrow.DefaultWriterProps())
		if err != nil {
			return err
		}
		if err := fw.Write(rec); err != nil {
			fw.Close()
			return err
		}
		if err := fw.Close(); err != nil {
			return err
		}
		return bw.Flush()
	}()
	if err != nil {
		f.Close()
		return fmt.Errorf("dataset: ingest: write %s: %w", p.key, err)
	}
	p.sum = hex.EncodeToString(h.Sum(nil))
	r.syncs.Go(func() {
		r.syncSlots <- struct{}{}
		err := f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		<-r.syncSlots
		if err != nil {
			r.syncErr.CompareAndSwap(nil, ptr(fmt.Errorf("dataset: ingest: sync %s: %w", p.key, err)))
		}
	})
	return nil
}

// assemble returns p's rows as one record: a slice when they are one run,
// a copy when duplicates or other days' rows split them.
func assemble(p *dayPart, batches []*ingestBatch, cfg IngestConfig) (arrow.RecordBatch, error) {
	if len(p.runs) == 1 {
		run := p.runs[0]
		return batches[run.batch].rec.NewSlice(int64(run.start), int64(run.end)), nil
	}
	var rows int64
	for _, run := range p.runs {
		rows += int64(run.end - run.start)
	}
	cols := make([]arrow.Array, canonSchema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	pieces := make([]arrow.Array, len(p.runs))
	for c := range cols {
		for i, run := range p.runs {
			pieces[i] = array.NewSlice(batches[run.batch].rec.Column(c), int64(run.start), int64(run.end))
		}
		var err error
		cols[c], err = array.Concatenate(pieces, cfg.mem)
		for _, a := range pieces {
			a.Release()
		}
		if err != nil {
			return nil, err
		}
	}
	return array.NewRecordBatch(canonSchema, cols, rows), nil
}

// install writes the quarantine and the manifest and replaces OutDir's
// events/ and quarantine/ with the staged ones.
func (r *ingestRun) install(ctx context.Context, m *IngestManifest) error {
	if err := r.writeQuarantine(ctx); err != nil {
		return err
	}
	m.Quarantine = quarantineFile
	var keep []*dayPart
	for _, p := range r.parts {
		if !r.failed[p.file] {
			keep = append(keep, p)
			continue
		}
		path := filepath.Join(r.stage.Root(), filepath.FromSlash(p.key))
		os.Remove(path)
		os.Remove(filepath.Dir(path)) // only if now empty
	}
	slices.SortFunc(keep, func(a, b *dayPart) int {
		return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.part, b.part))
	})
	m.Files = make([]string, len(keep))
	sums := make([]string, len(keep))
	for i, p := range keep {
		m.Files[i], sums[i] = p.key, p.sum
	}
	m.ContentHash = contentHash(m.Files, sums)

	for _, d := range []string{eventsDir, filepath.Dir(quarantineFile)} {
		dst := filepath.Join(r.cfg.OutDir, d)
		if err := os.RemoveAll(dst); err != nil {
			return fmt.Errorf("dataset: ingest: clear %s: %w", d, err)
		}
		src := filepath.Join(r.stage.Root(), d)
		if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err := os.Rename(src, dst); err != nil {
			return fmt.Errorf("dataset: ingest: %w", err)
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return putFile(ctx, blob.NewLocal(r.cfg.OutDir), manifestFile, nil, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// writeQuarantine joins the good files' quarantine spills, in input order,
// into the staged quarantine file. It is written even when empty.
func (r *ingestRun) writeQuarantine(ctx context.Context) error {
	return putFile(ctx, r.stage, quarantineFile, nil, func(w io.Writer) error {
		pw := parquet.NewGenericWriter[QuarantinedRow](w, quarantineOptions()...)
		buf := make([]QuarantinedRow, 1024)
		for _, path := range r.quarantines {
			if err := copyQuarantine(pw, path, buf); err != nil {
				return err
			}
		}
		return pw.Close()
	})
}

func copyQuarantine(pw *parquet.GenericWriter[QuarantinedRow], path string, buf []QuarantinedRow) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rd := parquet.NewGenericReader[QuarantinedRow](f)
	defer rd.Close()
	for {
		n, err := rd.Read(buf)
		if _, werr := pw.Write(buf[:n]); werr != nil {
			return werr
		}
		clear(buf[:n])
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func quarantineOptions() []parquet.WriterOption {
	return append(writerOptions(), parquet.MaxRowsPerRowGroup(quarantineRowGroup))
}

// quarantineSpill holds one input file's quarantined rows on disk until the
// file is known to be good (they join the quarantine) or bad (dropped).
type quarantineSpill struct {
	path string
	f    *os.File
	w    *parquet.GenericWriter[QuarantinedRow]
}

func newQuarantineSpill(path string) (*quarantineSpill, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("dataset: ingest: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: ingest: %w", err)
	}
	return &quarantineSpill{path: path, f: f, w: parquet.NewGenericWriter[QuarantinedRow](f, quarantineOptions()...)}, nil
}

func (q *quarantineSpill) write(rows []QuarantinedRow) error {
	if _, err := q.w.Write(rows); err != nil {
		return fmt.Errorf("dataset: ingest: quarantine: %w", err)
	}
	return nil
}

func (q *quarantineSpill) close() error {
	err := q.w.Close()
	if cerr := q.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("dataset: ingest: quarantine: %w", err)
	}
	return nil
}

func (q *quarantineSpill) discard() {
	q.w.Close()
	q.f.Close()
	os.Remove(q.path)
}

func ptr[T any](v T) *T { return &v }
