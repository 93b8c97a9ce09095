package blob

import (
	"context"
	"errors"
	"io"
	"time"
)

// Store is the one storage interface shared by ingest, shards and
// checkpoints. Keys are slash-separated paths relative to the store's root
// (a directory or an s3://bucket/prefix).
type Store interface {
	// Open returns a reader for key. It returns an error wrapping ErrNotExist when absent.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Create returns a writer for key; the object becomes visible only when
	// Close returns nil, so readers never see a partial object.
	Create(ctx context.Context, key string) (io.WriteCloser, error)
	// List returns every object whose key starts with prefix, sorted by key.
	List(ctx context.Context, prefix string) ([]Info, error)
	// Stat describes key, or returns an error wrapping ErrNotExist.
	Stat(ctx context.Context, key string) (Info, error)
}

// Info describes one object.
type Info struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// ErrNotExist is wrapped by every Store when an object is absent.
var ErrNotExist = errors.New("blob: object does not exist")
