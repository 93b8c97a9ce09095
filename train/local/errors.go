package local

import "errors"

// Errors of this package. Launcher methods otherwise return train's sentinel
// errors (train.ErrJobNotFound, train.ErrInvalidSpec, *train.CapacityError).
//
//   - ErrUnavailable: New could not find torchrun or Python; this host cannot
//     run local jobs, and the pipeline should not offer the local backend.
//   - ErrBadOffset: Logs was asked for a negative offset.
var (
	ErrUnavailable = errors.New("local: torchrun is not available")
	ErrBadOffset   = errors.New("local: negative log offset")
)
