package loader

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/supplyline/supplyline/tokenize"
)

// readTrain verifies the tokenizer files and every train shard named by m
// (whose directory is dir) and returns the concatenated token stream. It
// holds everything in memory; see the package comment.
func readTrain(m tokenize.Manifest, dir string) ([]uint32, error) {
	got, err := tokenize.TokenizerHashOf(dir)
	if err != nil {
		return nil, fmt.Errorf("loader: tokenizer files in %s: %w", dir, err)
	}
	if !strings.EqualFold(got, m.TokenizerHash) {
		return nil, &TokenizerError{Dir: dir, Want: m.TokenizerHash, Got: got}
	}
	var width int
	switch m.DType {
	case "uint16":
		width = 2
	case "uint32":
		width = 4
	default:
		return nil, &ShardError{File: filepath.Join(dir, tokenize.ManifestFile), Reason: fmt.Sprintf("dtype %q, want uint16 or uint32", m.DType)}
	}
	var total int64
	for _, s := range m.Train {
		total += s.Tokens
	}
	stream := make([]uint32, 0, total)
	for _, s := range m.Train {
		if stream, err = appendShard(stream, s, dir, width, m.VocabSize); err != nil {
			return nil, err
		}
	}
	return stream, nil
}

// appendShard verifies one shard and appends its tokens to stream.
func appendShard(stream []uint32, s tokenize.ShardInfo, dir string, width, vocab int) ([]uint32, error) {
	binPath, idxPath := filepath.Join(dir, s.Bin), filepath.Join(dir, s.Idx)
	bin, err := os.ReadFile(binPath)
	if err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	idx, err := os.ReadFile(idxPath)
	if err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	h := sha256.New()
	h.Write(bin)
	h.Write(idx)
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, s.SHA256) {
		return nil, &ChecksumError{File: binPath, Want: s.SHA256, Got: got}
	}
	if int64(len(bin)) != s.Tokens*int64(width) {
		return nil, &ShardError{File: binPath, Reason: fmt.Sprintf("%d bytes, manifest says %d tokens of %d bytes", len(bin), s.Tokens, width)}
	}
	if int64(len(idx)) != (s.Docs+1)*8 {
		return nil, &ShardError{File: idxPath, Reason: fmt.Sprintf("%d bytes, manifest says %d docs (%d offsets of 8 bytes)", len(idx), s.Docs, s.Docs+1)}
	}
	var prev uint64
	for i := 0; i < len(idx); i += 8 {
		off := binary.LittleEndian.Uint64(idx[i:])
		if (i == 0 && off != 0) || off < prev || off > uint64(s.Tokens) {
			return nil, &ShardError{File: idxPath, Reason: fmt.Sprintf("offset %d is %d (previous %d, tokens %d)", i/8, off, prev, s.Tokens)}
		}
		prev = off
	}
	if prev != uint64(s.Tokens) {
		return nil, &ShardError{File: idxPath, Reason: fmt.Sprintf("last offset is %d, want %d tokens", prev, s.Tokens)}
	}
	for i := 0; i < len(bin); i += width {
		var t uint32
		if width == 2 {
			t = uint32(binary.LittleEndian.Uint16(bin[i:]))
		} else {
			t = binary.LittleEndian.Uint32(bin[i:])
		}
		if vocab > 0 && t >= uint32(vocab) {
			return nil, &ShardError{File: binPath, Reason: fmt.Sprintf("token %d at position %d is outside the vocabulary of %d", t, i/width, vocab)}
		}
		stream = append(stream, t)
	}
	return stream, nil
}
