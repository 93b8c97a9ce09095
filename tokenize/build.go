package tokenize

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"time"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/dataset/blob"
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
	// OutDir receives manifest.json, vocab.json, merges.txt and the shards:
	// a local directory, or any URI blob.OpenURI accepts (s3://bucket/prefix).
	// Required. BuildCached and OpenShards take local directories only.
	OutDir string
	// S3 points an s3:// OutDir at an S3-compatible endpoint; zero means AWS.
	S3 blob.S3Options
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
	// Workers is the number of goroutines that encode documents; default
	// GOMAXPROCS. The output does not depend on it, so it is not part of
	// the cache key.
	Workers int
	// OnShard, when set, is called with each shard of the build, in order,
	// from the goroutine that called Build: a new shard once it is durably
	// written (both of its files published in the store), a shard kept from
	// Done once it has been verified. A Resume filled from it (Resume.Add)
	// therefore always lists every finished shard of the build.
	OnShard func(info ShardInfo, split string)
	// Done lists the shards an interrupted build with the same CacheKey
	// already wrote (a Resume filled from OnShard). Those that still read
	// back with their checksums are kept and their documents not encoded
	// again: documents are deterministic, so the shard boundaries are the
	// same. A record for another cache key, or shards that fail to verify,
	// are ignored from the first bad shard on. Nil means build everything.
	Done *Resume
}

// Validate reports whether c can be built.
func (c BuildConfig) Validate() error {
	if c.OutDir == "" {
		return fmt.Errorf("%w: OutDir is required", ErrInvalidConfig)
	}
	if c.Cutoff.IsZero() {
		return fmt.Errorf("%w: Cutoff is required", ErrInvalidConfig)
	}
	if c.Workers < 0 {
		return fmt.Errorf("%w: Workers %d is negative", ErrInvalidConfig, c.Workers)
	}
	if c.VocabSize != 0 {
		return TrainConfig{VocabSize: c.VocabSize}.Validate()
	}
	return nil
}

// Build renders events, trains the tokenizer on the train documents only (val
// text never reaches the vocabulary), writes it to OutDir, encodes both
// splits as DocStart + text + DocEnd and writes the shards and, last,
// manifest.json. The same config gives byte-identical output, whatever
// Workers and GOMAXPROCS are.
//
// Encoding runs on Workers goroutines and the shards stream to the store
// (see encodeOrdered for the memory bound on encoded documents). Rendering
// is not streamed yet: every rendered document is held in memory, as BPE
// training reads the train text whole anyway.
func Build(ctx context.Context, cfg BuildConfig) (Manifest, error) {
	if err := cfg.Validate(); err != nil {
		return Manifest{}, err
	}
	if cfg.VocabSize == 0 {
		cfg.VocabSize = 512
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	store, err := blob.OpenURI(ctx, cfg.OutDir, cfg.S3)
	if err != nil {
		return Manifest{}, fmt.Errorf("tokenize: %w", err)
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
	files, err := tokenizerFiles(merges)
	if err != nil {
		return Manifest{}, fmt.Errorf("tokenize: write tokenizer: %w", err)
	}
	for _, f := range files {
		if err := putObject(ctx, store, f.name, f.data); err != nil {
			return Manifest{}, fmt.Errorf("tokenize: write tokenizer: %w", err)
		}
	}
	tok, err := loadBytes(files[0].data, files[1].data, cfg.OutDir)
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
	done := cfg.Done.forKey(cfg.CacheKey())
	for _, s := range []struct {
		name string
		docs []Document
		out  *[]ShardInfo
	}{{SplitTrain, train, &m.Train}, {SplitVal, val, &m.Val}} {
		for _, d := range s.docs {
			m.Bytes[s.name] += int64(len(d.Text))
			m.Events[s.name] += int64(d.Events)
		}
		m.Docs[s.name] = int64(len(s.docs))
		if *s.out, err = writeSplit(ctx, cfg, store, tok, m, s.name, s.docs, done.split(s.name)); err != nil {
			return Manifest{}, fmt.Errorf("tokenize: write %s shards: %w", s.name, err)
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, err
	}
	if err := putObject(ctx, store, ManifestFile, append(b, '\n')); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// writeSplit writes one split's shards: the verified prefix of done is
// kept, and the documents after it are encoded and written.
func writeSplit(ctx context.Context, cfg BuildConfig, store blob.Store, tok *Tokenizer, m Manifest, split string, docs []Document, done []ShardInfo) ([]ShardInfo, error) {
	w, err := newShardWriter(ctx, store, split, m.DType, cfg.MaxShardTokens)
	if err != nil {
		return nil, err
	}
	defer w.Abort()
	if cfg.OnShard != nil {
		w.onShard = func(info ShardInfo) { cfg.OnShard(info, split) }
	}
	kept, skip := keepDone(ctx, store, m, split, len(docs), done)
	w.shards = kept
	for _, info := range kept {
		if w.onShard != nil {
			w.onShard(info)
		}
	}
	err = encodeOrdered(ctx, tok, docs[skip:], m.Special[DocStart], m.Special[DocEnd], cfg.Workers, w.WriteDoc)
	if err != nil {
		return nil, err
	}
	shards, err := w.Close()
	if shards == nil && err == nil {
		shards = []ShardInfo{}
	}
	return shards, err
}
