// Package blob is the small storage interface over local paths and s3://
// URIs that ingest, token shards and checkpoints share. Open a store with
// OpenURI: a plain path or file:// URI gives a local directory, s3://bucket/prefix
// gives S3 through aws-sdk-go-v2 (default credential chain; S3Options points it at
// an S3-compatible endpoint with path-style addressing).
package blob
