package activities

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/supplyline/supplyline/dataset/blob"
	"github.com/supplyline/supplyline/tokenize"
)

// TokenizeInput names the canonical events, the shard directory and the time split.
type TokenizeInput struct {
	CanonicalDir string
	OutDir       string
	// VocabSize of the BPE tokenizer, special tokens included. Zero means tokenize's default.
	VocabSize int
	// Cutoff: events before it train, the rest validate and evaluate.
	Cutoff time.Time
	// InputHash is the canonical table's content hash, recorded as lineage
	// and part of the shard cache key.
	InputHash string
	// CacheDir is the content-addressed shard cache; a rerun over unchanged
	// inputs and config reuses its shards. Empty means no cache, and so
	// does an s3:// OutDir.
	CacheDir string
	// S3 points an s3:// OutDir at an S3-compatible endpoint; zero means AWS.
	S3 blob.S3Options
}

// TokenizeProgress is the Tokenize activity's heartbeat: the stage it is
// in and the shards it has finished. A retry reads it back and keeps those
// shards instead of encoding their documents again.
type TokenizeProgress struct {
	Stage string
	Done  tokenize.Resume
}

// TokenizeOutput summarises the shards; the manifest is at ManifestPath.
type TokenizeOutput struct {
	ManifestPath  string
	VocabSize     int
	TokenizerHash string
	TrainTokens   int64
	ValTokens     int64
	TrainDocs     int64
	ValDocs       int64
	Cutoff        time.Time
	// CacheHit says the shards were reused from the cache.
	CacheHit bool
}

// Tokenize renders, trains the BPE, encodes and writes shards plus manifest.
// It heartbeats a TokenizeProgress as the build advances and after each
// shard; a retry resumes from the last shard it recorded.
func (a *Activities) Tokenize(ctx context.Context, in TokenizeInput) (TokenizeOutput, error) {
	if in.Cutoff.IsZero() {
		return TokenizeOutput{}, permanent(ErrTypeInvalidConfig, fmt.Errorf("tokenize: cutoff is required"))
	}
	// Build streams the canonical day files itself, with memory bounded
	// whatever their size, so no events are loaded here.
	cfg := tokenize.BuildConfig{
		CanonicalDir: in.CanonicalDir,
		OutDir:       in.OutDir,
		S3:           in.S3,
		VocabSize:    in.VocabSize,
		Cutoff:       in.Cutoff,
		InputHash:    in.InputHash,
	}
	var prev TokenizeProgress
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &prev); err != nil {
			activity.GetLogger(ctx).Warn("tokenize: unreadable heartbeat from the last attempt; rebuilding every shard", "error", err)
			prev = TokenizeProgress{}
		}
	}
	if prev.Done.Len() > 0 {
		cfg.Done = &prev.Done
		activity.GetLogger(ctx).Info("tokenize: resuming", "finished_shards", prev.Done.Len())
	}
	progress := TokenizeProgress{Stage: "tokenizing " + in.CanonicalDir, Done: tokenize.Resume{CacheKey: cfg.CacheKey()}}
	activity.RecordHeartbeat(ctx, progress)
	cfg.OnProgress = func(p tokenize.BuildProgress) {
		progress.Stage = fmt.Sprintf("%s (%d events read, %d documents)", p.Stage, p.Events, p.Docs)
		activity.RecordHeartbeat(ctx, progress)
	}
	cfg.OnShard = func(info tokenize.ShardInfo, split string) {
		progress.Done.Add(info, split)
		activity.RecordHeartbeat(ctx, progress)
	}
	m, err := tokenize.BuildCached(ctx, cfg, in.CacheDir)
	if err != nil {
		return TokenizeOutput{}, err
	}
	out := TokenizeOutput{
		ManifestPath:  manifestPath(in.OutDir),
		VocabSize:     m.VocabSize,
		TokenizerHash: m.TokenizerHash,
		TrainDocs:     m.Docs["train"],
		ValDocs:       m.Docs["val"],
		Cutoff:        m.Cutoff,
		CacheHit:      m.CacheHit,
	}
	for _, s := range m.Train {
		out.TrainTokens += s.Tokens
	}
	for _, s := range m.Val {
		out.ValTokens += s.Tokens
	}
	if out.TrainTokens == 0 || out.ValTokens == 0 {
		return out, permanent(ErrTypeBadInput, fmt.Errorf("tokenize: cutoff %s leaves %d train and %d validation tokens; both must be non-empty", in.Cutoff.Format(time.RFC3339), out.TrainTokens, out.ValTokens))
	}
	return out, nil
}

// manifestPath is the manifest's path in outDir, a directory or a URI.
func manifestPath(outDir string) string {
	if strings.Contains(outDir, "://") {
		return strings.TrimSuffix(outDir, "/") + "/" + tokenize.ManifestFile
	}
	return filepath.Join(outDir, tokenize.ManifestFile)
}
