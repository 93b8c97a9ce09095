package workflows

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/supplyline/supplyline/activities"
	"github.com/supplyline/supplyline/dataset/blob"
	"github.com/supplyline/supplyline/eval"
	"github.com/supplyline/supplyline/train"
)

// RunConfig is the one file a run takes (`supplyline run --config run.json`).
// Every field has a useful zero value; see DefaultRunConfig and the README.
type RunConfig struct {
	// Inputs are raw event Parquet files: local paths, directories, globs or s3://bucket/prefix. Required.
	Inputs []string `json:"inputs"`
	// S3 points s3:// inputs at an S3-compatible endpoint; zero means AWS with the default credential chain.
	S3 blob.S3Options `json:"s3,omitzero"`
	// TolerateBadFiles continues past input files that are not Parquet or are corrupt (they are still reported).
	TolerateBadFiles bool `json:"tolerate_bad_files,omitempty"`
	// WorkDir is where the worker writes each run's artefacts, under WorkDir/<workflow ID>/. Default ".run/runs".
	WorkDir string `json:"work_dir,omitempty"`
	// Cutoff splits time: events before it train, the rest validate. Zero means
	// the UTC day boundary at CutoffFraction of the data's time range.
	Cutoff time.Time `json:"cutoff,omitzero"`
	// CutoffFraction places the automatic cutoff. Zero means 0.8.
	CutoffFraction float64 `json:"cutoff_fraction,omitempty"`
	// VocabSize of the BPE, special tokens included. Zero means 512.
	VocabSize int `json:"vocab_size,omitempty"`
	// Model is the decoder's shape; VocabSize is filled from the tokenizer. Zero fields take train's defaults.
	Model train.ModelConfig `json:"model,omitzero"`
	// Hyper holds the optimisation settings; zero fields take train's defaults.
	Hyper train.Hyper `json:"hyper,omitzero"`
	// Steps is the total number of optimiser steps. Zero means 300.
	Steps int `json:"steps,omitempty"`
	// SegmentSteps is the number of steps per training activity. Zero means 100.
	SegmentSteps int `json:"segment_steps,omitempty"`
	// WorldSize is the number of trainer ranks. Zero means 2.
	WorldSize int `json:"world_size,omitempty"`
	// Backends is the preference list of training backends; a backend without
	// capacity hands over to the next. Zero means ["local"].
	Backends []string `json:"backends,omitempty"`
	// Seed fixes initialisation, sample order and the evaluation's demand draws.
	Seed int64 `json:"seed,omitempty"`
	// CapacityRounds is how many times the whole backend list is tried before
	// the run fails for lack of capacity. Zero means 3.
	CapacityRounds int `json:"capacity_rounds,omitempty"`
	// CapacityWaitSeconds is the pause between rounds. Zero means 60.
	CapacityWaitSeconds int `json:"capacity_wait_seconds,omitempty"`
	// Promote offers the run's scorecard to the champion workflow, which
	// promotes it when PromotionRule says it beats the current champion.
	Promote bool `json:"promote,omitempty"`
	// PromotionRule is the champion/challenger rule; zero fields take eval's defaults.
	PromotionRule eval.PromotionRule `json:"promotion_rule,omitzero"`
	// Eval says what the evaluation scores; zero fields take eval's defaults.
	Eval activities.EvalOptions `json:"eval,omitzero"`
}

// WithDefaults returns c with zero fields set to their defaults.
func (c RunConfig) WithDefaults() RunConfig {
	if c.WorkDir == "" {
		c.WorkDir = filepath.Join(".run", "runs")
	}
	if c.CutoffFraction == 0 {
		c.CutoffFraction = 0.8
	}
	if c.VocabSize == 0 {
		c.VocabSize = 512
	}
	c.Model = c.Model.WithDefaults()
	if c.Steps == 0 {
		c.Steps = 300
	}
	if c.SegmentSteps == 0 {
		c.SegmentSteps = 100
	}
	if c.Hyper.TotalSteps == 0 {
		c.Hyper.TotalSteps = c.Steps
	}
	c.Hyper = c.Hyper.WithDefaults()
	if c.WorldSize == 0 {
		c.WorldSize = 2
	}
	// A fixed global batch keeps the sample order and the optimisation the
	// same when a segment runs on another number of ranks (failover, a GPU
	// host): the trainer makes it up with gradient accumulation.
	if c.Hyper.GlobalBatch == 0 {
		c.Hyper.GlobalBatch = c.Hyper.BatchSize * c.WorldSize
	}
	if len(c.Backends) == 0 {
		c.Backends = []string{"local"}
	}
	if c.CapacityRounds == 0 {
		c.CapacityRounds = 3
	}
	if c.CapacityWaitSeconds == 0 {
		c.CapacityWaitSeconds = 60
	}
	return c
}

// Validate reports every problem at once; call it after WithDefaults.
func (c RunConfig) Validate() error {
	var errs []error
	if len(c.Inputs) == 0 {
		errs = append(errs, errors.New("inputs: at least one path or s3:// URI is required"))
	}
	if c.CutoffFraction <= 0 || c.CutoffFraction >= 1 {
		errs = append(errs, fmt.Errorf("cutoff_fraction: must be in (0, 1), got %g", c.CutoffFraction))
	}
	if c.VocabSize < 256+8 {
		errs = append(errs, fmt.Errorf("vocab_size: must be at least 264 (256 bytes and room for merges), got %d", c.VocabSize))
	}
	if c.Steps <= 0 || c.SegmentSteps <= 0 {
		errs = append(errs, fmt.Errorf("steps, segment_steps: must be positive, got %d, %d", c.Steps, c.SegmentSteps))
	}
	if c.WorldSize <= 0 {
		errs = append(errs, fmt.Errorf("world_size: must be positive, got %d", c.WorldSize))
	}
	m := c.Model
	m.VocabSize = c.VocabSize
	if err := m.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("model: %w", err))
	}
	return errors.Join(errs...)
}

// cutoff resolves the time split from the data's range.
func (c RunConfig) cutoff(minTime, maxTime time.Time) time.Time {
	if !c.Cutoff.IsZero() {
		return c.Cutoff.UTC()
	}
	span := maxTime.Sub(minTime)
	t := minTime.Add(time.Duration(float64(span) * c.CutoffFraction))
	return t.UTC().Truncate(24 * time.Hour)
}
