package train

import (
	"errors"
	"fmt"
)

// JobSpec is the trainer contract: everything a launcher hands the trainer.
// The local launcher writes it as spec.json in the job directory and passes
// it to the trainer as --spec; locally torchrun's environment conventions apply, on SageMaker the
// channels under /opt/ml/input/data/<channel> and /opt/ml/checkpoints.
type JobSpec struct {
	// IdempotencyKey is derived from the workflow ID and the segment
	// ("<workflowID>/seg-0003"); Submit never starts two jobs for one key.
	IdempotencyKey string `json:"idempotency_key"`
	// ShardManifest is the URI of the token shard manifest (tokenize.Manifest).
	ShardManifest string `json:"shard_manifest"`
	// Model is the decoder's shape.
	Model ModelConfig `json:"model"`
	// Hyper holds the optimisation settings.
	Hyper Hyper `json:"hyper"`
	// Seed fixes initialisation and the loader's global sample order.
	Seed int64 `json:"seed"`
	// WorldSize is the number of ranks (processes). Zero means 2.
	WorldSize int `json:"world_size"`
	// CheckpointDir is where checkpoints go: <CheckpointDir>/step-NNNNNNN/.
	CheckpointDir string `json:"checkpoint_dir"`
	// ResumeFrom is a checkpoint directory to resume from; empty starts fresh.
	ResumeFrom string `json:"resume_from,omitempty"`
	// TargetStep is the global step at which this job ends (it writes a checkpoint there).
	TargetStep int `json:"target_step"`
	// LoaderLib is the path of the Go loader's C shared library on the machine that runs the trainer.
	LoaderLib string `json:"loader_lib,omitempty"`
}

// Hyper holds the optimisation settings. Zero values mean the defaults noted.
type Hyper struct {
	// BatchSize is the per-rank number of windows per step. Zero means 8.
	BatchSize int `json:"batch_size"`
	// LR is AdamW's peak learning rate. Zero means 3e-3.
	LR float64 `json:"lr"`
	// WarmupSteps of linear warm-up. Zero means 20.
	WarmupSteps int `json:"warmup_steps"`
	// TotalSteps is the length of the cosine schedule. Zero means TargetStep of the last segment.
	TotalSteps int `json:"total_steps"`
	// WeightDecay for AdamW. Zero means 0.01.
	WeightDecay float64 `json:"weight_decay"`
	// LogEvery steps a progress line is printed. Zero means 10.
	LogEvery int `json:"log_every"`
	// CheckpointEvery steps the trainer also writes a checkpoint (and moves
	// latest to it) before TargetStep, so that a killed job resumes from at
	// most CheckpointEvery-1 steps back. Zero means only at TargetStep.
	CheckpointEvery int `json:"checkpoint_every,omitempty"`
	// GlobalBatch is the number of windows per optimiser step over all
	// ranks. The trainer reaches it by gradient accumulation: each rank runs
	// GlobalBatch/(BatchSize*WorldSize) micro-batches of BatchSize per step,
	// so it must be a multiple of BatchSize*WorldSize. Keeping it fixed keeps
	// the loader's global order and the optimisation identical when a
	// checkpoint resumes on another number of ranks. Zero means
	// BatchSize*WorldSize (no accumulation).
	GlobalBatch int `json:"global_batch,omitempty"`
}

// WithDefaults returns h with zero fields set to their defaults.
func (h Hyper) WithDefaults() Hyper {
	if h.BatchSize == 0 {
		h.BatchSize = 8
	}
	if h.LR == 0 {
		h.LR = 3e-3
	}
	if h.WarmupSteps == 0 {
		h.WarmupSteps = 20
	}
	if h.WeightDecay == 0 {
		h.WeightDecay = 0.01
	}
	if h.LogEvery == 0 {
		h.LogEvery = 10
	}
	return h
}

// Validate reports every problem with the spec at once.
func (s JobSpec) Validate() error {
	var errs []error
	if s.IdempotencyKey == "" {
		errs = append(errs, errors.New("idempotency_key: required"))
	}
	if s.ShardManifest == "" {
		errs = append(errs, errors.New("shard_manifest: required"))
	}
	if s.CheckpointDir == "" {
		errs = append(errs, errors.New("checkpoint_dir: required"))
	}
	if s.TargetStep <= 0 {
		errs = append(errs, fmt.Errorf("target_step: must be positive, got %d", s.TargetStep))
	}
	if s.WorldSize < 0 {
		errs = append(errs, fmt.Errorf("world_size: must not be negative, got %d", s.WorldSize))
	}
	h := s.Hyper.WithDefaults()
	if h.CheckpointEvery < 0 {
		errs = append(errs, fmt.Errorf("hyper.checkpoint_every: must not be negative, got %d", h.CheckpointEvery))
	}
	world := s.WorldSize
	if world == 0 {
		world = 2
	}
	if h.BatchSize > 0 && world > 0 && (h.GlobalBatch < 0 || h.GlobalBatch%(h.BatchSize*world) != 0) {
		errs = append(errs, fmt.Errorf("hyper.global_batch: must be a multiple of batch_size %d x world_size %d, got %d", h.BatchSize, world, h.GlobalBatch))
	}
	if err := s.Model.WithDefaults().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("model: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	return nil
}
