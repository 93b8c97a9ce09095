package tokenize

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"

	"github.com/supplyline/supplyline/dataset/blob"
	"github.com/supplyline/supplyline/internal/s3test"
)

// buildFilesEqual fails unless dirs a and b hold the same files with the same bytes.
func buildFilesEqual(t *testing.T, a, b string) {
	t.Helper()
	entries, err := os.ReadDir(a)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := os.ReadDir(b)
	if len(entries) != len(other) {
		t.Fatalf("%d files in %s, %d in %s", len(entries), a, len(other), b)
	}
	for _, e := range entries {
		x, _ := os.ReadFile(filepath.Join(a, e.Name()))
		y, err := os.ReadFile(filepath.Join(b, e.Name()))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs (%v)", e.Name(), err)
		}
	}
}

func TestBuildParallelIdentical(t *testing.T) {
	evs := synthEvents(5, 3, 4, 40, 400)
	cutoff := testStart.AddDate(0, 0, 28)
	run := func(workers, procs int) string {
		t.Helper()
		if procs > 0 {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		}
		dir := t.TempDir()
		_, err := Build(context.Background(), BuildConfig{Events: evs, OutDir: dir, Cutoff: cutoff, InputHash: "in", MaxShardTokens: 5000, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		return dir
	}
	one := run(1, 0)
	m, _, err := ReadManifest(one)
	if err != nil {
		t.Fatal(err)
	}
	if m.Docs[SplitTrain] < 4*batchDocs {
		t.Fatalf("%d train documents: too few to spread over the workers", m.Docs[SplitTrain])
	}
	if len(m.Train) < 3 || len(m.Val) < 2 {
		t.Fatalf("want several shards per split, got %d train, %d val", len(m.Train), len(m.Val))
	}
	t.Run("1 vs 4 workers", func(t *testing.T) { buildFilesEqual(t, one, run(4, 0)) })
	t.Run("GOMAXPROCS 1 vs 2", func(t *testing.T) { buildFilesEqual(t, run(0, 1), run(0, 2)) })
}

func TestBuildResume(t *testing.T) {
	evs := synthEvents(6, 3, 4, 40, 400)
	cutoff := testStart.AddDate(0, 0, 28)
	cfg := BuildConfig{Events: evs, Cutoff: cutoff, InputHash: "in", MaxShardTokens: 4000, Workers: 4}

	fresh := t.TempDir()
	cfg.OutDir = fresh
	want, err := Build(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Train) < 4 {
		t.Fatalf("want at least 4 train shards, got %d", len(want.Train))
	}

	// The first attempt dies after its second shard, as a killed worker would.
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &Resume{CacheKey: cfg.CacheKey()}
	cfg.OutDir = dir
	cfg.OnShard = func(info ShardInfo, split string) {
		rec.Add(info, split)
		if rec.Len() == 2 {
			cancel()
		}
	}
	if _, err := Build(ctx, cfg); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted build: %v, want context.Canceled", err)
	}
	if rec.Len() != 2 {
		t.Fatalf("recorded %d shards before the interruption, want 2", rec.Len())
	}
	if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err == nil {
		t.Fatal("an interrupted build wrote its manifest")
	}
	before := map[string]os.FileInfo{}
	for _, s := range rec.Train {
		for _, name := range []string{s.Bin, s.Idx} {
			st, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			before[name] = st
		}
	}

	// The retry keeps those two shards (same files: not rewritten), reports
	// every shard, and ends with the bytes of an uninterrupted build.
	cfg.Done = rec
	again := &Resume{CacheKey: cfg.CacheKey()}
	cfg.OnShard = again.Add
	got, err := Build(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	buildFilesEqual(t, fresh, dir)
	if len(got.Train) != len(want.Train) || !reflect.DeepEqual(again.Train, want.Train) || !reflect.DeepEqual(again.Val, want.Val) {
		t.Fatalf("retry reported %d train, %d val shards, want %d, %d", len(again.Train), len(again.Val), len(want.Train), len(want.Val))
	}
	for name, st := range before {
		now, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !os.SameFile(st, now) || !now.ModTime().Equal(st.ModTime()) {
			t.Errorf("%s was rewritten by the retry (%v)", name, err)
		}
	}
	if _, err := OpenShards(dir); err != nil {
		t.Fatal(err)
	}

	t.Run("a damaged shard is rewritten", func(t *testing.T) {
		dir := t.TempDir()
		rec := &Resume{CacheKey: cfg.CacheKey()}
		c := cfg
		c.OutDir, c.Done, c.OnShard = dir, nil, rec.Add
		if _, err := Build(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(dir, rec.Train[1].Bin)
		if err := os.WriteFile(bin, []byte("junk"), 0o644); err != nil {
			t.Fatal(err)
		}
		c.Done, c.OnShard = rec, nil
		if _, err := Build(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		buildFilesEqual(t, fresh, dir)
	})
	t.Run("a record for another build is ignored", func(t *testing.T) {
		dir := t.TempDir()
		c := cfg
		c.OutDir, c.OnShard = dir, nil
		c.Done = &Resume{CacheKey: "other", Train: []ShardInfo{{Bin: "train-00000.bin", Idx: "train-00000.idx", Docs: 1}}}
		if _, err := Build(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		buildFilesEqual(t, fresh, dir)
	})
}

func TestBuildToS3(t *testing.T) {
	endpoint, bucket := s3test.Start(t)
	evs := synthEvents(7, 2, 3, 30, 200)
	cutoff := testStart.AddDate(0, 0, 20)
	opts := blob.S3Options{Endpoint: endpoint, PathStyle: true}
	local := t.TempDir()
	cfg := BuildConfig{Events: evs, OutDir: local, Cutoff: cutoff, InputHash: "in", MaxShardTokens: 3000}
	if _, err := Build(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	cfg.OutDir, cfg.S3 = "s3://"+bucket+"/runs/r1/shards", opts
	m, err := Build(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	store, err := blob.OpenURI(ctx, cfg.OutDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := getObject(ctx, store, ManifestFile)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := os.ReadFile(filepath.Join(local, ManifestFile)); !bytes.Equal(mb, want) {
		t.Fatalf("manifest in S3 differs from the local build's:\n%s\n%s", mb, want)
	}
	shards := append(append([]ShardInfo{}, m.Train...), m.Val...)
	if len(m.Train) < 2 || len(m.Val) < 1 {
		t.Fatalf("%d train, %d val shards", len(m.Train), len(m.Val))
	}
	for _, s := range shards {
		bin, err := getObject(ctx, store, s.Bin)
		if err != nil {
			t.Fatal(err)
		}
		idx, err := getObject(ctx, store, s.Idx)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyShard(s, bin, idx, m.DType, m.VocabSize); err != nil {
			t.Errorf("%s in S3: %v", s.Bin, err)
		}
	}
	for _, name := range buildFiles(m)[1:] {
		got, err := getObject(ctx, store, name)
		want, _ := os.ReadFile(filepath.Join(local, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s in S3 differs from the local build's (%v)", name, err)
		}
	}
	objs, err := store.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != len(buildFiles(m)) {
		t.Errorf("%d objects under the prefix, want the %d build files", len(objs), len(buildFiles(m)))
	}
}
