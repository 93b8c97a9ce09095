package loader

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/supplyline/supplyline/train"
)

// Loader hands out one rank's batches of the global order. It is not safe
// for concurrent use; the C ABI (train/loader/capi) serialises calls per handle.
type Loader struct {
	opts    Options
	windows int64 // (tokens-1)/SeqLen
	// state is the position after the last batch Next returned; the
	// prefetcher runs ahead of it.
	state   train.LoaderState
	p       *prefetcher
	cleanup runtime.Cleanup
	closed  bool
}

// Open maps and verifies the train split of the shard manifest at
// manifestPath (a manifest.json, or the directory holding it), positions
// the loader at opts.State and starts preparing batches.
func Open(manifestPath string, opts Options) (*Loader, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	s, err := openTrain(manifestPath)
	if err != nil {
		return nil, err
	}
	l := &Loader{opts: opts}
	if s.tokens > 0 {
		l.windows = (s.tokens - 1) / int64(opts.SeqLen)
	}
	if g := l.globalBatch(); l.windows < g {
		s.close()
		return nil, fmt.Errorf("%w: %s: %d train tokens make %d windows of %d+1, a global batch is %d windows",
			ErrNotEnoughData, manifestPath, s.tokens, l.windows, opts.SeqLen, g)
	}
	if opts.State.Position > l.windows {
		s.close()
		return nil, fmt.Errorf("%w: state.position %d is past the %d windows of an epoch", ErrInvalidOptions, opts.State.Position, l.windows)
	}
	l.state = opts.State
	l.state.WorldSize = int64(opts.WorldSize)
	l.p = startPrefetch(s, opts, l.windows)
	// A Loader dropped without Close still stops its goroutine and unmaps
	// its shards; the prefetcher holds no reference to l.
	l.cleanup = runtime.AddCleanup(l, func(p *prefetcher) { p.stop() }, l.p)
	return l, nil
}

func (l *Loader) globalBatch() int64 { return int64(l.opts.BatchSize) * int64(l.opts.WorldSize) }

// BatchTokens is the number of int64 values Next writes: BatchSize*(SeqLen+1).
func (l *Loader) BatchTokens() int { return l.opts.BatchSize * (l.opts.SeqLen + 1) }

// Windows is the number of windows in one epoch, the dropped tail included.
func (l *Loader) Windows() int64 { return l.windows }

// Next writes this rank's next batch into dst[:BatchTokens()], row after
// row: BatchSize windows of SeqLen+1 tokens (inputs are row[:SeqLen],
// targets row[1:]). It never fails for lack of data: epochs roll over. The
// batch was usually prepared ahead by the prefetcher, so Next is one copy;
// it allocates nothing.
func (l *Loader) Next(dst []int64) error {
	if l.closed {
		return ErrClosed
	}
	n := l.BatchTokens()
	if len(dst) < n {
		return fmt.Errorf("%w: got %d, need %d", ErrShortBuffer, len(dst), n)
	}
	b := l.p.take()
	copy(dst[:n], b.tokens)
	l.state.Epoch, l.state.Position = b.epoch, b.position
	l.p.give(b)
	return nil
}

// State returns the position to resume from: Open with it (and the same
// shards and global batch size) yields exactly the batches this loader
// would have yielded next. WorldSize is this loader's. Batches prepared
// ahead but not yet returned by Next do not count.
func (l *Loader) State() train.LoaderState { return l.state }

// Close stops the prefetcher and unmaps the shards. Next after Close
// returns ErrClosed; Close after Close does nothing.
func (l *Loader) Close() error {
	if l.closed {
		return nil
	}
	l.closed = true
	l.cleanup.Stop()
	return l.p.stop()
}

// prefetcher is the goroutine that prepares batches ahead of Next, and the
// ring of batch buffers it fills. Buffers circulate between two channels,
// free and full, whose capacity is the ring's size, so neither Next nor the
// goroutine allocates: sending a pointer on a channel does not.
type prefetcher struct {
	free, full chan *batch
	done       chan struct{}
	wg         sync.WaitGroup
	once       sync.Once
	err        error
	s          *stream
}

// batch is one ring buffer and the loader position after it.
type batch struct {
	tokens          []int64
	epoch, position int64
}

func startPrefetch(s *stream, o Options, windows int64) *prefetcher {
	p := &prefetcher{
		free: make(chan *batch, o.Prefetch),
		full: make(chan *batch, o.Prefetch),
		done: make(chan struct{}),
		s:    s,
	}
	for range o.Prefetch {
		p.free <- &batch{tokens: make([]int64, o.BatchSize*(o.SeqLen+1))}
	}
	w := walker{s: s, seqLen: o.SeqLen, batch: o.BatchSize, rank: o.Rank, windows: windows,
		global: int64(o.BatchSize) * int64(o.WorldSize),
		seed:   o.State.Seed, epoch: o.State.Epoch, position: o.State.Position, orderEpoch: -1}
	p.wg.Add(1)
	go p.run(&w)
	return p
}

func (p *prefetcher) run(w *walker) {
	defer p.wg.Done()
	for {
		var b *batch
		select {
		case b = <-p.free:
		case <-p.done:
			return
		}
		w.fill(b)
		select {
		case p.full <- b:
		case <-p.done:
			return
		}
	}
}

func (p *prefetcher) take() *batch  { return <-p.full }
func (p *prefetcher) give(b *batch) { p.free <- b } // never blocks: the ring has room for every buffer

// stop ends the goroutine, then unmaps the shards it was reading.
func (p *prefetcher) stop() error {
	p.once.Do(func() {
		close(p.done)
		p.wg.Wait()
		p.err = p.s.close()
	})
	return p.err
}

// walker walks the global order on the prefetcher's goroutine: it owns the
// permutation of the current epoch and the position the next batch starts
// at, which is ahead of Loader.state by the batches in the ring.
type walker struct {
	s                     *stream
	seqLen, batch, rank   int
	windows, global       int64
	seed, epoch, position int64
	order                 []int64 // the permutation of orderEpoch
	orderEpoch            int64
}

// fill writes the next batch of this rank into b and advances. The
// rollover to the next epoch happens here, lazily, so that a state saved
// after an epoch's last full batch still names that epoch (see doc.go).
func (w *walker) fill(b *batch) {
	if w.position+w.global > w.windows {
		w.epoch++
		w.position = 0
	}
	if w.orderEpoch != w.epoch {
		if w.order == nil {
			w.order = make([]int64, w.windows) // once; later epochs reuse it
		}
		permuteInto(w.order, w.seed, w.epoch)
		w.orderEpoch = w.epoch
	}
	s := w.seqLen
	first := w.position + int64(w.rank*w.batch)
	for i := range w.batch {
		start := w.order[first+int64(i)] * int64(s)
		w.s.read(b.tokens[i*(s+1):(i+1)*(s+1)], start)
	}
	w.position += w.global
	b.epoch, b.position = w.epoch, w.position
}
