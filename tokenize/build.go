package tokenize

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
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
	// Events are the canonical events to render, in memory. Build does not
	// modify them. Leave it nil to read CanonicalDir instead.
	Events []dataset.Event
	// CanonicalDir is a directory of canonical Parquet files (an ingest
	// output or a generated world; see OpenCanonical) to read instead of
	// Events. Build streams it: memory does not grow with its size.
	CanonicalDir string
	// TempDir holds the build's spill files (the events partitioned by
	// entity, then the rendered documents), about the size of the input
	// events plus their text, removed when Build returns. Default
	// os.TempDir().
	TempDir string
	// MaxBucketBytes is the most spilled event bytes a worker renders at
	// once (one bucket of entities; a single entity larger than this is
	// still rendered whole); with Workers it bounds rendering's memory,
	// which is several times this per worker. Default
	// DefaultMaxBucketBytes. The output does not depend on it, so it is not
	// part of the cache key.
	MaxBucketBytes int64
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
	// Workers is the number of goroutines that render buckets and encode
	// documents; default GOMAXPROCS. The output does not depend on it, so it is not part of
	// the cache key.
	Workers int
	// OnShard, when set, is called with each shard of the build, in order,
	// from the goroutine that called Build: a new shard once it is durably
	// written (both of its files published in the store), a shard kept from
	// Done once it has been verified. A Resume filled from it (Resume.Add)
	// therefore always lists every finished shard of the build.
	OnShard func(info ShardInfo, split string)
	// OnProgress, when set, is called from the goroutine that called Build
	// as the build advances, so that a long build can heartbeat before its
	// first shard: every progressEvents events read, after every rendered
	// bucket, and when a stage starts.
	OnProgress func(BuildProgress)
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
	if c.Events != nil && c.CanonicalDir != "" {
		return fmt.Errorf("%w: both Events and CanonicalDir are set", ErrInvalidConfig)
	}
	if c.MaxBucketBytes < 0 {
		return fmt.Errorf("%w: MaxBucketBytes %d is negative", ErrInvalidConfig, c.MaxBucketBytes)
	}
	if c.VocabSize != 0 {
		return TrainConfig{VocabSize: c.VocabSize}.Validate()
	}
	return nil
}

// BuildProgress is what BuildConfig.OnProgress is told.
type BuildProgress struct {
	// Stage is "partitioning", "rendering", "training tokenizer",
	// "encoding train" or "encoding val".
	Stage string
	// Events is the number of input events read so far, and Docs the
	// number of documents rendered so far (both splits).
	Events, Docs int64
}

// progressEvents is how many events the build reads between two calls of
// OnProgress.
const progressEvents = 1 << 16

// DefaultMaxBucketBytes is the default BuildConfig.MaxBucketBytes.
const DefaultMaxBucketBytes = 4 << 20

// Build renders the events (Events, or CanonicalDir streamed), trains the
// tokenizer on the train documents only (val text never reaches the
// vocabulary), writes it to OutDir, encodes both splits as DocStart + text
// + DocEnd and writes the shards and, last, manifest.json. The same config
// gives byte-identical output, whatever Workers, GOMAXPROCS, TempDir and
// MaxBucketBytes are, and whatever the order of the input events.
//
// Documents are those of Render, written per split in the order of a
// 64-bit hash of their Key (keyHash; then Key, then text): a fixed
// pseudo-random interleaving of the entities of every kind, so that any
// prefix of a split (a token-limited evaluation) samples all of them.
//
// Memory is bounded independently of the input size: events are read a
// batch at a time and partitioned by entity into spill files in TempDir,
// which are rendered bucket by bucket on Workers goroutines
// (MaxBucketBytes) into one file of documents per split; the BPE trainer
// takes the word counts of the train text, and the encoder reads the
// documents back a batch at a time (see encodeOrdered for its bound).
// What does grow is the trainer's table of distinct words, with the
// vocabulary of the text (numbers, location and SKU names), not its
// length.
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
	if cfg.MaxBucketBytes == 0 {
		cfg.MaxBucketBytes = DefaultMaxBucketBytes
	}
	store, err := blob.OpenURI(ctx, cfg.OutDir, cfg.S3)
	if err != nil {
		return Manifest{}, fmt.Errorf("tokenize: %w", err)
	}
	var src EventReader = &sliceReader{evs: cfg.Events}
	if cfg.CanonicalDir != "" {
		c, err := OpenCanonical(cfg.CanonicalDir)
		if err != nil {
			return Manifest{}, err
		}
		defer c.Close()
		src = c
	}
	tmp, err := os.MkdirTemp(cfg.TempDir, "tokenize-build-")
	if err != nil {
		return Manifest{}, fmt.Errorf("tokenize: spill directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	progress := cfg.OnProgress
	if progress == nil {
		progress = func(BuildProgress) {}
	}
	r, err := renderToRuns(ctx, src, cfg.Cutoff, tmp, cfg.Workers, cfg.MaxBucketBytes, progress)
	if err != nil {
		return Manifest{}, err
	}
	progress(BuildProgress{Stage: "training tokenizer", Events: r.read, Docs: r.docs[0] + r.docs[1]})
	merges, err := trainCounts(r.counts, TrainConfig{VocabSize: cfg.VocabSize})
	if err != nil {
		return Manifest{}, err
	}
	r.counts = nil
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
		Unrendered:    r.stats.Unrendered,
	}
	for _, sp := range SpecialTokens {
		id, _ := tok.TokenID(sp)
		m.Special[sp] = id
	}
	done := cfg.Done.forKey(cfg.CacheKey())
	for s, sp := range []struct {
		name string
		out  *[]ShardInfo
	}{{SplitTrain, &m.Train}, {SplitVal, &m.Val}} {
		m.Bytes[sp.name], m.Events[sp.name], m.Docs[sp.name] = r.bytes[s], r.events[s], r.docs[s]
		progress(BuildProgress{Stage: "encoding " + sp.name, Events: r.read, Docs: r.docs[0] + r.docs[1]})
		if *sp.out, err = writeSplit(ctx, cfg, store, tok, m, sp.name, r.runs[s], tmp, r.docs[s], done.split(sp.name)); err != nil {
			return Manifest{}, fmt.Errorf("tokenize: write %s shards: %w", sp.name, err)
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

// writeSplit writes one split's shards from its run file of nDocs
// documents (the .idx being written goes to tmp): the verified prefix of done is kept, and the documents after
// it are encoded and written.
func writeSplit(ctx context.Context, cfg BuildConfig, store blob.Store, tok *Tokenizer, m Manifest, split, run, tmp string, nDocs int64, done []ShardInfo) ([]ShardInfo, error) {
	w, err := newShardWriter(ctx, store, split, m.DType, cfg.MaxShardTokens)
	if err != nil {
		return nil, err
	}
	w.tmpDir = tmp
	defer w.Abort()
	if cfg.OnShard != nil {
		w.onShard = func(info ShardInfo) { cfg.OnShard(info, split) }
	}
	kept, skip := keepDone(ctx, store, m, split, int(nDocs), done)
	w.shards = kept
	for _, info := range kept {
		if w.onShard != nil {
			w.onShard(info)
		}
	}
	docs, err := openRun(run)
	if err != nil {
		return nil, err
	}
	defer docs.Close()
	if err := docs.skip(skip); err != nil {
		return nil, err
	}
	err = encodeOrdered(ctx, tok, docs.Read, m.Special[DocStart], m.Special[DocEnd], cfg.Workers, w.WriteDoc)
	if err != nil {
		return nil, err
	}
	shards, err := w.Close()
	if shards == nil && err == nil {
		shards = []ShardInfo{}
	}
	return shards, err
}
