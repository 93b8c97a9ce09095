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
// A .bin streams to the store as documents arrive (1 MiB buffered), and
// the current shard's .idx offsets stream to a temporary file, which is
// copied to the store once the .bin is complete, so memory does not grow
// with the documents of a shard. Each shard's .bin, then its .idx, is
// published with Close of the store's writer, so a shard listed by Close
// (or passed to OnShard) is complete in the store.
type ShardWriter struct {
	ctx       context.Context
	store     blob.Store
	split     string
	maxTokens int64
	width     int // bytes per token
	onShard   func(ShardInfo)

	tmpDir string // for the .idx being written; "" is os.TempDir()

	shards []ShardInfo
	wc     io.WriteCloser // the current .bin; nil between shards
	bw     *bufio.Writer
	h      hash.Hash
	idx    *os.File // the current .idx, in a temporary file
	iw     *bufio.Writer
	tokens uint64 // tokens in the current shard: its last offset
	docs   int64  // documents in the current shard
	buf    []byte
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
	if w.wc != nil && int64(w.tokens)+int64(len(ids)) > w.maxTokens {
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
	w.tokens += uint64(len(ids))
	w.docs++
	return w.writeOffset(w.tokens)
}

func (w *ShardWriter) writeOffset(o uint64) error {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], o)
	_, err := w.iw.Write(b[:])
	return err
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
	idx, err := os.CreateTemp(w.tmpDir, "shard-idx-")
	if err != nil {
		return err
	}
	wc, err := w.store.Create(w.ctx, w.name("bin"))
	if err != nil {
		idx.Close()
		os.Remove(idx.Name())
		return err
	}
	w.wc, w.bw, w.h = wc, bufio.NewWriterSize(wc, 1<<20), sha256.New()
	w.idx, w.iw = idx, bufio.NewWriterSize(idx, 64<<10)
	w.tokens, w.docs = 0, 0
	return w.writeOffset(0)
}

// finish closes the current shard: publishes the .bin, copies the .idx
// from its temporary file to the store, records the shard and reports it
// to onShard.
func (w *ShardWriter) finish() error {
	bin, idx := w.name("bin"), w.name("idx")
	if err := w.bw.Flush(); err != nil {
		w.Abort()
		return err
	}
	if err := w.iw.Flush(); err != nil {
		w.Abort()
		return err
	}
	wc := w.wc
	w.wc = nil
	if err := wc.Close(); err != nil {
		w.dropIdx()
		return err
	}
	err := w.putIdx(idx)
	w.dropIdx()
	if err != nil {
		return err
	}
	info := ShardInfo{
		Bin:    bin,
		Idx:    idx,
		Tokens: int64(w.tokens),
		Docs:   w.docs,
		SHA256: hex.EncodeToString(w.h.Sum(nil)),
	}
	w.shards = append(w.shards, info)
	if w.onShard != nil {
		w.onShard(info)
	}
	return nil
}

// putIdx copies the .idx temporary file to the store as key, feeding it
// to the shard's hash after the .bin.
func (w *ShardWriter) putIdx(key string) error {
	if _, err := w.idx.Seek(0, io.SeekStart); err != nil {
		return err
	}
	wc, err := w.store.Create(w.ctx, key)
	if err != nil {
		return err
	}
	if _, err := io.Copy(io.MultiWriter(wc, w.h), w.idx); err != nil {
		blob.Abort(wc)
		return err
	}
	return wc.Close()
}

// dropIdx closes and removes the .idx temporary file.
func (w *ShardWriter) dropIdx() {
	if w.idx != nil {
		w.idx.Close()
		os.Remove(w.idx.Name())
		w.idx, w.iw = nil, nil
	}
}

// Abort discards the shard being written, publishing nothing of it. Shards
// already finished stay. It is a no-op between shards and after Close.
func (w *ShardWriter) Abort() {
	if w.wc != nil {
		blob.Abort(w.wc)
		w.wc = nil
	}
	w.dropIdx()
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
