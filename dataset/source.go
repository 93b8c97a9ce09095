package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/supplyline/supplyline/dataset/blob"
)

// source is one input file, local or in a blob store.
type source struct {
	name  string // as reported: a local path or an s3:// URI
	size  int64
	local string     // local path, or
	store blob.Store // a store and key to copy from
	key   string
}

// resolveInputs expands cfg.Inputs into files sorted by name. Inputs that
// name nothing (a missing path, a glob without matches) come back as bad
// files rather than errors, like unreadable files do.
func resolveInputs(ctx context.Context, cfg IngestConfig) ([]source, []BadFile, error) {
	var out []source
	var bad []BadFile
	for _, in := range cfg.Inputs {
		if strings.HasPrefix(in, "s3://") {
			srcs, err := resolveS3(ctx, in, cfg.S3)
			if err != nil {
				bad = append(bad, BadFile{File: in, Error: err.Error()})
			}
			out = append(out, srcs...)
			continue
		}
		p := strings.TrimPrefix(in, "file://")
		matches := []string{p}
		if strings.ContainsAny(p, "*?[") {
			var err error
			if matches, err = filepath.Glob(p); err != nil {
				bad = append(bad, BadFile{File: in, Error: err.Error()})
				continue
			}
			if len(matches) == 0 {
				bad = append(bad, BadFile{File: in, Error: "glob matches no files"})
				continue
			}
		}
		for _, m := range matches {
			st, err := os.Stat(m)
			if err != nil {
				bad = append(bad, BadFile{File: m, Error: err.Error()})
				continue
			}
			if !st.IsDir() {
				out = append(out, source{name: m, size: st.Size(), local: m})
				continue
			}
			files, err := findParquet(m)
			if err != nil {
				bad = append(bad, BadFile{File: m, Error: err.Error()})
				continue
			}
			for _, f := range files {
				st, err := os.Stat(f)
				if err != nil {
					bad = append(bad, BadFile{File: f, Error: err.Error()})
					continue
				}
				out = append(out, source{name: f, size: st.Size(), local: f})
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	slices.SortFunc(out, func(a, b source) int { return strings.Compare(a.name, b.name) })
	out = slices.CompactFunc(out, func(a, b source) bool { return a.name == b.name })
	return out, bad, nil
}

// resolveS3 lists the *.parquet objects below an s3:// prefix, or the one
// object a URI ending in .parquet names.
func resolveS3(ctx context.Context, uri string, opts blob.S3Options) ([]source, error) {
	if strings.HasSuffix(uri, ".parquet") {
		dir, key := path.Split(strings.TrimPrefix(uri, "s3://"))
		st, err := blob.OpenURI(ctx, "s3://"+strings.TrimSuffix(dir, "/"), opts)
		if err != nil {
			return nil, err
		}
		info, err := st.Stat(ctx, key)
		if err != nil {
			return nil, err
		}
		return []source{{name: uri, size: info.Size, store: st, key: key}}, nil
	}
	st, err := blob.OpenURI(ctx, uri, opts)
	if err != nil {
		return nil, err
	}
	infos, err := st.List(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []source
	for _, info := range infos {
		if strings.HasSuffix(info.Key, ".parquet") {
			out = append(out, source{name: strings.TrimSuffix(uri, "/") + "/" + info.Key, size: info.Size, store: st, key: info.Key})
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no .parquet objects under this prefix")
	}
	return out, nil
}

// open returns a local file for src, copying a remote object to tmpDir
// first, because Parquet readers need random access. cleanup removes the copy.
func (src source) open(ctx context.Context, tmpDir string) (f *os.File, cleanup func(), err error) {
	if src.store == nil {
		f, err := os.Open(src.local)
		if err != nil {
			return nil, nil, err
		}
		return f, func() { f.Close() }, nil
	}
	r, err := src.store.Open(ctx, src.key)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return nil, nil, err
	}
	f, err = os.CreateTemp(tmpDir, "input-*.parquet")
	if err != nil {
		return nil, nil, err
	}
	cleanup = func() { f.Close(); os.Remove(f.Name()) }
	if _, err := io.Copy(f, r); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("download: %w", err)
	}
	return f, cleanup, nil
}
