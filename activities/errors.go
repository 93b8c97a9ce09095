package activities

import (
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/supplyline/supplyline/train"
)

// Application error types of permanent failures. Each activity returns them
// as temporal.NewNonRetryableApplicationError, and NonRetryableErrorTypes
// feeds the retry policies in workflows/options.go, so the two never drift.
//
//   - ErrTypeBadInput: input data or files are wrong (bad Parquet, nothing valid to train on).
//   - ErrTypeInvalidConfig: a run config or job spec is wrong.
//   - ErrTypeNoCapacity: a training backend has no capacity now; the workflow
//     fails over to the next backend in its preference list.
//   - ErrTypeTrainJobFailed: the trainer process failed; its log tail is in the message.
//   - ErrTypeUnknownBackend: the run config names a backend this worker does not have.
const (
	ErrTypeBadInput       = "BadInput"
	ErrTypeInvalidConfig  = "InvalidConfig"
	ErrTypeNoCapacity     = "NoCapacity"
	ErrTypeTrainJobFailed = "TrainJobFailed"
	ErrTypeUnknownBackend = "UnknownBackend"
)

// NonRetryableErrorTypes lists every error type above.
var NonRetryableErrorTypes = []string{
	ErrTypeBadInput, ErrTypeInvalidConfig, ErrTypeNoCapacity, ErrTypeTrainJobFailed, ErrTypeUnknownBackend,
}

// permanent wraps err as a non-retryable application error of errType.
func permanent(errType string, err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), errType, err)
}

// trainError maps a launcher error to a Temporal error: capacity errors are
// permanent for this backend (the workflow moves on), invalid specs are
// permanent, everything else is retried.
func trainError(err error) error {
	switch {
	case errors.Is(err, train.ErrNoCapacity):
		return permanent(ErrTypeNoCapacity, err)
	case errors.Is(err, train.ErrInvalidSpec):
		return permanent(ErrTypeInvalidConfig, err)
	}
	return err
}
