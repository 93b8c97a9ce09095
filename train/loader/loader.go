package loader

import (
	"fmt"
	"github.com/supplyline/supplyline/train"
)

// Loader hands out one rank's batches of the global order. It is not safe
// for concurrent use; the C ABI (train/loader/capi) serialises calls per handle.
type Loader struct {
	opts    Options
	stream  []uint32
	windows int64 // (len(stream)-1)/SeqLen
	state   train.LoaderState
	// order is the permutation of state.Epoch, computed on first use.
	order      []int64
	orderEpoch int64
	closed     bool
}

// Open reads and verifies the train split of the shard manifest at
// manifestPath (a manifest.json, or the directory holding it) and positions
// the loader at opts.State.
func Open(manifestPath string, opts Options) (*Loader, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	stream, err := readTrain(manifestPath)
	if err != nil {
		return nil, err
	}
	l := &Loader{opts: opts, stream: stream, orderEpoch: -1}
	if len(stream) > 0 {
		l.windows = int64(len(stream)-1) / int64(opts.SeqLen)
	}
	if g := l.globalBatch(); l.windows < g {
		return nil, fmt.Errorf("%w: %s: %d train tokens make %d windows of %d+1, a global batch is %d windows",
			ErrNotEnoughData, manifestPath, len(stream), l.windows, opts.SeqLen, g)
	}
	if opts.State.Position > l.windows {
		return nil, fmt.Errorf("%w: state.position %d is past the %d windows of an epoch", ErrInvalidOptions, opts.State.Position, l.windows)
	}
	l.state = opts.State
	l.state.WorldSize = int64(opts.WorldSize)
	return l, nil
}

func (l *Loader) globalBatch() int64 { return int64(l.opts.BatchSize) * int64(l.opts.WorldSize) }

// BatchTokens is the number of int64 values Next writes: BatchSize*(SeqLen+1).
func (l *Loader) BatchTokens() int { return l.opts.BatchSize * (l.opts.SeqLen + 1) }

// Windows is the number of windows in one epoch, the dropped tail included.
func (l *Loader) Windows() int64 { return l.windows }

// Next writes this rank's next batch into dst[:BatchTokens()], row after
// row: BatchSize windows of SeqLen+1 tokens (inputs are row[:SeqLen],
// targets row[1:]). It never fails for lack of data: epochs roll over.
func (l *Loader) Next(dst []int64) error {
	if l.closed {
		return ErrClosed
	}
	n := l.BatchTokens()
	if len(dst) < n {
		return fmt.Errorf("%w: got %d, need %d", ErrShortBuffer, len(dst), n)
	}
	g := l.globalBatch()
	if l.state.Position+g > l.windows {
		l.state.Epoch++
		l.state.Position = 0
	}
	if l.orderEpoch != l.state.Epoch {
		l.order = Permutation(l.state.Seed, l.state.Epoch, int(l.windows))
		l.orderEpoch = l.state.Epoch
	}
	s := l.opts.SeqLen
	first := l.state.Position + int64(l.opts.Rank*l.opts.BatchSize)
	for b := range l.opts.BatchSize {
		start := l.order[first+int64(b)] * int64(s)
		row := dst[b*(s+1) : (b+1)*(s+1)]
		for i, t := range l.stream[start : start+int64(s)+1] {
			row[i] = int64(t)
		}
	}
	l.state.Position += g
	return nil
}

// State returns the position to resume from: Open with it (and the same
// shards and global batch size) yields exactly the batches this loader
// would have yielded next. WorldSize is this loader's.
func (l *Loader) State() train.LoaderState { return l.state }

// Close releases the token stream. Next after Close returns ErrClosed.
func (l *Loader) Close() error {
	l.closed = true
	l.stream, l.order = nil, nil
	return nil
}
