package tokenize

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"os"
	"path/filepath"
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
// shards in a directory, starting a new shard when the next document would
// take the current one past MaxTokens. A document larger than MaxTokens gets
// a shard of its own. Close returns the ShardInfo of every shard written.
type ShardWriter struct {
	dir, split string
	maxTokens  int64
	width      int // bytes per token

	shards  []ShardInfo
	f       *os.File
	bw      *bufio.Writer
	h       hash.Hash
	offsets []uint64 // .idx of the current shard
	buf     []byte
}

// NewShardWriter writes split's shards into dir. maxTokens <= 0 means
// DefaultMaxShardTokens; dtype is "uint16" or "uint32".
func NewShardWriter(dir, split, dtype string, maxTokens int64) (*ShardWriter, error) {
	w := &ShardWriter{dir: dir, split: split, maxTokens: maxTokens}
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
	return w, os.MkdirAll(dir, 0o755)
}

// WriteDoc appends one document's ids (special tokens included) as a document.
func (w *ShardWriter) WriteDoc(ids []int) error {
	if w.f != nil && int64(w.offsets[len(w.offsets)-1])+int64(len(ids)) > w.maxTokens {
		if err := w.finish(); err != nil {
			return err
		}
	}
	if w.f == nil {
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

func (w *ShardWriter) name(ext string) string {
	return fmt.Sprintf("%s-%05d.%s", w.split, len(w.shards), ext)
}

func (w *ShardWriter) open() error {
	// Remove first: a shard from an earlier build may be hard-linked into
	// the shard cache, and truncating it in place would corrupt the cache.
	path := filepath.Join(w.dir, w.name("bin"))
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w.f, w.bw, w.h = f, bufio.NewWriterSize(f, 1<<20), sha256.New()
	w.offsets = append(w.offsets[:0], 0)
	return nil
}

// finish closes the current shard: flushes the .bin, writes the .idx and
// records the shard.
func (w *ShardWriter) finish() error {
	bin, idx := w.name("bin"), w.name("idx")
	if err := w.bw.Flush(); err != nil {
		w.f.Close()
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	w.f = nil
	ib := make([]byte, 0, 8*len(w.offsets))
	for _, o := range w.offsets {
		ib = binary.LittleEndian.AppendUint64(ib, o)
	}
	w.h.Write(ib)
	if err := writeFileAtomic(filepath.Join(w.dir, idx), ib); err != nil {
		return err
	}
	w.shards = append(w.shards, ShardInfo{
		Bin:    bin,
		Idx:    idx,
		Tokens: int64(w.offsets[len(w.offsets)-1]),
		Docs:   int64(len(w.offsets) - 1),
		SHA256: hex.EncodeToString(w.h.Sum(nil)),
	})
	return nil
}

// Close finishes the last shard and returns all shards written, in order.
// A split without documents has no shards.
func (w *ShardWriter) Close() ([]ShardInfo, error) {
	if w.f != nil {
		if err := w.finish(); err != nil {
			return nil, err
		}
	}
	return w.shards, nil
}
