package loadertest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/supplyline/supplyline/tokenize"
)

// Dataset is what Write lays out.
type Dataset struct {
	// VocabSize is recorded in the manifest. Zero means 64.
	VocabSize int
	// DType is "uint16" or "uint32". Empty means uint16 when VocabSize fits.
	DType string
	// Train and Val are the shards of each split; a shard is a list of
	// documents, a document a list of token ids.
	Train [][][]uint32
	Val   [][][]uint32
}

// Cutoff is the cutoff recorded in every manifest Write produces.
var Cutoff = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)

// Write lays d out in dir (created if needed): manifest.json, placeholder
// vocab.json and merges.txt, and <split>-NNNNN.bin/.idx per shard. It
// returns the manifest's path.
func Write(dir string, d Dataset) (string, error) {
	if d.VocabSize == 0 {
		d.VocabSize = 64
	}
	if d.DType == "" {
		d.DType = "uint16"
		if d.VocabSize > 65536 {
			d.DType = "uint32"
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	vocab := map[string]int{}
	for i := range d.VocabSize {
		vocab[fmt.Sprintf("t%d", i)] = i
	}
	vb, err := json.Marshal(vocab)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "vocab.json"), vb, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "merges.txt"), []byte("#version: 0.2\n"), 0o644); err != nil {
		return "", err
	}
	th, err := tokenize.TokenizerHashOf(dir)
	if err != nil {
		return "", err
	}
	m := tokenize.Manifest{
		Version:       tokenize.ManifestVersion,
		DType:         d.DType,
		VocabSize:     d.VocabSize,
		TokenizerHash: th,
		InputHash:     "loadertest-input",
		Cutoff:        Cutoff,
		Special:       map[string]int{"<|endoftext|>": 0},
		Bytes:         map[string]int64{},
		Docs:          map[string]int64{},
		Events:        map[string]int64{},
	}
	for _, split := range []struct {
		name   string
		shards [][][]uint32
		out    *[]tokenize.ShardInfo
	}{{"train", d.Train, &m.Train}, {"val", d.Val, &m.Val}} {
		for i, docs := range split.shards {
			info, err := writeShard(dir, fmt.Sprintf("%s-%05d", split.name, i), d.DType, docs)
			if err != nil {
				return "", err
			}
			*split.out = append(*split.out, info)
			m.Docs[split.name] += info.Docs
			m.Events[split.name] += info.Docs
			m.Bytes[split.name] += info.Tokens
		}
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, tokenize.ManifestFile)
	return path, os.WriteFile(path, mb, 0o644)
}

func writeShard(dir, base, dtype string, docs [][]uint32) (tokenize.ShardInfo, error) {
	var bin, idx []byte
	var off uint64
	idx = binary.LittleEndian.AppendUint64(idx, 0)
	for _, doc := range docs {
		for _, t := range doc {
			if dtype == "uint16" {
				bin = binary.LittleEndian.AppendUint16(bin, uint16(t))
			} else {
				bin = binary.LittleEndian.AppendUint32(bin, t)
			}
		}
		off += uint64(len(doc))
		idx = binary.LittleEndian.AppendUint64(idx, off)
	}
	info := tokenize.ShardInfo{Bin: base + ".bin", Idx: base + ".idx", Tokens: int64(off), Docs: int64(len(docs))}
	h := sha256.New()
	h.Write(bin)
	h.Write(idx)
	info.SHA256 = hex.EncodeToString(h.Sum(nil))
	if err := os.WriteFile(filepath.Join(dir, info.Bin), bin, 0o644); err != nil {
		return info, err
	}
	return info, os.WriteFile(filepath.Join(dir, info.Idx), idx, 0o644)
}

// PatternDocs returns n documents of length docLen over a vocabulary of
// vocab ids with structure a small model learns within tens of steps: each
// document starts with the end-of-text id 0, then follows a fixed
// permutation chain t -> (5(t-1)+3) mod (vocab-1) + 1 from a start drawn from
// seed. Every token after the first of a document is fully determined by its
// predecessor.
func PatternDocs(seed uint64, n, docLen, vocab int) [][]uint32 {
	docs := make([][]uint32, n)
	s := seed
	for i := range docs {
		s = s*6364136223846793005 + 1442695040888963407
		t := uint32(s>>33)%uint32(vocab-1) + 1
		doc := make([]uint32, docLen)
		doc[0] = 0
		for j := 1; j < docLen; j++ {
			doc[j] = t
			t = (5*(t-1)+3)%uint32(vocab-1) + 1
		}
		docs[i] = doc
	}
	return docs
}
