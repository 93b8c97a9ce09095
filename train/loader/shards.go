package loader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
// manifestPath, with the checks and errors of tokenize.OpenShards
// (tokenize.VerifyTokenizer, then tokenize.VerifyShard on each shard),
// translated by fromTokenize. The shards are verified over the mappings
// themselves, so what is verified is what is read, and no second copy of
// the tokens is made.
func openTrain(manifestPath string) (*stream, error) {
	if !littleEndian {
		return nil, fmt.Errorf("loader: big-endian hosts are not supported (shards are little-endian and read in place)")
	}
	m, dir, err := tokenize.ReadManifest(manifestPath)
	if err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	if err := tokenize.VerifyTokenizer(dir, m.TokenizerHash); err != nil {
		return nil, fromTokenize(manifestPath, err)
	}
	width, err := tokenize.DTypeWidth(m.DType)
	if err != nil {
		return nil, fromTokenize(manifestPath, fmt.Errorf("%s: %w", filepath.Join(dir, tokenize.ManifestFile), err))
	}
	s := &stream{}
	for _, info := range m.Train {
		sh, err := mapShard(dir, info, m, width)
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

// mapShard maps one shard's .bin, reads its .idx (needed only for the
// checksum and the layout check), verifies both with tokenize.VerifyShard,
// and views the mapping as token ids of width bytes.
func mapShard(dir string, info tokenize.ShardInfo, m tokenize.Manifest, width int) (sh shard, err error) {
	info.Bin, info.Idx = filepath.Join(dir, info.Bin), filepath.Join(dir, info.Idx)
	bin, unmap, err := mapFile(info.Bin)
	if err != nil {
		return sh, err
	}
	defer func() {
		if err != nil {
			unmap()
		}
	}()
	idx, err := os.ReadFile(info.Idx)
	if err != nil {
		return sh, err
	}
	if err := tokenize.VerifyShard(info, bin, idx, m.DType, m.VocabSize); err != nil {
		return sh, err
	}
	sh.unmap = unmap
	if len(bin) == 0 {
		return sh, nil
	}
	if width == 2 {
		sh.u16 = unsafe.Slice((*uint16)(unsafe.Pointer(&bin[0])), len(bin)/2)
	} else {
		sh.u32 = unsafe.Slice((*uint32)(unsafe.Pointer(&bin[0])), len(bin)/4)
	}
	return sh, nil
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
