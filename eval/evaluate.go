package eval

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/supplyline/supplyline/tokenize"
)

// Config says what Evaluate scores.
type Config struct {
	// CheckpointDir is a checkpoint directory (state.json, model.safetensors)
	// or a run's checkpoint root with a "latest" file. Required.
	CheckpointDir string
	// ShardManifest is the shard directory or its manifest.json. Held-out
	// loss is scored on its val split. Required.
	ShardManifest string
	// TokenizerDir holds vocab.json and merges.txt. Empty means the
	// directory of the manifest. When the files are there their hash must be
	// the manifest's tokenizer_hash.
	TokenizerDir string
	// Tokenizer is used as is when set; otherwise LoadTokenizer(TokenizerDir).
	Tokenizer Tokenizer
	// LoadTokenizer loads the tokenizer from a directory. Nil means tokenize.Load.
	LoadTokenizer func(dir string) (Tokenizer, error)
	// RunID names the training run. Empty means the name of the directory
	// that holds the checkpoint.
	RunID string
	// Replenish is the replenishment task; the zero value is a usable task
	// (see ReplenishTask).
	Replenish ReplenishTask
	// HeldOutMaxTokens caps the validation tokens scored. Zero means 20000;
	// negative skips held-out scoring.
	HeldOutMaxTokens int
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.CheckpointDir == "" {
		errs = append(errs, errors.New("checkpoint_dir: required"))
	}
	if c.ShardManifest == "" {
		errs = append(errs, errors.New("shard_manifest: required"))
	}
	if err := errors.Join(errs...); err != nil {
		err = fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		errs = []error{err}
	}
	if err := c.Replenish.WithDefaults().Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Evaluate loads the checkpoint and its tokenizer, plays the decision tasks
// and scores held-out loss. It writes nothing; the caller stores the
// scorecard (JSON and Markdown()).
func Evaluate(ctx context.Context, c Config) (Scorecard, error) {
	var sc Scorecard
	if err := c.Validate(); err != nil {
		return sc, err
	}
	model, err := LoadModel(c.CheckpointDir)
	if err != nil {
		return sc, err
	}
	manifest, manifestDir, err := tokenize.ReadManifest(c.ShardManifest)
	if err != nil {
		return sc, fmt.Errorf("%w: %w", ErrBadShard, err)
	}
	tokDir := c.TokenizerDir
	if tokDir == "" {
		tokDir = manifestDir
	}
	if err := checkTokenizer(tokDir, manifest, model); err != nil {
		return sc, err
	}
	tok := c.Tokenizer
	if tok == nil {
		load := c.LoadTokenizer
		if load == nil {
			load = func(dir string) (Tokenizer, error) { return tokenize.Load(dir) }
		}
		if tok, err = load(tokDir); err != nil {
			return sc, fmt.Errorf("load tokenizer from %s: %w", tokDir, err)
		}
	}
	policy, err := NewModelPolicy(model, tok, c.Replenish.WithDefaults().LeadTime)
	if err != nil {
		return sc, err
	}
	task, err := RunReplenish(ctx, c.Replenish, policy)
	if err != nil {
		return sc, fmt.Errorf("task %s: %w", ReplenishTaskName, err)
	}
	runID := c.RunID
	if runID == "" {
		runID = filepath.Base(filepath.Dir(model.Dir()))
	}
	sc = Scorecard{
		Schema:     ScorecardSchema,
		Version:    ScorecardVersion,
		RunID:      runID,
		Checkpoint: model.Dir(),
		Step:       model.Step(),
		CreatedAt:  time.Now().UTC(),
		Tasks:      []TaskResult{task},
	}
	if c.HeldOutMaxTokens >= 0 {
		h, err := HeldOutBPB(ctx, model, tok, c.ShardManifest, HeldOutOptions{MaxTokens: c.HeldOutMaxTokens})
		if err != nil {
			return Scorecard{}, fmt.Errorf("held-out: %w", err)
		}
		sc.HeldOut = &h
	}
	return sc, nil
}

// checkTokenizer refuses shards, tokenizer files and a checkpoint that were
// not made with the same tokenizer, wherever the hashes are known. The shards
// are verified against the tokenizer beside them by tokenize.OpenShards (in
// HeldOutBPB); this checks the checkpoint's lineage and the tokenizer
// Evaluate decodes with, which may live elsewhere (TokenizerDir), and runs
// even when held-out scoring is skipped.
func checkTokenizer(dir string, m tokenize.Manifest, model *Model) error {
	if m.VocabSize != model.VocabSize() {
		return fmt.Errorf("%w: shards have vocabulary %d, the model %d", ErrBadShard, m.VocabSize, model.VocabSize())
	}
	if h := model.Lineage().TokenizerHash; h != "" && m.TokenizerHash != "" && h != m.TokenizerHash {
		return fmt.Errorf("%w: checkpoint was trained with tokenizer %s, shards are %s", ErrBadShard, h, m.TokenizerHash)
	}
	if _, err := os.Stat(filepath.Join(dir, "vocab.json")); err != nil {
		return nil // no tokenizer files to check (an injected tokenizer)
	}
	h, err := tokenize.TokenizerHashOf(dir)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadShard, err)
	}
	if m.TokenizerHash != "" && h != m.TokenizerHash {
		return fmt.Errorf("%w: tokenizer in %s hashes to %s, shards say %s", ErrBadShard, dir, h, m.TokenizerHash)
	}
	return nil
}
