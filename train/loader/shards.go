package loader

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"github.com/supplyline/supplyline/tokenize"
)

// stream is the train split as one token sequence: its shards' .bin files,
// memory-mapped and concatenated in manifest order. Nothing is copied at
// Open; read converts tokens straight from the mappings.
type stream struct {
	shards []shard
	tokens int64 // total over all shards
}

// shard is one mapped .bin file, viewed as its little-endian token ids.
// Exactly one of u16 and u32 is set (unless the shard is empty).
type shard struct {
	start, end int64 // token range of the stream
	u16        []uint16
	u32        []uint32
	unmap      func() error
}

// littleEndian: the mappings are reinterpreted in place, which matches the
// shard layout (little-endian ids) only on a little-endian host.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// openTrain maps and verifies the train split of the shard manifest at
// manifestPath, with the checks and errors of tokenize.OpenShards (the
// tokenizer hash, each shard's sha256, sizes, offsets, token ids below
// VocabSize), translated by fromTokenize. The checksum is taken over the
// mapping itself, so what is verified is what is read, and no second copy
// of the tokens is made.
func openTrain(manifestPath string) (*stream, error) {
	if !littleEndian {
		return nil, fmt.Errorf("loader: big-endian hosts are not supported (shards are little-endian and read in place)")
	}
	m, dir, err := tokenize.ReadManifest(manifestPath)
	if err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	mpath := filepath.Join(dir, tokenize.ManifestFile)
	got, err := tokenize.TokenizerHashOf(dir)
	if err != nil {
		return nil, fmt.Errorf("loader: %s: tokenizer: %w", mpath, err)
	}
	if !strings.EqualFold(got, m.TokenizerHash) {
		return nil, fromTokenize(manifestPath, &tokenize.TokenizerMismatchError{Manifest: mpath, Dir: dir, Want: m.TokenizerHash, Got: got})
	}
	var width int
	switch m.DType {
	case "uint16":
		width = 2
	case "uint32":
		width = 4
	default:
		return nil, fromTokenize(manifestPath, fmt.Errorf("%w: %s: dtype %q", tokenize.ErrShardFormat, mpath, m.DType))
	}
	s := &stream{}
	for _, info := range m.Train {
		sh, err := mapShard(dir, info, width, m.VocabSize)
		if err != nil {
			s.close()
			return nil, fromTokenize(manifestPath, err)
		}
		sh.start = s.tokens
		sh.end = s.tokens + int64(len(sh.u16)+len(sh.u32))
		s.tokens = sh.end
		s.shards = append(s.shards, sh)
	}
	return s, nil
}

// mapShard maps one shard's .bin and verifies it with its .idx, which is
// only read for the checksum and the layout check.
func mapShard(dir string, info tokenize.ShardInfo, width, vocab int) (sh shard, err error) {
	binPath, idxPath := filepath.Join(dir, info.Bin), filepath.Join(dir, info.Idx)
	bin, unmap, err := mapFile(binPath)
	if err != nil {
		return sh, err
	}
	defer func() {
		if err != nil {
			unmap()
		}
	}()
	idx, err := os.ReadFile(idxPath)
	if err != nil {
		return sh, err
	}
	h := sha256.New()
	h.Write(bin)
	h.Write(idx)
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, info.SHA256) {
		return sh, &tokenize.ChecksumError{Bin: binPath, Idx: idxPath, Want: info.SHA256, Got: got}
	}
	if int64(len(bin)) != info.Tokens*int64(width) {
		return sh, fmt.Errorf("%w: %s: %d bytes, manifest says %d tokens of %d bytes", tokenize.ErrShardFormat, binPath, len(bin), info.Tokens, width)
	}
	if int64(len(idx)) != 8*(info.Docs+1) {
		return sh, fmt.Errorf("%w: %s: %d bytes, manifest says %d docs", tokenize.ErrShardFormat, idxPath, len(idx), info.Docs)
	}
	prev := uint64(0)
	for i := 0; i < len(idx); i += 8 {
		o := binary.LittleEndian.Uint64(idx[i:])
		if (i == 0 && o != 0) || o < prev || o > uint64(info.Tokens) || (i == len(idx)-8 && o != uint64(info.Tokens)) {
			return sh, fmt.Errorf("%w: %s: offset %d at entry %d out of order or range", tokenize.ErrShardFormat, idxPath, o, i/8)
		}
		prev = o
	}
	sh.unmap = unmap
	if len(bin) == 0 {
		return sh, nil
	}
	if width == 2 {
		sh.u16 = unsafe.Slice((*uint16)(unsafe.Pointer(&bin[0])), len(bin)/2)
		if at := firstAbove(sh.u16, vocab); at >= 0 {
			return sh, outOfVocab(binPath, at, uint32(sh.u16[at]), vocab)
		}
	} else {
		sh.u32 = unsafe.Slice((*uint32)(unsafe.Pointer(&bin[0])), len(bin)/4)
		if at := firstAbove(sh.u32, vocab); at >= 0 {
			return sh, outOfVocab(binPath, at, sh.u32[at], vocab)
		}
	}
	return sh, nil
}

// firstAbove returns the index of the first id >= vocab, or -1 (also when
// vocab is 0, i.e. unknown).
func firstAbove[T uint16 | uint32](ids []T, vocab int) int {
	if vocab <= 0 {
		return -1
	}
	var hi T
	for _, t := range ids { // branch-free scan; locate only on failure
		hi = max(hi, t)
	}
	if uint64(hi) < uint64(vocab) {
		return -1
	}
	for i, t := range ids {
		if uint64(t) >= uint64(vocab) {
			return i
		}
	}
	return -1
}

func outOfVocab(binPath string, at int, id uint32, vocab int) error {
	return fmt.Errorf("%w: %s: token %d is id %d, outside the vocabulary of %d", tokenize.ErrShardFormat, binPath, at, id, vocab)
}

// read writes the tokens [pos, pos+len(dst)) of the stream into dst,
// crossing shard boundaries as needed. The caller keeps the range inside
// the stream.
func (s *stream) read(dst []int64, pos int64) {
	k := s.shardAt(pos)
	for len(dst) > 0 {
		sh := &s.shards[k]
		off := pos - sh.start
		n := min(int64(len(dst)), sh.end-pos)
		if sh.u16 != nil {
			widen(dst[:n], sh.u16[off:off+n])
		} else if sh.u32 != nil {
			widen(dst[:n], sh.u32[off:off+n])
		}
		dst, pos = dst[n:], pos+n
		k++
	}
}

// shardAt returns the index of the shard holding token pos (the last shard
// whose start is <= pos and which is not empty).
func (s *stream) shardAt(pos int64) int {
	lo, hi := 0, len(s.shards)
	for lo < hi { // first shard with end > pos
		mid := int(uint(lo+hi) >> 1)
		if s.shards[mid].end <= pos {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// widen converts ids to int64, the dtype the trainer's embedding takes.
func widen[T uint16 | uint32](dst []int64, src []T) {
	dst = dst[:len(src)]
	for i, t := range src {
		dst[i] = int64(t)
	}
}

// close unmaps every shard.
func (s *stream) close() error {
	var errs []error
	for _, sh := range s.shards {
		if sh.unmap != nil {
			errs = append(errs, sh.unmap())
		}
	}
	s.shards = nil
	return errors.Join(errs...)
}

// fromTokenize gives tokenize's reader errors this package's types, which
// wrap them so that tokenize's sentinels and types still match.
func fromTokenize(manifestPath string, err error) error {
	var ce *tokenize.ChecksumError
	var te *tokenize.TokenizerMismatchError
	switch {
	case errors.As(err, &ce):
		return &ChecksumError{File: ce.Bin, Want: ce.Want, Got: ce.Got, err: err}
	case errors.As(err, &te):
		return &TokenizerError{Dir: te.Dir, Want: te.Want, Got: te.Got, err: err}
	case errors.Is(err, tokenize.ErrShardFormat):
		// tokenize's message, the Reason, names the malformed file.
		return &ShardError{File: manifestPath, Reason: err.Error(), err: err}
	}
	return fmt.Errorf("loader: %w", err)
}
