package tokenize

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestBuildCached(t *testing.T) {
	evs := synthEvents(3, 2, 3, 30, 2)
	cutoff := time.Date(2024, 1, 22, 0, 0, 0, 0, time.UTC)
	cache := filepath.Join(t.TempDir(), "cache")
	cfg := func(out string) BuildConfig {
		return BuildConfig{Events: evs, OutDir: out, VocabSize: 300, Cutoff: cutoff, InputHash: "abc123"}
	}
	ctx := context.Background()

	first := filepath.Join(t.TempDir(), "run1")
	m1, err := BuildCached(ctx, cfg(first), cache)
	if err != nil {
		t.Fatal(err)
	}
	key := cfg(first).CacheKey()
	if m1.CacheHit || m1.CacheKey != key || key == "" {
		t.Fatalf("first build: hit %v, key %q (want miss, key %q)", m1.CacheHit, m1.CacheKey, key)
	}
	if _, err := OpenShards(filepath.Join(cache, key, ManifestFile)); err != nil {
		t.Fatalf("the cache entry does not verify: %v", err)
	}

	// A rerun over the same inputs reuses the shards, byte for byte, and says so.
	second := filepath.Join(t.TempDir(), "run2")
	m2, err := BuildCached(ctx, cfg(second), cache)
	if err != nil {
		t.Fatal(err)
	}
	if !m2.CacheHit {
		t.Fatal("the rerun did not hit the cache")
	}
	onDisk, _, err := ReadManifest(second)
	if err != nil || !onDisk.CacheHit {
		t.Fatalf("the run's manifest does not record the hit: %+v, %v", onDisk.CacheHit, err)
	}
	for _, name := range buildFiles(m1)[1:] {
		a, _ := os.ReadFile(filepath.Join(first, name))
		b, err := os.ReadFile(filepath.Join(second, name))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs between the build and the reuse (%v)", name, err)
		}
	}
	if _, err := OpenShards(second); err != nil {
		t.Errorf("reused shards do not verify: %v", err)
	}

	// Another cutoff is another build.
	other := cfg(filepath.Join(t.TempDir(), "run3"))
	other.Cutoff = cutoff.Add(24 * time.Hour)
	if other.CacheKey() == key {
		t.Fatal("a different cutoff has the same cache key")
	}
	if m, err := BuildCached(ctx, other, cache); err != nil || m.CacheHit {
		t.Errorf("different cutoff: hit %v, err %v; want a fresh build", m.CacheHit, err)
	}

	// Building again into a directory whose files are linked into the cache
	// (a retried activity) must not write through the links.
	again := cfg(first)
	again.Cutoff = cutoff.Add(48 * time.Hour)
	if _, err := Build(ctx, again); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenShards(filepath.Join(cache, key, ManifestFile)); err != nil {
		t.Fatalf("rebuilding a linked output directory corrupted the cache: %v", err)
	}

	// A corrupt entry is rebuilt, not reused.
	bin := filepath.Join(cache, key, m1.Train[0].Bin)
	b, _ := os.ReadFile(bin)
	os.Remove(bin) // break the hard link before corrupting the cache's copy
	b[0] ^= 0xff
	os.WriteFile(bin, b, 0o644)
	m4, err := BuildCached(ctx, cfg(filepath.Join(t.TempDir(), "run4")), cache)
	if err != nil || m4.CacheHit {
		t.Fatalf("corrupt entry: hit %v, err %v; want a rebuild", m4.CacheHit, err)
	}
	if _, err := OpenShards(filepath.Join(cache, key, ManifestFile)); err != nil {
		t.Errorf("the rebuilt entry does not verify: %v", err)
	}

	// Without an input hash there is nothing to address: a plain build.
	plain := cfg(filepath.Join(t.TempDir(), "run5"))
	plain.InputHash = ""
	if m, err := BuildCached(ctx, plain, cache); err != nil || m.CacheHit || m.CacheKey != "" {
		t.Errorf("no input hash: %+v, %v", m.CacheKey, err)
	}
}
