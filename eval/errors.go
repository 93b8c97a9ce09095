package eval

import (
	"errors"
	"fmt"
)

// Errors returned by this package. Callers test them with errors.Is or errors.As:
//
//   - ErrBadModel (also wrapped by *TensorError): a checkpoint's weights or
//     config do not match the model contract of train.ModelConfig; retrying
//     cannot help.
//   - ErrContextFull: a Session was fed more tokens than the model's ContextLen.
//   - ErrTokenRange: a token id is outside the model's vocabulary.
//   - ErrBadShard: a token shard or its manifest is malformed, fails its
//     checksum, or was made by another tokenizer.
//   - ErrInvalidConfig: a Config or task is invalid; Validate reports it.
//   - ErrNoOptimum: the dynamic program cannot give an exact optimum for a task:
//     demand is not stationary (Poisson or negative binomial, see demand.go),
//     the simulator would sample it approximately, or the state space exceeds
//     its limit (the scorecard then omits the optimum and says why).
var (
	ErrBadModel      = errors.New("eval: checkpoint does not match the model contract")
	ErrContextFull   = errors.New("eval: context window is full")
	ErrTokenRange    = errors.New("eval: token id out of vocabulary")
	ErrBadShard      = errors.New("eval: bad token shard")
	ErrInvalidConfig = errors.New("eval: invalid config")
	ErrNoOptimum     = errors.New("eval: no exact optimum")
)

// TensorError names the tensor of a checkpoint that is missing, unexpected or
// of the wrong shape.
type TensorError struct {
	Name   string
	Reason string
}

func (e *TensorError) Error() string {
	return fmt.Sprintf("eval: tensor %q: %s", e.Name, e.Reason)
}

// Unwrap makes errors.Is(err, ErrBadModel) true.
func (e *TensorError) Unwrap() error { return ErrBadModel }
