package sagemaker

import "errors"

// Errors of this package. Launcher methods otherwise return train's sentinel
// errors: train.ErrJobNotFound, train.ErrInvalidSpec, and *train.CapacityError
// (errors.Is(err, train.ErrNoCapacity)) when SageMaker has no capacity.
//
//   - ErrInvalidOptions: Options do not validate, or name a region without a
//     default image; New returns it.
//   - ErrLoaderLib: the loader library cannot go to the job: it is missing,
//     not an x86-64 ELF shared object, or needs a newer glibc than the
//     image has (see GLIBCError). Submit wraps it in train.ErrInvalidSpec
//     too, since retrying cannot help.
//   - ErrLogsUnavailable: Logs cannot return a SageMaker job's output; it
//     lives in CloudWatch Logs, which this launcher does not read.
var (
	ErrInvalidOptions  = errors.New("sagemaker: invalid options")
	ErrLoaderLib       = errors.New("sagemaker: loader library unusable")
	ErrLogsUnavailable = errors.New("sagemaker: job logs are in CloudWatch Logs, not readable through this launcher")
)

// GLIBCError says that the loader library needs a newer glibc than the image
// provides. It wraps ErrLoaderLib.
type GLIBCError struct {
	Lib   string // path of the library
	Needs string // highest version it needs, "GLIBC_2.34"
	Image string // the image
	Has   string // the image's glibc, "2.31"
}

func (e *GLIBCError) Error() string {
	return "sagemaker: loader library " + e.Lib + " needs " + e.Needs + " but image " + e.Image +
		" has glibc " + e.Has + ": build the library against an older glibc, or use a newer image (Options.Image and Options.ImageGLIBC)"
}

// Unwrap makes errors.Is(err, ErrLoaderLib) true.
func (e *GLIBCError) Unwrap() error { return ErrLoaderLib }
