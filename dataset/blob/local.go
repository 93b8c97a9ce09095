package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// tmpPrefix marks the temporary files of unfinished Creates. List skips
// them, so a crashed writer never shows up as an object.
const tmpPrefix = ".blob-tmp-"

// Local is a Store over a local directory. Keys map to files below Root;
// directories are created on demand and are not objects themselves.
type Local struct {
	root string
}

var _ Store = (*Local)(nil)

// NewLocal returns a Store rooted at dir. The directory need not exist yet:
// Create makes it.
func NewLocal(dir string) *Local {
	return &Local{root: filepath.Clean(dir)}
}

// Root is the directory the store is rooted at.
func (l *Local) Root() string { return l.root }

// path maps a key to a file path, refusing keys that would escape the root.
func (l *Local) path(key string) (string, error) {
	if !fs.ValidPath(key) || key == "." {
		return "", fmt.Errorf("blob: invalid key %q", key)
	}
	return filepath.Join(l.root, filepath.FromSlash(key)), nil
}

// Open implements Store.
func (l *Local) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, notExist(key, err)
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("blob: open %s: is a directory: %w", key, ErrNotExist)
	}
	return f, nil
}

// Create implements Store. Bytes go to a temporary file next to the target,
// which Close renames into place; Abort removes it instead.
func (l *Local) Create(ctx context.Context, key string) (io.WriteCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("blob: create %s: %w", key, err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), tmpPrefix+filepath.Base(p)+"-*")
	if err != nil {
		return nil, fmt.Errorf("blob: create %s: %w", key, err)
	}
	return &localWriter{f: f, dst: p, key: key}, nil
}

type localWriter struct {
	f    *os.File
	dst  string
	key  string
	done bool
}

func (w *localWriter) Write(p []byte) (int, error) { return w.f.Write(p) }

// Close publishes the object: the temporary file is synced and renamed.
func (w *localWriter) Close() error {
	if w.done {
		return fmt.Errorf("blob: %s: already closed", w.key)
	}
	w.done = true
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(w.f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(w.f.Name(), w.dst)
	}
	if err != nil {
		os.Remove(w.f.Name())
		return fmt.Errorf("blob: create %s: %w", w.key, err)
	}
	return nil
}

// Abort implements Aborter.
func (w *localWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	return os.Remove(w.f.Name())
}

// List implements Store. It walks only the directory that contains the
// prefix, so listing one day's partition does not read the whole tree.
func (l *Local) List(ctx context.Context, prefix string) ([]Info, error) {
	dir := "."
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		dir = prefix[:i]
	}
	if dir != "." && !fs.ValidPath(dir) {
		return nil, fmt.Errorf("blob: invalid prefix %q", prefix)
	}
	start := filepath.Join(l.root, filepath.FromSlash(dir))
	var out []Info
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), tmpPrefix) {
			return nil
		}
		rel, err := filepath.Rel(l.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		st, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, Info{Key: key, Size: st.Size(), ModTime: st.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("blob: list %q: %w", prefix, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Stat implements Store.
func (l *Local) Stat(ctx context.Context, key string) (Info, error) {
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	p, err := l.path(key)
	if err != nil {
		return Info{}, err
	}
	st, err := os.Stat(p)
	if err != nil {
		return Info{}, notExist(key, err)
	}
	if st.IsDir() {
		return Info{}, fmt.Errorf("blob: stat %s: is a directory: %w", key, ErrNotExist)
	}
	return Info{Key: path.Clean(key), Size: st.Size(), ModTime: st.ModTime()}, nil
}

func notExist(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: %s: %w", key, ErrNotExist)
	}
	return fmt.Errorf("blob: %s: %w", key, err)
}
