package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/supplyline/supplyline/dataset/blob"
	"github.com/supplyline/supplyline/internal/s3test"
)

// stores returns one fresh store per backend. The S3 one runs against a
// real versitygw server; a missing binary fails the test.
func stores(t *testing.T) map[string]blob.Store {
	t.Helper()
	ctx := context.Background()
	local, err := blob.OpenURI(ctx, t.TempDir(), blob.S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	endpoint, bucket := s3test.Start(t)
	s3store, err := blob.OpenURI(ctx, "s3://"+bucket+"/some/prefix", blob.S3Options{Endpoint: endpoint, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]blob.Store{"local": local, "s3": s3store}
}

func put(t *testing.T, s blob.Store, key string, data []byte) {
	t.Helper()
	w, err := s.Create(context.Background(), key)
	if err != nil {
		t.Fatalf("Create(%q): %v", key, err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatalf("Write(%q): %v", key, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close(%q): %v", key, err)
	}
}

func get(t *testing.T, s blob.Store, key string) []byte {
	t.Helper()
	r, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return b
}

func keys(infos []blob.Info) []string {
	var out []string
	for _, i := range infos {
		out = append(out, i.Key)
	}
	return out
}

func TestStore(t *testing.T) {
	ctx := context.Background()
	// Above transfermanager's 16 MiB multipart threshold, so S3 takes the
	// multipart path; the local store sees many pipe-sized writes.
	big := bytes.Repeat([]byte("0123456789abcdef"), (17<<20)/16)

	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			objects := map[string][]byte{
				"a.txt":                          []byte("hello"),
				"date=2024-01-01/events.parquet": big,
				"date=2024-01-02/events.parquet": []byte("day two"),
				"date=2024-01-02.bak":            []byte("sorts before the slash"),
				"empty":                          nil,
			}
			for k, v := range objects {
				put(t, s, k, v)
			}

			tests := []struct {
				name   string
				prefix string
				want   []string
			}{
				{"all", "", []string{"a.txt", "date=2024-01-01/events.parquet", "date=2024-01-02.bak", "date=2024-01-02/events.parquet", "empty"}},
				{"partition dir", "date=2024-01-02/", []string{"date=2024-01-02/events.parquet"}},
				{"partial name", "date=2024-01-02", []string{"date=2024-01-02.bak", "date=2024-01-02/events.parquet"}},
				{"nothing", "nope/", nil},
			}
			for _, tt := range tests {
				t.Run("List/"+tt.name, func(t *testing.T) {
					got, err := s.List(ctx, tt.prefix)
					if err != nil {
						t.Fatal(err)
					}
					if g := strings.Join(keys(got), ","); g != strings.Join(tt.want, ",") {
						t.Errorf("List(%q) = %s, want %s", tt.prefix, g, strings.Join(tt.want, ","))
					}
					for _, info := range got {
						if info.Size != int64(len(objects[info.Key])) {
							t.Errorf("List size of %s = %d, want %d", info.Key, info.Size, len(objects[info.Key]))
						}
					}
				})
			}

			for k, v := range objects {
				if got := get(t, s, k); !bytes.Equal(got, v) {
					t.Errorf("Open(%q) returned %d bytes, want %d", k, len(got), len(v))
				}
				info, err := s.Stat(ctx, k)
				if err != nil {
					t.Fatalf("Stat(%q): %v", k, err)
				}
				if info.Key != k || info.Size != int64(len(v)) || info.ModTime.IsZero() {
					t.Errorf("Stat(%q) = %+v", k, info)
				}
			}

			t.Run("overwrite", func(t *testing.T) {
				put(t, s, "a.txt", []byte("replaced"))
				if got := string(get(t, s, "a.txt")); got != "replaced" {
					t.Errorf("after overwrite got %q", got)
				}
			})

			t.Run("missing", func(t *testing.T) {
				if _, err := s.Open(ctx, "missing/key"); !errors.Is(err, blob.ErrNotExist) {
					t.Errorf("Open missing: err = %v, want ErrNotExist", err)
				}
				if _, err := s.Stat(ctx, "missing/key"); !errors.Is(err, blob.ErrNotExist) {
					t.Errorf("Stat missing: err = %v, want ErrNotExist", err)
				}
			})

			t.Run("visible only on Close", func(t *testing.T) {
				w, err := s.Create(ctx, "pending/obj")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.Write([]byte("partial")); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Stat(ctx, "pending/obj"); !errors.Is(err, blob.ErrNotExist) {
					t.Errorf("Stat before Close: err = %v, want ErrNotExist", err)
				}
				if got, _ := s.List(ctx, "pending/"); len(got) != 0 {
					t.Errorf("List before Close = %v, want nothing", keys(got))
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if got := string(get(t, s, "pending/obj")); got != "partial" {
					t.Errorf("after Close got %q", got)
				}
			})

			t.Run("abort publishes nothing", func(t *testing.T) {
				w, err := s.Create(ctx, "aborted/obj")
				if err != nil {
					t.Fatal(err)
				}
				w.Write([]byte("never"))
				blob.Abort(w)
				if _, err := s.Stat(ctx, "aborted/obj"); !errors.Is(err, blob.ErrNotExist) {
					t.Errorf("Stat after Abort: err = %v, want ErrNotExist", err)
				}
				if got, _ := s.List(ctx, "aborted/"); len(got) != 0 {
					t.Errorf("List after Abort = %v, want nothing", keys(got))
				}
			})
		})
	}
}

func TestLocalRejectsEscapingKeys(t *testing.T) {
	s := blob.NewLocal(t.TempDir())
	for _, key := range []string{"../x", "/abs", "a/../../x", ""} {
		if _, err := s.Create(context.Background(), key); err == nil {
			t.Errorf("Create(%q) succeeded, want an error", key)
		}
	}
}

func TestOpenURI(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tests := []struct {
		uri  string
		want string // "local:<root>", "s3" or "error"
	}{
		{dir, "local:" + dir},
		{"file://" + dir, "local:" + dir},
		{"relative/dir", "local:relative/dir"},
		{"s3://bucket/prefix", "s3"},
		{"s3://bucket", "s3"},
		{"s3:///prefix", "error"},
		{"gs://bucket/x", "error"},
		{"", "error"},
	}
	t.Setenv("AWS_REGION", "us-east-1")
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			s, err := blob.OpenURI(ctx, tt.uri, blob.S3Options{})
			switch {
			case tt.want == "error":
				if err == nil {
					t.Errorf("OpenURI(%q) succeeded, want an error", tt.uri)
				}
			case err != nil:
				t.Fatalf("OpenURI(%q): %v", tt.uri, err)
			case tt.want == "s3":
				if _, ok := s.(*blob.S3); !ok {
					t.Errorf("OpenURI(%q) = %T, want *blob.S3", tt.uri, s)
				}
			default:
				l, ok := s.(*blob.Local)
				if !ok {
					t.Fatalf("OpenURI(%q) = %T, want *blob.Local", tt.uri, s)
				}
				if "local:"+l.Root() != filepath.Clean(tt.want) && "local:"+l.Root() != tt.want {
					t.Errorf("root = %s, want %s", l.Root(), tt.want)
				}
			}
		})
	}
}

func TestLocalLeavesNoTempFiles(t *testing.T) {
	dir := t.TempDir()
	s := blob.NewLocal(dir)
	put(t, s, "x/y", []byte("data"))
	entries, err := os.ReadDir(filepath.Join(dir, "x"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "y" {
		t.Errorf("dir holds %v, want only y", entries)
	}
}
