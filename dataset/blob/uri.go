package blob

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// Aborter is implemented by the writers that Local and S3 return from
// Create. Abort discards what was written and publishes nothing; calling
// Close after an error would publish a partial object instead.
type Aborter interface {
	Abort() error
}

// Abort discards w if it supports Aborter and closes it otherwise. Use it
// on error paths: `defer` it and it is a no-op after a successful Close.
func Abort(w interface{ Close() error }) {
	if a, ok := w.(Aborter); ok {
		a.Abort()
		return
	}
	w.Close()
}

// OpenURI opens the store that uri names:
//
//	/data/events, ./events, file:///data/events  a local directory (Local)
//	s3://bucket, s3://bucket/prefix              an S3 bucket and key prefix (S3)
//
// opts only applies to s3:// URIs.
func OpenURI(ctx context.Context, uri string, opts S3Options) (Store, error) {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		if uri == "" {
			return nil, fmt.Errorf("blob: empty URI")
		}
		return NewLocal(uri), nil
	}
	switch strings.ToLower(scheme) {
	case "file":
		u, err := url.Parse(uri)
		if err != nil {
			return nil, fmt.Errorf("blob: parse %q: %w", uri, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("blob: %q: file URIs with a host are not supported", uri)
		}
		if u.Path == "" {
			return nil, fmt.Errorf("blob: %q: empty path", uri)
		}
		return NewLocal(u.Path), nil
	case "s3":
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return nil, fmt.Errorf("blob: %q: missing bucket", uri)
		}
		return NewS3(ctx, bucket, prefix, opts)
	default:
		return nil, fmt.Errorf("blob: %q: unsupported scheme %q (want a path, file:// or s3://)", uri, scheme)
	}
}
