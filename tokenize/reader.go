package tokenize

import (
	"fmt"
	"os"
	"path/filepath"
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
// (else ErrShardFormat). Hashes compare without regard to hex case. The
// checks are VerifyTokenizer and VerifyShard, which other readers (the
// training loader maps its shards) make as well.
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
	if err := VerifyTokenizer(dir, m.TokenizerHash); err != nil {
		return nil, err
	}
	width, err := DTypeWidth(m.DType)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
	}
	s := &Shards{Manifest: m, Dir: dir, splits: map[string]*Split{}}
	for _, name := range splits {
		infos := shardsOf[name]
		sp := &Split{Tokens: make([]uint32, 0, binTokens(dir, infos, width)), Offsets: []uint64{0}}
		for _, info := range infos {
			if err := readShard(dir, info, m, width, sp); err != nil {
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

// readShard reads one shard, verifies it (VerifyShard) and appends it to sp.
func readShard(dir string, info ShardInfo, m Manifest, width int, sp *Split) error {
	info.Bin, info.Idx = filepath.Join(dir, info.Bin), filepath.Join(dir, info.Idx)
	bin, err := os.ReadFile(info.Bin)
	if err != nil {
		return err
	}
	idx, err := os.ReadFile(info.Idx)
	if err != nil {
		return err
	}
	if err := VerifyShard(info, bin, idx, m.DType, m.VocabSize); err != nil {
		return err
	}
	sp.Offsets = appendOffsets(sp.Offsets, idx, uint64(len(sp.Tokens)))
	sp.Tokens = appendTokens(sp.Tokens, bin, width)
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
