package loader

import (
	"errors"
	"fmt"

	"github.com/supplyline/supplyline/tokenize"
)

// readTrain reads the train split of the shard manifest at manifestPath
// through tokenize.OpenShards, which verifies the tokenizer files and every
// shard, and returns the concatenated token stream. It holds everything in
// memory; see the package comment.
func readTrain(manifestPath string) ([]uint32, error) {
	s, err := tokenize.OpenShards(manifestPath, tokenize.SplitTrain)
	if err != nil {
		return nil, fromTokenize(manifestPath, err)
	}
	sp, err := s.Split(tokenize.SplitTrain)
	if err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	return sp.Tokens, nil
}

// fromTokenize gives tokenize's reader errors this package's types, which
// wrap them so that tokenize's sentinels and types still match.
func fromTokenize(manifestPath string, err error) error {
	var ce *tokenize.ChecksumError
	var te *tokenize.TokenizerMismatchError
	switch {
	case errors.As(err, &ce):
		return &ChecksumError{File: ce.Bin, Want: ce.Want, Got: ce.Got, err: err}
	case errors.As(err, &te):
		return &TokenizerError{Dir: te.Dir, Want: te.Want, Got: te.Got, err: err}
	case errors.Is(err, tokenize.ErrShardFormat):
		// tokenize's message, the Reason, names the malformed file.
		return &ShardError{File: manifestPath, Reason: err.Error(), err: err}
	}
	return fmt.Errorf("loader: %w", err)
}
