package tokenize

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
)

// The checks every shard reader makes live here, over bytes, so that readers
// that get the bytes differently (OpenShards reads them, train/loader maps
// them) refuse the same shards with the same errors.

// DTypeWidth returns the size in bytes of one token id of a manifest DType:
// 2 for "uint16", 4 for "uint32". Any other dtype is ErrShardFormat.
func DTypeWidth(dtype string) (int, error) {
	switch dtype {
	case "uint16":
		return 2, nil
	case "uint32":
		return 4, nil
	}
	return 0, fmt.Errorf("%w: dtype %q", ErrShardFormat, dtype)
}

// VerifyTokenizer checks that vocab.json and merges.txt in dir, the
// directory of a manifest, hash (TokenizerHashOf) to want, the manifest's
// TokenizerHash, without regard to hex case. A mismatch is a
// *TokenizerMismatchError.
func VerifyTokenizer(dir, want string) error {
	mpath := filepath.Join(dir, ManifestFile)
	got, err := TokenizerHashOf(dir)
	if err != nil {
		return fmt.Errorf("tokenize: %s: tokenizer: %w", mpath, err)
	}
	if !strings.EqualFold(got, want) {
		return &TokenizerMismatchError{Manifest: mpath, Dir: dir, Want: want, Got: got}
	}
	return nil
}

// VerifyShard checks one shard, the contents bin and idx of its .bin and
// .idx files, against its manifest entry info and the manifest's DType and
// VocabSize:
//
//   - bin then idx hash to info.SHA256, without regard to hex case (else
//     *ChecksumError);
//   - dtype is known, bin holds info.Tokens ids of its width, and idx holds
//     info.Docs+1 offsets;
//   - the offsets start at 0, never decrease, and end at info.Tokens;
//   - every id is below vocabSize, when vocabSize is above 0.
//
// A layout failure is ErrShardFormat. Errors name the files as info.Bin and
// info.Idx: a reader passes them joined to the manifest's directory. The
// bytes are only read, so they may be a read-only memory mapping.
func VerifyShard(info ShardInfo, bin, idx []byte, dtype string, vocabSize int) error {
	h := sha256.New()
	h.Write(bin)
	h.Write(idx)
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, info.SHA256) {
		return &ChecksumError{Bin: info.Bin, Idx: info.Idx, Want: info.SHA256, Got: got}
	}
	width, err := DTypeWidth(dtype)
	if err != nil {
		return fmt.Errorf("%s: %w", info.Bin, err)
	}
	if int64(len(bin)) != info.Tokens*int64(width) {
		return fmt.Errorf("%w: %s: %d bytes, manifest says %d tokens of %d bytes", ErrShardFormat, info.Bin, len(bin), info.Tokens, width)
	}
	if int64(len(idx)) != 8*(info.Docs+1) {
		return fmt.Errorf("%w: %s: %d bytes, manifest says %d docs", ErrShardFormat, info.Idx, len(idx), info.Docs)
	}
	prev := uint64(0)
	for i := 0; i < len(idx); i += 8 {
		o := binary.LittleEndian.Uint64(idx[i:])
		if (i == 0 && o != 0) || o < prev || o > uint64(info.Tokens) || (i == len(idx)-8 && o != uint64(info.Tokens)) {
			return fmt.Errorf("%w: %s: offset %d at entry %d out of order or range", ErrShardFormat, info.Idx, o, i/8)
		}
		prev = o
	}
	if vocabSize <= 0 {
		return nil
	}
	var at int
	if width == 2 {
		at = firstAbove16(bin, vocabSize)
	} else {
		at = firstAbove32(bin, vocabSize)
	}
	if at >= 0 {
		return fmt.Errorf("%w: %s: token %d is id %d, outside the vocabulary of %d", ErrShardFormat, info.Bin, at, tokenAt(bin, width, at), vocabSize)
	}
	return nil
}

// firstAbove16 returns the index of the first little-endian uint16 id in bin
// that is >= vocab, or -1. The common case, no such id, is a branch-free
// maximum over 8-byte words; the position is looked for only on failure.
func firstAbove16(bin []byte, vocab int) int {
	if uint64(vocab) > 0xffff {
		return -1
	}
	var hi uint64
	b := bin
	for len(b) >= 8 {
		w := binary.LittleEndian.Uint64(b)
		hi = max(hi, w&0xffff, w>>16&0xffff, w>>32&0xffff, w>>48)
		b = b[8:]
	}
	for ; len(b) >= 2; b = b[2:] {
		hi = max(hi, uint64(binary.LittleEndian.Uint16(b)))
	}
	if hi < uint64(vocab) {
		return -1
	}
	return locate(bin, 2, vocab)
}

// firstAbove32 is firstAbove16 for uint32 ids.
func firstAbove32(bin []byte, vocab int) int {
	if uint64(vocab) > 0xffffffff {
		return -1
	}
	var hi uint64
	b := bin
	for len(b) >= 8 {
		w := binary.LittleEndian.Uint64(b)
		hi = max(hi, w&0xffffffff, w>>32)
		b = b[8:]
	}
	for ; len(b) >= 4; b = b[4:] {
		hi = max(hi, uint64(binary.LittleEndian.Uint32(b)))
	}
	if hi < uint64(vocab) {
		return -1
	}
	return locate(bin, 4, vocab)
}

// locate returns the index of the first id of width bytes in bin that is >= vocab, or -1.
func locate(bin []byte, width, vocab int) int {
	for i := range len(bin) / width {
		if uint64(tokenAt(bin, width, i)) >= uint64(vocab) {
			return i
		}
	}
	return -1
}

// tokenAt returns id i of a little-endian .bin of ids width bytes wide.
func tokenAt(bin []byte, width, i int) uint32 {
	if width == 2 {
		return uint32(binary.LittleEndian.Uint16(bin[2*i:]))
	}
	return binary.LittleEndian.Uint32(bin[4*i:])
}

// appendOffsets appends the offsets of a verified .idx after its first (0),
// each plus base, to dst.
func appendOffsets(dst []uint64, idx []byte, base uint64) []uint64 {
	for i := 8; i+8 <= len(idx); i += 8 {
		dst = append(dst, base+binary.LittleEndian.Uint64(idx[i:]))
	}
	return dst
}

// appendTokens appends the ids of a verified .bin of ids width bytes wide to dst.
func appendTokens(dst []uint32, bin []byte, width int) []uint32 {
	for i := 0; i+width <= len(bin); i += width {
		if width == 2 {
			dst = append(dst, uint32(binary.LittleEndian.Uint16(bin[i:])))
		} else {
			dst = append(dst, binary.LittleEndian.Uint32(bin[i:]))
		}
	}
	return dst
}
