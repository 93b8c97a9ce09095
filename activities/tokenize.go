package activities

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/supplyline/supplyline/dataset"
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
	// inputs and config reuses its shards. Empty means no cache.
	CacheDir string
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
func (a *Activities) Tokenize(ctx context.Context, in TokenizeInput) (TokenizeOutput, error) {
	if in.Cutoff.IsZero() {
		return TokenizeOutput{}, permanent(ErrTypeInvalidConfig, fmt.Errorf("tokenize: cutoff is required"))
	}
	activity.RecordHeartbeat(ctx, "reading canonical events")
	events, err := dataset.ReadEvents(ctx, in.CanonicalDir)
	if err != nil {
		return TokenizeOutput{}, err
	}
	activity.RecordHeartbeat(ctx, fmt.Sprintf("tokenizing %d events", len(events)))
	m, err := tokenize.BuildCached(ctx, tokenize.BuildConfig{
		Events:    events,
		OutDir:    in.OutDir,
		VocabSize: in.VocabSize,
		Cutoff:    in.Cutoff,
		InputHash: in.InputHash,
	}, in.CacheDir)
	if err != nil {
		return TokenizeOutput{}, err
	}
	out := TokenizeOutput{
		ManifestPath:  filepath.Join(in.OutDir, tokenize.ManifestFile),
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
