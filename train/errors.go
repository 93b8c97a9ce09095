package train

import (
	"errors"
	"fmt"
)

// Errors returned by launchers and checkpoint readers. Callers test them with errors.Is
// or errors.As:
//
//   - ErrNoCapacity (wrapped by *CapacityError): the backend cannot run the job now;
//     the pipeline fails over to the next backend in its preference list.
//   - ErrJobNotFound: no job was ever submitted under that key or ID.
//   - ErrInvalidSpec: the job spec is wrong; retrying cannot help.
//   - ErrBadCheckpoint: a checkpoint is missing a file or does not parse.
var (
	ErrNoCapacity    = errors.New("train: backend has no capacity")
	ErrJobNotFound   = errors.New("train: job not found")
	ErrInvalidSpec   = errors.New("train: invalid job spec")
	ErrBadCheckpoint = errors.New("train: bad checkpoint")
)

// CapacityError says which backend had no capacity, and why.
type CapacityError struct {
	Backend string
	Reason  string
}

func (e *CapacityError) Error() string {
	return fmt.Sprintf("train: backend %s has no capacity: %s", e.Backend, e.Reason)
}

// Unwrap makes errors.Is(err, ErrNoCapacity) true.
func (e *CapacityError) Unwrap() error { return ErrNoCapacity }
