package tokenize

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// BuilderVersion changes whenever rendering, BPE training or encoding
// changes the bytes a build writes, so that old cache entries stop matching.
// 5: inventory day lines gain pos, c7 and up (the order-up-to decision).
// 6: documents in build order (key hash, key, text) instead of key order,
// as the streaming build writes them.
// 7: a line's c7 is kept on the train side only when its days, from the
// order's due day on (dataset.ExtraRealisedCost), end before the cutoff.
const BuilderVersion = 7

// CacheKey is the content address of a build: the same inputs and config
// give the same bytes, so they can share one cache entry. It is empty when
// c has no InputHash (nothing to address the inputs by).
func (c BuildConfig) CacheKey() string {
	if c.InputHash == "" {
		return ""
	}
	vocab := c.VocabSize
	if vocab == 0 {
		vocab = 512
	}
	maxTokens := c.MaxShardTokens
	if maxTokens == 0 {
		maxTokens = DefaultMaxShardTokens
	}
	b, _ := json.Marshal(struct {
		Manifest, Builder int
		Input             string
		Vocab             int
		Cutoff            string
		MaxShardTokens    int64
	}{ManifestVersion, BuilderVersion, c.InputHash, vocab, c.Cutoff.UTC().Format(time.RFC3339Nano), maxTokens})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// BuildCached is Build with a content-addressed cache in cacheDir: when
// cacheDir/<CacheKey> holds a build that still verifies (checksums and
// tokenizer hash, through OpenShards), its files are linked (or copied)
// into cfg.OutDir and the manifest there records the cache hit; otherwise
// Build runs and its output is added to the cache. A nightly rerun over
// unchanged inputs therefore reuses the shards instead of redoing the work.
// An empty cacheDir or an uncacheable config means a plain Build, and so
// does an OutDir given as a URI (s3://...): the cache links local files.
func BuildCached(ctx context.Context, cfg BuildConfig, cacheDir string) (Manifest, error) {
	key := cfg.CacheKey()
	if cacheDir == "" || key == "" {
		return Build(ctx, cfg)
	}
	if strings.Contains(cfg.OutDir, "://") {
		slog.Info("tokenize: the shard cache takes local output directories only; building", "out", cfg.OutDir)
		return Build(ctx, cfg)
	}
	entry := filepath.Join(cacheDir, key)
	if _, err := os.Stat(filepath.Join(entry, ManifestFile)); err == nil {
		if _, err := OpenShards(filepath.Join(entry, ManifestFile)); err != nil {
			slog.Warn("tokenize: shard cache entry fails verification; rebuilding", "entry", entry, "error", err)
		} else {
			return reuse(entry, cfg.OutDir)
		}
	}
	m, err := Build(ctx, cfg)
	if err != nil {
		return m, err
	}
	m.CacheKey = key
	if err := saveManifest(cfg.OutDir, m); err != nil {
		return m, err
	}
	if err := store(cfg.OutDir, cacheDir, key); err != nil {
		// The build itself succeeded; a cache that cannot be written only costs time later.
		slog.Warn("tokenize: could not add the build to the shard cache", "cache", cacheDir, "error", err)
	}
	return m, nil
}

// reuse links the entry's files into outDir and marks the manifest as a hit.
func reuse(entry, outDir string) (Manifest, error) {
	m, _, err := ReadManifest(filepath.Join(entry, ManifestFile))
	if err != nil {
		return m, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return m, err
	}
	for _, name := range buildFiles(m) {
		if name == ManifestFile {
			continue
		}
		if err := linkOrCopy(filepath.Join(entry, name), filepath.Join(outDir, name)); err != nil {
			return m, fmt.Errorf("tokenize: reusing cached %s: %w", name, err)
		}
	}
	m.CacheHit = true
	return m, saveManifest(outDir, m)
}

// store adds outDir's build to the cache under key, atomically: a reader
// sees a complete entry or none.
func store(outDir, cacheDir, key string) error {
	m, _, err := ReadManifest(filepath.Join(outDir, ManifestFile))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(cacheDir, ".tmp-"+key[:12]+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, name := range buildFiles(m) {
		if err := linkOrCopy(filepath.Join(outDir, name), filepath.Join(tmp, name)); err != nil {
			return err
		}
	}
	entry := filepath.Join(cacheDir, key)
	os.RemoveAll(entry) // an entry that failed verification
	return os.Rename(tmp, entry)
}

// buildFiles lists every file a build writes.
func buildFiles(m Manifest) []string {
	files := []string{ManifestFile, VocabFile, MergesFile, HFTokenizerFile}
	for _, s := range append(append([]ShardInfo{}, m.Train...), m.Val...) {
		files = append(files, s.Bin, s.Idx)
	}
	return files
}

func saveManifest(dir string, m Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, ManifestFile), append(b, '\n'))
}

// linkOrCopy hard-links src to dst (shards are immutable once written),
// copying when the two are on different filesystems.
func linkOrCopy(src, dst string) error {
	os.Remove(dst)
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst + ".tmp")
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(dst+".tmp", dst)
}
