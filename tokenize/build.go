package tokenize

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/supplyline/supplyline/dataset"
)

// Split names.
const (
	SplitTrain = "train"
	SplitVal   = "val"
)

// BuildConfig configures Build. Fields left zero take the documented default.
type BuildConfig struct {
	// Events are the canonical events to render. Build does not modify them.
	Events []dataset.Event
	// OutDir receives manifest.json, vocab.json, merges.txt and the shards.
	// Required.
	OutDir string
	// VocabSize is the tokenizer's vocabulary size (bytes, merges, special
	// tokens); default 512. Training may stop short of it on small inputs.
	VocabSize int
	// Cutoff splits time: train before, val at or after. Required.
	Cutoff time.Time
	// InputHash is the content hash of the canonical events, copied into
	// the manifest for lineage.
	InputHash string
	// MaxShardTokens rotates shards; default DefaultMaxShardTokens.
	MaxShardTokens int64
}

// Validate reports whether c can be built.
func (c BuildConfig) Validate() error {
	if c.OutDir == "" {
		return fmt.Errorf("%w: OutDir is required", ErrInvalidConfig)
	}
	if c.Cutoff.IsZero() {
		return fmt.Errorf("%w: Cutoff is required", ErrInvalidConfig)
	}
	if c.VocabSize != 0 {
		return TrainConfig{VocabSize: c.VocabSize}.Validate()
	}
	return nil
}

// Build renders events, trains the tokenizer on the train documents only (val
// text never reaches the vocabulary), writes it to OutDir, encodes both
// splits as DocStart + text + DocEnd and writes the shards and, last,
// manifest.json. The same config gives byte-identical output.
//
// Thin for now: encoding runs on one goroutine and all rendered text is held
// in memory.
func Build(ctx context.Context, cfg BuildConfig) (Manifest, error) {
	if err := cfg.Validate(); err != nil {
		return Manifest{}, err
	}
	if cfg.VocabSize == 0 {
		cfg.VocabSize = 512
	}
	train, val, stats, err := Render(cfg.Events, cfg.Cutoff)
	if err != nil {
		return Manifest{}, err
	}
	merges, err := Train(func(yield func(string) bool) {
		for _, d := range train {
			if !yield(d.Text) {
				return
			}
		}
	}, TrainConfig{VocabSize: cfg.VocabSize})
	if err != nil {
		return Manifest{}, err
	}
	if err := ctx.Err(); err != nil {
		return Manifest{}, err
	}
	if err := WriteTokenizer(cfg.OutDir, merges); err != nil {
		return Manifest{}, fmt.Errorf("tokenize: write tokenizer: %w", err)
	}
	tok, err := Load(cfg.OutDir)
	if err != nil {
		return Manifest{}, err
	}

	m := Manifest{
		Version:       ManifestVersion,
		DType:         DTypeFor(tok.VocabSize()),
		VocabSize:     tok.VocabSize(),
		TokenizerHash: tok.Hash(),
		InputHash:     cfg.InputHash,
		Cutoff:        cfg.Cutoff.UTC(),
		Special:       map[string]int{},
		Bytes:         map[string]int64{},
		Docs:          map[string]int64{},
		Events:        map[string]int64{},
		Unrendered:    stats.Unrendered,
	}
	for _, sp := range SpecialTokens {
		id, _ := tok.TokenID(sp)
		m.Special[sp] = id
	}
	docStart, docEnd := m.Special[DocStart], m.Special[DocEnd]
	for _, s := range []struct {
		name string
		docs []Document
		out  *[]ShardInfo
	}{{SplitTrain, train, &m.Train}, {SplitVal, val, &m.Val}} {
		w, err := NewShardWriter(cfg.OutDir, s.name, m.DType, cfg.MaxShardTokens)
		if err != nil {
			return Manifest{}, err
		}
		var ids []int
		for i, d := range s.docs {
			if i%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return Manifest{}, err
				}
			}
			ids = append(ids[:0], docStart)
			ids = tok.AppendEncode(ids, d.Text)
			ids = append(ids, docEnd)
			if err := w.WriteDoc(ids); err != nil {
				return Manifest{}, fmt.Errorf("tokenize: write %s shard: %w", s.name, err)
			}
			m.Bytes[s.name] += int64(len(d.Text))
			m.Events[s.name] += int64(d.Events)
		}
		m.Docs[s.name] = int64(len(s.docs))
		if *s.out, err = w.Close(); err != nil {
			return Manifest{}, fmt.Errorf("tokenize: write %s shard: %w", s.name, err)
		}
		if *s.out == nil {
			*s.out = []ShardInfo{}
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, err
	}
	if err := writeFileAtomic(filepath.Join(cfg.OutDir, ManifestFile), append(b, '\n')); err != nil {
		return Manifest{}, err
	}
	return m, nil
}
