package loader

import (
	"errors"
	"fmt"
)

// Errors returned by Open and Next. Test them with errors.Is, or errors.As
// for the typed ones:
//
//   - ErrInvalidOptions: Options.Validate failed; retrying cannot help.
//   - ErrChecksum (wrapped by *ChecksumError): a shard's .bin and .idx do
//     not hash to the manifest's SHA256.
//   - ErrTokenizerMismatch (wrapped by *TokenizerError): vocab.json and
//     merges.txt beside the manifest do not hash to its TokenizerHash.
//   - ErrBadShard (wrapped by *ShardError): a shard is malformed (wrong size,
//     bad offsets, a token id outside the vocabulary, unknown dtype).
//
// The shards are checked by tokenize.VerifyShard (over the mapped bytes); the three typed errors also
// wrap the tokenize error they translate, so errors.Is and errors.As match
// tokenize.ErrChecksum, tokenize.ErrTokenizerMismatch, tokenize.ErrShardFormat
// and their types as well.
//   - ErrNotEnoughData: the train split has fewer windows than one global batch.
//   - ErrShortBuffer: Next was given fewer than BatchTokens() elements.
//   - ErrClosed: the loader was closed.
var (
	ErrInvalidOptions    = errors.New("loader: invalid options")
	ErrChecksum          = errors.New("loader: shard checksum mismatch")
	ErrTokenizerMismatch = errors.New("loader: tokenizer hash mismatch")
	ErrBadShard          = errors.New("loader: bad shard")
	ErrNotEnoughData     = errors.New("loader: not enough data for one global batch")
	ErrShortBuffer       = errors.New("loader: destination buffer too short")
	ErrClosed            = errors.New("loader: closed")
)

// ChecksumError names the shard whose content does not match the manifest.
type ChecksumError struct {
	// File is the .bin file (its .idx is hashed after it).
	File string
	Want string
	Got  string
	err  error // the *tokenize.ChecksumError, if any
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("loader: shard %s: sha256 of .bin+.idx is %s, manifest says %s", e.File, e.Got, e.Want)
}

// Unwrap makes errors.Is(err, ErrChecksum) true, and matches the tokenize error.
func (e *ChecksumError) Unwrap() []error { return wrapped(ErrChecksum, e.err) }

// TokenizerError names the manifest whose tokenizer files do not match it.
type TokenizerError struct {
	// Dir holds manifest.json, vocab.json and merges.txt.
	Dir  string
	Want string
	Got  string
	err  error // the *tokenize.TokenizerMismatchError, if any
}

func (e *TokenizerError) Error() string {
	return fmt.Sprintf("loader: %s: sha256 of vocab.json+merges.txt is %s, manifest says %s", e.Dir, e.Got, e.Want)
}

// Unwrap makes errors.Is(err, ErrTokenizerMismatch) true, and matches the tokenize error.
func (e *TokenizerError) Unwrap() []error { return wrapped(ErrTokenizerMismatch, e.err) }

// ShardError says which file is malformed and how.
type ShardError struct {
	// File is the manifest whose shards are malformed; Reason names the
	// shard file itself.
	File   string
	Reason string
	err    error // the tokenize.ErrShardFormat error, if any
}

func (e *ShardError) Error() string {
	return fmt.Sprintf("loader: bad shard %s: %s", e.File, e.Reason)
}

// Unwrap makes errors.Is(err, ErrBadShard) true, and matches the tokenize error.
func (e *ShardError) Unwrap() []error { return wrapped(ErrBadShard, e.err) }

func wrapped(sentinel, cause error) []error {
	if cause == nil {
		return []error{sentinel}
	}
	return []error{sentinel, cause}
}
