package tokenize

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Shards is a verified shard directory held in memory.
//
// Thin for now: every shard of the splits read is held whole in memory; the
// training loader (train/loader) will want mmap and lazy verification.
type Shards struct {
	// Manifest is the manifest the shards were verified against.
	Manifest Manifest
	// Dir is the directory of the manifest.
	Dir    string
	splits map[string]*Split
}

// Split is one split's tokens with all of its shards concatenated.
type Split struct {
	// Tokens holds every token of the split, special tokens included.
	Tokens []uint32
	// Offsets has Docs()+1 entries: document i is Tokens[Offsets[i]:Offsets[i+1]].
	Offsets []uint64
}

// Docs is the number of documents.
func (s *Split) Docs() int { return len(s.Offsets) - 1 }

// Doc returns the tokens of document i.
func (s *Split) Doc(i int) []uint32 { return s.Tokens[s.Offsets[i]:s.Offsets[i+1]] }

// OpenShards reads the manifest at manifestPath (the file or its directory),
// checks that the tokenizer files beside it hash to the manifest's
// TokenizerHash (else *TokenizerMismatchError), and reads the shards of the
// named splits (SplitTrain, SplitVal; none named means both), checking each
// one's sha256 (else *ChecksumError) and its layout against the manifest:
// dtype, sizes, offsets, and token ids below VocabSize when VocabSize is set
// (else ErrShardFormat). Hashes compare without regard to hex case.
//
// Naming one split spares a caller that needs only it (the training loader
// reads train) the time and memory of the other.
func OpenShards(manifestPath string, splits ...string) (*Shards, error) {
	if len(splits) == 0 {
		splits = []string{SplitTrain, SplitVal}
	}
	m, dir, err := ReadManifest(manifestPath)
	if err != nil {
		return nil, err
	}
	shardsOf := map[string][]ShardInfo{SplitTrain: m.Train, SplitVal: m.Val}
	for _, name := range splits {
		if _, ok := shardsOf[name]; !ok {
			return nil, fmt.Errorf("%w: no split %q", ErrInvalidConfig, name)
		}
	}
	mpath := filepath.Join(dir, ManifestFile)
	got, err := TokenizerHashOf(dir)
	if err != nil {
		return nil, fmt.Errorf("tokenize: %s: tokenizer: %w", mpath, err)
	}
	if !strings.EqualFold(got, m.TokenizerHash) {
		return nil, &TokenizerMismatchError{Manifest: mpath, Dir: dir, Want: m.TokenizerHash, Got: got}
	}
	var width int
	switch m.DType {
	case "uint16":
		width = 2
	case "uint32":
		width = 4
	default:
		return nil, fmt.Errorf("%w: %s: dtype %q", ErrShardFormat, mpath, m.DType)
	}
	s := &Shards{Manifest: m, Dir: dir, splits: map[string]*Split{}}
	for _, name := range splits {
		infos := shardsOf[name]
		sp := &Split{Tokens: make([]uint32, 0, binTokens(dir, infos, width)), Offsets: []uint64{0}}
		for _, info := range infos {
			if err := readShard(dir, info, width, m.VocabSize, sp); err != nil {
				return nil, err
			}
		}
		s.splits[name] = sp
	}
	return s, nil
}

// binTokens sizes a split's token slice from its .bin files, not from the
// manifest, whose counts are not yet verified.
func binTokens(dir string, infos []ShardInfo, width int) int64 {
	var n int64
	for _, info := range infos {
		if st, err := os.Stat(filepath.Join(dir, info.Bin)); err == nil {
			n += st.Size() / int64(width)
		}
	}
	return n
}

// readShard verifies one shard and appends it to sp.
func readShard(dir string, info ShardInfo, width, vocab int, sp *Split) error {
	binPath, idxPath := filepath.Join(dir, info.Bin), filepath.Join(dir, info.Idx)
	bin, err := os.ReadFile(binPath)
	if err != nil {
		return err
	}
	idx, err := os.ReadFile(idxPath)
	if err != nil {
		return err
	}
	h := sha256.New()
	h.Write(bin)
	h.Write(idx)
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, info.SHA256) {
		return &ChecksumError{Bin: binPath, Idx: idxPath, Want: info.SHA256, Got: got}
	}
	if int64(len(bin)) != info.Tokens*int64(width) {
		return fmt.Errorf("%w: %s: %d bytes, manifest says %d tokens of %d bytes", ErrShardFormat, binPath, len(bin), info.Tokens, width)
	}
	if int64(len(idx)) != 8*(info.Docs+1) {
		return fmt.Errorf("%w: %s: %d bytes, manifest says %d docs", ErrShardFormat, idxPath, len(idx), info.Docs)
	}
	base := uint64(len(sp.Tokens))
	prev := uint64(0)
	for i := 0; i < len(idx); i += 8 {
		o := binary.LittleEndian.Uint64(idx[i:])
		if (i == 0 && o != 0) || o < prev || o > uint64(info.Tokens) || (i == len(idx)-8 && o != uint64(info.Tokens)) {
			return fmt.Errorf("%w: %s: offset %d at entry %d out of order or range", ErrShardFormat, idxPath, o, i/8)
		}
		prev = o
		if i > 0 {
			sp.Offsets = append(sp.Offsets, base+o)
		}
	}
	for i := 0; i < len(bin); i += width {
		var t uint32
		if width == 2 {
			t = uint32(binary.LittleEndian.Uint16(bin[i:]))
		} else {
			t = binary.LittleEndian.Uint32(bin[i:])
		}
		if vocab > 0 && uint64(t) >= uint64(vocab) {
			return fmt.Errorf("%w: %s: token %d is id %d, outside the vocabulary of %d", ErrShardFormat, binPath, i/width, t, vocab)
		}
		sp.Tokens = append(sp.Tokens, t)
	}
	return nil
}

// Split returns the split named SplitTrain or SplitVal, if OpenShards read it.
func (s *Shards) Split(name string) (*Split, error) {
	sp, ok := s.splits[name]
	if !ok {
		return nil, fmt.Errorf("%w: split %q was not read (or does not exist)", ErrInvalidConfig, name)
	}
	return sp, nil
}
