package eval

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/supplyline/supplyline/tokenize"
)

// shard is one .bin/.idx pair read whole and checked against its manifest entry.
type shard struct {
	tokens  []uint32
	offsets []uint64 // Docs+1 offsets into tokens
}

func (s shard) docs() int { return len(s.offsets) - 1 }

func (s shard) doc(i int) []uint32 { return s.tokens[s.offsets[i]:s.offsets[i+1]] }

// readShard reads info's files under dir, verifies the sha256 over the .bin
// then the .idx bytes, the token and document counts, and that every offset
// lies in order inside the .bin.
func readShard(dir string, m tokenize.Manifest, info tokenize.ShardInfo) (shard, error) {
	var s shard
	bin, err := os.ReadFile(filepath.Join(dir, info.Bin))
	if err != nil {
		return s, fmt.Errorf("%w: %w", ErrBadShard, err)
	}
	idx, err := os.ReadFile(filepath.Join(dir, info.Idx))
	if err != nil {
		return s, fmt.Errorf("%w: %w", ErrBadShard, err)
	}
	h := sha256.New()
	h.Write(bin)
	h.Write(idx)
	if got := hex.EncodeToString(h.Sum(nil)); got != info.SHA256 {
		return s, fmt.Errorf("%w: %s: sha256 %s, manifest says %s", ErrBadShard, info.Bin, got, info.SHA256)
	}
	width := 0
	switch m.DType {
	case "uint16":
		width = 2
	case "uint32":
		width = 4
	default:
		return s, fmt.Errorf("%w: dtype %q is neither uint16 nor uint32", ErrBadShard, m.DType)
	}
	if len(bin)%width != 0 || int64(len(bin)/width) != info.Tokens {
		return s, fmt.Errorf("%w: %s: %d bytes, manifest says %d %s tokens", ErrBadShard, info.Bin, len(bin), info.Tokens, m.DType)
	}
	if len(idx)%8 != 0 || int64(len(idx)/8) != info.Docs+1 {
		return s, fmt.Errorf("%w: %s: %d bytes, manifest says %d documents (%d offsets)", ErrBadShard, info.Idx, len(idx), info.Docs, info.Docs+1)
	}
	s.tokens = make([]uint32, info.Tokens)
	r := bytes.NewReader(bin)
	if width == 2 {
		u := make([]uint16, info.Tokens)
		if err := binary.Read(r, binary.LittleEndian, u); err != nil {
			return s, fmt.Errorf("%w: %s: %w", ErrBadShard, info.Bin, err)
		}
		for i, v := range u {
			s.tokens[i] = uint32(v)
		}
	} else if err := binary.Read(r, binary.LittleEndian, s.tokens); err != nil {
		return s, fmt.Errorf("%w: %s: %w", ErrBadShard, info.Bin, err)
	}
	s.offsets = make([]uint64, info.Docs+1)
	if err := binary.Read(bytes.NewReader(idx), binary.LittleEndian, s.offsets); err != nil {
		return s, fmt.Errorf("%w: %s: %w", ErrBadShard, info.Idx, err)
	}
	if s.offsets[0] != 0 || s.offsets[len(s.offsets)-1] != uint64(len(s.tokens)) {
		return s, fmt.Errorf("%w: %s: offsets run %d..%d, want 0..%d", ErrBadShard, info.Idx, s.offsets[0], s.offsets[len(s.offsets)-1], len(s.tokens))
	}
	for i := 1; i < len(s.offsets); i++ {
		if s.offsets[i] < s.offsets[i-1] {
			return s, fmt.Errorf("%w: %s: offset %d goes backwards", ErrBadShard, info.Idx, i)
		}
	}
	for i, t := range s.tokens {
		if int(t) >= m.VocabSize {
			return s, fmt.Errorf("%w: %s: token %d is id %d, vocabulary is %d", ErrBadShard, info.Bin, i, t, m.VocabSize)
		}
	}
	return s, nil
}
