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
	// Backend names the training backend that produced the checkpoint
	// ("local", "sagemaker-trn1", ...), recorded in the scorecard so that
	// failover shows where a model was trained. Empty means unknown.
	Backend string
	// Replenish is the replenishment task; the zero value is a usable task
	// (see ReplenishTask).
	Replenish ReplenishTask
	// HeldOutMaxTokens caps the validation tokens the next-event task
	// scores. Zero means 20000; negative skips the next-event task (and
	// Scorecard.HeldOut) even when Tasks lists it.
	HeldOutMaxTokens int
	// Tasks names the tasks to run, in scorecard order: ReplenishTaskName,
	// NextEventTaskName, EchelonTaskName, ETATaskName. Empty means DefaultTasks.
	Tasks []string
	// MultiEchelon is the multi-echelon task, run when Tasks lists it; the
	// zero value is a usable task (see EchelonTask).
	MultiEchelon EchelonTask
	// ETA is the delivery-time task on real orders, run when Tasks lists
	// ETATaskName (it is not a default task): set its Events or EventsDir,
	// and SellersFile for the route baseline.
	ETA ETATask
	// LossCurve is the training loss by step. Optional: WriteCharts draws
	// it when it is set. Evaluate copies it into Scorecard.LossCurve.
	LossCurve []LossPoint
	// Workers bounds the goroutines each task plays episodes on. Zero means
	// GOMAXPROCS. Scores do not depend on it.
	Workers int
}

// DefaultTasks are the tasks Evaluate runs when Config.Tasks is empty.
// Replenish comes first: callers that read one headline task read Tasks[0].
var DefaultTasks = []string{ReplenishTaskName, NextEventTaskName}

// taskNames are Tasks, defaults applied.
func (c Config) taskNames() []string {
	if len(c.Tasks) == 0 {
		return DefaultTasks
	}
	return c.Tasks
}

// task builds the named task from c.
func (c Config) task(name string) (Task, bool) {
	switch name {
	case ReplenishTaskName:
		t := c.Replenish
		t.Workers = c.Workers
		return t, true
	case NextEventTaskName:
		return NextEventTask{MaxTokens: c.HeldOutMaxTokens}, true
	case EchelonTaskName:
		t := c.MultiEchelon
		t.Workers = c.Workers
		return t, true
	case ETATaskName:
		t := c.ETA
		t.Workers = c.Workers
		return t, true
	}
	return nil, false
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
	seen := map[string]bool{}
	for _, name := range c.taskNames() {
		if _, ok := c.task(name); !ok || seen[name] {
			errs = append(errs, fmt.Errorf("%w: tasks: %q is unknown or repeated (known: %s, %s, %s, %s)", ErrInvalidConfig, name, ReplenishTaskName, NextEventTaskName, EchelonTaskName, ETATaskName))
		}
		seen[name] = true
	}
	if err := c.Replenish.WithDefaults().Validate(); err != nil {
		errs = append(errs, err)
	}
	if seen[ETATaskName] {
		if err := c.ETA.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if seen[EchelonTaskName] {
		if err := c.MultiEchelon.WithDefaults().Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Evaluate loads the checkpoint and its tokenizer and runs the tasks of
// c.Tasks in order, the model playing each through ModelAgent. The
// next-event task's result is also Scorecard.HeldOut. It writes nothing; the
// caller stores the scorecard (JSON and Markdown()).
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
	agent := ModelAgent(model, tok, c.ShardManifest)
	var results []TaskResult
	var heldOut *HeldOut
	for _, name := range c.taskNames() {
		if name == NextEventTaskName && c.HeldOutMaxTokens < 0 {
			continue
		}
		task, _ := c.task(name)
		res, err := task.Run(ctx, agent)
		if err != nil {
			return sc, fmt.Errorf("task %s: %w", name, err)
		}
		if res.NextEvent != nil {
			heldOut = res.NextEvent
		}
		results = append(results, res)
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
		Backend:    c.Backend,
		Tasks:      results,
		HeldOut:    heldOut,
		LossCurve:  c.LossCurve,
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
