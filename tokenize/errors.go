package tokenize

import (
	"errors"
	"fmt"
)

// Errors of this package. Sentinels are matched with errors.Is; the struct
// types carry the file names and are matched with errors.As (each one also
// matches its sentinel with errors.Is). All of them are permanent: retrying
// the same input gives the same error.
//
//	ErrInvalidConfig      a BuildConfig, TrainConfig or Render argument is invalid
//	ErrTokenizerFormat    vocab.json or merges.txt is malformed or inconsistent
//	ErrShardFormat        a .bin or .idx does not match its manifest entry (sizes, offsets, dtype)
//	ErrChecksum           *ChecksumError: a shard's sha256 differs from the manifest
//	ErrTokenizerMismatch  *TokenizerMismatchError: the tokenizer files beside a manifest
//	                      are not the ones the shards were encoded with
var (
	ErrInvalidConfig     = errors.New("tokenize: invalid config")
	ErrTokenizerFormat   = errors.New("tokenize: malformed tokenizer files")
	ErrShardFormat       = errors.New("tokenize: malformed shard")
	ErrChecksum          = errors.New("tokenize: shard checksum mismatch")
	ErrTokenizerMismatch = errors.New("tokenize: tokenizer hash mismatch")
)

// ChecksumError reports a shard whose .bin and .idx bytes do not hash to the
// manifest's SHA256. The manifest holds one hash over both files, so both are named.
type ChecksumError struct {
	Bin, Idx  string // paths of the shard's files
	Want, Got string // hex sha256 from the manifest and as computed
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("tokenize: shard %s (with %s): sha256 %s, manifest says %s", e.Bin, e.Idx, e.Got, e.Want)
}

// Is makes errors.Is(err, ErrChecksum) true.
func (e *ChecksumError) Is(target error) bool { return target == ErrChecksum }

// TokenizerMismatchError reports tokenizer files (vocab.json, merges.txt in
// Dir) whose hash differs from the manifest's TokenizerHash.
type TokenizerMismatchError struct {
	Manifest  string // path of manifest.json
	Dir       string // directory holding vocab.json and merges.txt
	Want, Got string // hex hashes: manifest and computed
}

func (e *TokenizerMismatchError) Error() string {
	return fmt.Sprintf("tokenize: %s/vocab.json+merges.txt hash %s, manifest %s says %s", e.Dir, e.Got, e.Manifest, e.Want)
}

// Is makes errors.Is(err, ErrTokenizerMismatch) true.
func (e *TokenizerMismatchError) Is(target error) bool { return target == ErrTokenizerMismatch }
