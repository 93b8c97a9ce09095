package tokenize

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/supplyline/supplyline/dataset/blob"
)

// DefaultMaxShardTokens is the default rotation size of a shard.
const DefaultMaxShardTokens = 64 << 20

// DTypeFor returns the shard dtype for a vocabulary size ("uint16" or "uint32").
func DTypeFor(vocabSize int) string {
	if vocabSize <= 1<<16 {
		return "uint16"
	}
	return "uint32"
}

// ShardWriter writes the documents of one split as <split>-NNNNN.bin/.idx
// shards into a blob.Store (a local directory or an S3 prefix), starting a
// new shard when the next document would take the current one past
// MaxTokens. A document larger than MaxTokens gets a shard of its own.
// Close returns the ShardInfo of every shard written.
//
// A .bin streams to the store as documents arrive (1 MiB buffered); only
// the current shard's .idx offsets are held in memory. Each shard's .bin,
// then its .idx, is published with Close of the store's writer, so a shard
// listed by Close (or passed to OnShard) is complete in the store.
type ShardWriter struct {
	ctx       context.Context
	store     blob.Store
	split     string
	maxTokens int64
	width     int // bytes per token
	onShard   func(ShardInfo)

	shards  []ShardInfo
	wc      io.WriteCloser // the current .bin; nil between shards
	bw      *bufio.Writer
	h       hash.Hash
	offsets []uint64 // .idx of the current shard
	buf     []byte
}

// NewShardWriter writes split's shards into the local directory dir.
// maxTokens <= 0 means DefaultMaxShardTokens; dtype is "uint16" or "uint32".
func NewShardWriter(dir, split, dtype string, maxTokens int64) (*ShardWriter, error) {
	w, err := newShardWriter(context.Background(), blob.NewLocal(dir), split, dtype, maxTokens)
	if err != nil {
		return nil, err
	}
	return w, os.MkdirAll(dir, 0o755)
}

func newShardWriter(ctx context.Context, store blob.Store, split, dtype string, maxTokens int64) (*ShardWriter, error) {
	w := &ShardWriter{ctx: ctx, store: store, split: split, maxTokens: maxTokens}
	switch dtype {
	case "uint16":
		w.width = 2
	case "uint32":
		w.width = 4
	default:
		return nil, fmt.Errorf("%w: dtype %q", ErrInvalidConfig, dtype)
	}
	if w.maxTokens <= 0 {
		w.maxTokens = DefaultMaxShardTokens
	}
	if split == "" {
		return nil, fmt.Errorf("%w: empty split name", ErrInvalidConfig)
	}
	return w, nil
}

// WriteDoc appends one document's ids (special tokens included) as a document.
func (w *ShardWriter) WriteDoc(ids []int) error {
	if w.wc != nil && int64(w.offsets[len(w.offsets)-1])+int64(len(ids)) > w.maxTokens {
		if err := w.finish(); err != nil {
			return err
		}
	}
	if w.wc == nil {
		if err := w.open(); err != nil {
			return err
		}
	}
	w.buf = w.buf[:0]
	limit := uint64(1)<<(8*w.width) - 1
	for _, id := range ids {
		if id < 0 || uint64(id) > limit {
			return fmt.Errorf("%w: token id %d does not fit %d bytes", ErrInvalidConfig, id, w.width)
		}
		if w.width == 2 {
			w.buf = binary.LittleEndian.AppendUint16(w.buf, uint16(id))
		} else {
			w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(id))
		}
	}
	if _, err := w.bw.Write(w.buf); err != nil {
		return err
	}
	w.h.Write(w.buf)
	w.offsets = append(w.offsets, w.offsets[len(w.offsets)-1]+uint64(len(ids)))
	return nil
}

// shardName is the file name of split's shard number i.
func shardName(split string, i int, ext string) string {
	return fmt.Sprintf("%s-%05d.%s", split, i, ext)
}

func (w *ShardWriter) name(ext string) string { return shardName(w.split, len(w.shards), ext) }

// open starts the next shard. The store publishes a new file (Local renames
// a temporary file into place), so a shard from an earlier build that is
// hard-linked into the shard cache is replaced, never truncated in place.
func (w *ShardWriter) open() error {
	wc, err := w.store.Create(w.ctx, w.name("bin"))
	if err != nil {
		return err
	}
	w.wc, w.bw, w.h = wc, bufio.NewWriterSize(wc, 1<<20), sha256.New()
	w.offsets = append(w.offsets[:0], 0)
	return nil
}

// finish closes the current shard: publishes the .bin, writes the .idx,
// records the shard and reports it to onShard.
func (w *ShardWriter) finish() error {
	bin, idx := w.name("bin"), w.name("idx")
	if err := w.bw.Flush(); err != nil {
		w.Abort()
		return err
	}
	wc := w.wc
	w.wc = nil
	if err := wc.Close(); err != nil {
		return err
	}
	ib := make([]byte, 0, 8*len(w.offsets))
	for _, o := range w.offsets {
		ib = binary.LittleEndian.AppendUint64(ib, o)
	}
	w.h.Write(ib)
	if err := putObject(w.ctx, w.store, idx, ib); err != nil {
		return err
	}
	info := ShardInfo{
		Bin:    bin,
		Idx:    idx,
		Tokens: int64(w.offsets[len(w.offsets)-1]),
		Docs:   int64(len(w.offsets) - 1),
		SHA256: hex.EncodeToString(w.h.Sum(nil)),
	}
	w.shards = append(w.shards, info)
	if w.onShard != nil {
		w.onShard(info)
	}
	return nil
}

// Abort discards the shard being written, publishing nothing of it. Shards
// already finished stay. It is a no-op between shards and after Close.
func (w *ShardWriter) Abort() {
	if w.wc != nil {
		blob.Abort(w.wc)
		w.wc = nil
	}
}

// Close finishes the last shard and returns all shards written, in order.
// A split without documents has no shards.
func (w *ShardWriter) Close() ([]ShardInfo, error) {
	if w.wc != nil {
		if err := w.finish(); err != nil {
			return nil, err
		}
	}
	return w.shards, nil
}

// putObject writes b to key in store as one object.
func putObject(ctx context.Context, store blob.Store, key string, b []byte) error {
	wc, err := store.Create(ctx, key)
	if err != nil {
		return err
	}
	if _, err := wc.Write(b); err != nil {
		blob.Abort(wc)
		return err
	}
	return wc.Close()
}

// getObject reads key from store whole.
func getObject(ctx context.Context, store blob.Store, key string) ([]byte, error) {
	rc, err := store.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}
