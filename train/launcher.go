package train

import (
	"context"
	"io"
	"time"
)

// Launcher runs trainer jobs on one backend: torchrun on this host
// (train/local), SageMaker Trainium or GPU instances (train/sagemaker), later
// Kubernetes. The interface lives here, with its consumer; implementations
// live in subpackages named after what they depend on.
//
// Every method is safe to call again after a crash of the caller: jobs are
// found by their idempotency key, so a retried activity reattaches to the
// job it started instead of starting a second one.
type Launcher interface {
	// Name identifies the backend in logs, heartbeats and the scorecard ("local", "sagemaker-trn1", ...).
	Name() string
	// Submit starts the job described by spec, unless a job with
	// spec.IdempotencyKey already exists on this backend, in which case it
	// returns that job's ID and starts nothing. A backend without capacity
	// returns an error wrapping ErrNoCapacity (see CapacityError).
	Submit(ctx context.Context, spec JobSpec) (JobID, error)
	// Reattach finds the job started with idempotencyKey. It returns an error
	// wrapping ErrJobNotFound when none was ever submitted.
	Reattach(ctx context.Context, idempotencyKey string) (JobID, error)
	// Describe reports the job's state and its latest progress line.
	Describe(ctx context.Context, id JobID) (JobStatus, error)
	// Stop asks the job to end and returns once it has been told; Describe
	// then reports StateStopped when it is gone. Stopping an ended job is not an error.
	Stop(ctx context.Context, id JobID) error
	// Logs returns the job's combined output from byte offset from.
	Logs(ctx context.Context, id JobID, from int64) (io.ReadCloser, error)
}

// JobID names a job on its backend. It is opaque to callers.
type JobID string

// JobState is where a job is in its life.
type JobState string

// The job states. Succeeded, Failed and Stopped are final.
const (
	StatePending   JobState = "pending"
	StateRunning   JobState = "running"
	StateSucceeded JobState = "succeeded"
	StateFailed    JobState = "failed"
	StateStopped   JobState = "stopped"
)

// Final reports whether s is a terminal state.
func (s JobState) Final() bool {
	return s == StateSucceeded || s == StateFailed || s == StateStopped
}

// JobStatus is what Describe returns.
type JobStatus struct {
	ID    JobID    `json:"id"`
	State JobState `json:"state"`
	// Progress is the latest progress line the trainer printed (zero before the first).
	Progress Progress `json:"progress"`
	// ExitCode is set once the job is final (-1 when unknown).
	ExitCode int `json:"exit_code"`
	// Message explains a failure, in the backend's words.
	Message   string    `json:"message,omitempty"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
}

// Progress is one JSON line the trainer writes to stdout, prefixed with
// ProgressPrefix. Rank 0 writes them.
type Progress struct {
	Step         int     `json:"step"`
	Loss         float64 `json:"loss"`
	TokensPerSec float64 `json:"tokens_per_sec"`
	TokensSeen   int64   `json:"tokens_seen"`
	// Checkpoint is the URI of the checkpoint written at this step, when one was.
	Checkpoint string `json:"checkpoint,omitempty"`
	// Done is set on the last line of a job that reached its target step.
	Done bool `json:"done,omitempty"`
}

// ProgressPrefix starts every progress line, so that they can be told from
// other output of torchrun and PyTorch.
const ProgressPrefix = "SUPPLYLINE_PROGRESS "
