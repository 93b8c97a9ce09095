package tokenize

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// Shards is a verified shard directory held in memory.
//
// Thin for now: every shard is read whole into memory; the training loader
// (train/loader) will want mmap and lazy verification.
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
// TokenizerHash (else *TokenizerMismatchError), and reads every shard,
// checking its sha256 (else *ChecksumError) and its layout against the
// manifest (else ErrShardFormat).
func OpenShards(manifestPath string) (*Shards, error) {
	m, dir, err := ReadManifest(manifestPath)
	if err != nil {
		return nil, err
	}
	mpath := filepath.Join(dir, ManifestFile)
	got, err := TokenizerHashOf(dir)
	if err != nil {
		return nil, fmt.Errorf("tokenize: %s: tokenizer: %w", mpath, err)
	}
	if got != m.TokenizerHash {
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
	for name, infos := range map[string][]ShardInfo{SplitTrain: m.Train, SplitVal: m.Val} {
		sp := &Split{Offsets: []uint64{0}}
		for _, info := range infos {
			if err := readShard(dir, info, width, sp); err != nil {
				return nil, err
			}
		}
		s.splits[name] = sp
	}
	return s, nil
}

// readShard verifies one shard and appends it to sp.
func readShard(dir string, info ShardInfo, width int, sp *Split) error {
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
	if got := hex.EncodeToString(h.Sum(nil)); got != info.SHA256 {
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
		if width == 2 {
			sp.Tokens = append(sp.Tokens, uint32(binary.LittleEndian.Uint16(bin[i:])))
		} else {
			sp.Tokens = append(sp.Tokens, binary.LittleEndian.Uint32(bin[i:]))
		}
	}
	return nil
}

// Split returns the split named SplitTrain or SplitVal.
func (s *Shards) Split(name string) (*Split, error) {
	sp, ok := s.splits[name]
	if !ok {
		return nil, fmt.Errorf("%w: no split %q", ErrInvalidConfig, name)
	}
	return sp, nil
}
