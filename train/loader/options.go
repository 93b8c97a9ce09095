package loader

import (
	"errors"
	"fmt"

	"github.com/supplyline/supplyline/train"
)

// Options configure a Loader. The zero value is a single-rank loader with
// the trainer's default shapes, starting at epoch 0 of seed 0.
type Options struct {
	// SeqLen is the number of input tokens per window (the model's context
	// length); each window holds SeqLen+1 tokens so that inputs and targets
	// come from one row. Zero means 128, ModelConfig's default.
	SeqLen int
	// BatchSize is the number of windows per rank per batch. Zero means 8,
	// Hyper's default.
	BatchSize int
	// Rank is this process's rank, in [0, WorldSize).
	Rank int
	// WorldSize is the number of ranks sharing the global order. Zero means 1.
	WorldSize int
	// State is where to start: Seed and Epoch pick the permutation, Position
	// the number of windows of that epoch already consumed. State.WorldSize
	// is informational (the world that saved it) and may differ from
	// WorldSize: positions count global windows, so a resume may change the
	// number of ranks.
	State train.LoaderState
	// Prefetch is the number of batches a goroutine prepares ahead of Next,
	// i.e. the size of the ring of batch buffers (each BatchSize*(SeqLen+1)
	// int64s). Zero means 4.
	Prefetch int
}

// withDefaults returns o with zero fields set to their defaults.
func (o Options) withDefaults() Options {
	if o.SeqLen == 0 {
		o.SeqLen = 128
	}
	if o.BatchSize == 0 {
		o.BatchSize = 8
	}
	if o.WorldSize == 0 {
		o.WorldSize = 1
	}
	if o.Prefetch == 0 {
		o.Prefetch = 4
	}
	return o
}

// Validate reports every problem with o (after defaults) at once, wrapped in
// ErrInvalidOptions.
func (o Options) Validate() error {
	o = o.withDefaults()
	var errs []error
	if o.SeqLen < 0 {
		errs = append(errs, fmt.Errorf("seq_len: must be positive, got %d", o.SeqLen))
	}
	if o.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("batch_size: must be positive, got %d", o.BatchSize))
	}
	if o.WorldSize < 0 {
		errs = append(errs, fmt.Errorf("world_size: must be positive, got %d", o.WorldSize))
	} else if o.Rank < 0 || o.Rank >= o.WorldSize {
		errs = append(errs, fmt.Errorf("rank: must be in [0, %d), got %d", o.WorldSize, o.Rank))
	}
	if o.Prefetch < 0 {
		errs = append(errs, fmt.Errorf("prefetch: must not be negative, got %d", o.Prefetch))
	}
	if o.State.Epoch < 0 {
		errs = append(errs, fmt.Errorf("state.epoch: must not be negative, got %d", o.State.Epoch))
	}
	if o.State.Position < 0 {
		errs = append(errs, fmt.Errorf("state.position: must not be negative, got %d", o.State.Position))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	return nil
}
