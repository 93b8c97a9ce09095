package sagemaker

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// Job names. SageMaker allows 63 characters of [a-zA-Z0-9-], starting and
// ending with a letter or digit, and never reuses a name in an account and
// region, not even after the job ended: that is what makes Submit idempotent.
const (
	maxNameLen = 63
	namePrefix = "sl-"
	hashLen    = 12 // hex digits of SHA-256: 48 bits, collisions are not a concern
)

// JobName is the SageMaker training job name of the first job submitted
// under idempotencyKey: "sl-", a readable form of the key, and 12 hex digits
// of its SHA-256.
//
//	"nightly-2026-11-25/seg-0003" → "sl-nightly-2026-11-25-seg-0003-<hash>"
func JobName(idempotencyKey string) string { return jobName(idempotencyKey, 0) }

// jobName is the name of incarnation n of the key's job. A job that failed
// for lack of capacity never ran; the next Submit of its key starts
// incarnation n+1 (see Submit), whose name differs by "-rN" and its hash.
func jobName(key string, n int) string {
	hashed, suffix := key, ""
	if n > 0 {
		hashed = fmt.Sprintf("%s\x00%d", key, n)
		suffix = fmt.Sprintf("-r%d", n)
	}
	sum := sha256.Sum256([]byte(hashed))
	h := hex.EncodeToString(sum[:])[:hashLen]
	room := maxNameLen - len(namePrefix) - len(suffix) - 1 - hashLen
	readable := squash(key)
	if len(readable) > room {
		// Keep both ends: the workflow ID's start and the segment at the end.
		head := room / 2
		readable = squash(readable[:head] + "-" + readable[len(readable)-(room-head-1):])
	}
	if readable == "" {
		return namePrefix + h + suffix
	}
	return namePrefix + readable + suffix + "-" + h
}

var nonName = regexp.MustCompile(`[^a-zA-Z0-9]+`)

// squash maps runs of characters a name cannot hold to one hyphen and trims hyphens.
func squash(s string) string {
	return strings.Trim(nonName.ReplaceAllString(s, "-"), "-")
}

// keyParts matches the keys the pipeline derives: "<workflow ID>/seg-NNNN",
// with "/attempt-N" when a retried activity starts a new incarnation.
var keyParts = regexp.MustCompile(`^(.+)/(seg-\d+)(?:/attempt-\d+)?$`)

// workflowID extracts the workflow ID and segment from an idempotency key.
// A key of another shape is all workflow ID.
func workflowID(key string) (id, segment string) {
	if m := keyParts.FindStringSubmatch(key); m != nil {
		return m[1], m[2]
	}
	return key, ""
}

// Tag values allow letters, digits, spaces and _.:/=+-@, up to 256 characters.
var nonTag = regexp.MustCompile(`[^\p{L}\p{Z}\p{N}_.:/=+\-@]`)

func tagValue(s string) string {
	s = nonTag.ReplaceAllString(s, "_")
	if len(s) > 256 {
		s = s[:256]
	}
	return s
}

// s3Segment turns a workflow ID into one S3 key segment.
func s3Segment(s string) string {
	s = strings.NewReplacer("/", "_", "\\", "_").Replace(s)
	if s == "" || s == "." || s == ".." {
		return "_"
	}
	return s
}
