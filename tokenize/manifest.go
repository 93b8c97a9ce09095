package tokenize

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ManifestFile is the shard manifest's file name inside a shard directory.
const ManifestFile = "manifest.json"

// ManifestVersion is the version of the shard manifest and shard layout.
const ManifestVersion = 1

// Manifest describes a directory of token shards. Layout of the directory:
//
//	manifest.json
//	vocab.json, merges.txt         the tokenizer (sugarme/tokenizer and HF formats)
//	train-00000.bin, .idx          split "train": documents before Cutoff
//	val-00000.bin, .idx            split "val": documents at or after Cutoff
//
// A .bin file holds token ids, little-endian, uint16 when VocabSize <= 65536
// else uint32 (DType). A .idx file holds Docs+1 little-endian uint64 token
// offsets into the .bin: document i is tokens [idx[i], idx[i+1]).
type Manifest struct {
	Version int `json:"version"`
	// DType is "uint16" or "uint32".
	DType     string `json:"dtype"`
	VocabSize int    `json:"vocab_size"`
	// TokenizerHash is sha256 over vocab.json then merges.txt, hex.
	TokenizerHash string `json:"tokenizer_hash"`
	// InputHash is the canonical events' content hash from the ingest manifest.
	InputHash string `json:"input_hash"`
	// Cutoff splits time: events before it are train, at or after it val.
	Cutoff time.Time `json:"cutoff"`
	// Special maps each special token to its id.
	Special map[string]int `json:"special"`
	Train   []ShardInfo    `json:"train"`
	Val     []ShardInfo    `json:"val"`
	// Bytes counts the UTF-8 bytes of the rendered text per split, special
	// tokens excluded, so that losses can be reported as bits per byte.
	Bytes map[string]int64 `json:"bytes"`
	// Docs counts documents per split, and Events the events rendered into them.
	Docs   map[string]int64 `json:"docs"`
	Events map[string]int64 `json:"events"`
	// Unrendered counts, by event type, the input events that fit no
	// document (see Render), so that nothing is dropped silently.
	Unrendered map[string]int64 `json:"unrendered,omitempty"`
	// CacheKey is the build's content address (BuildConfig.CacheKey); empty
	// when the build was not cacheable (no input hash).
	CacheKey string `json:"cache_key,omitempty"`
	// CacheHit records that these shards were reused from the shard cache
	// instead of being built again.
	CacheHit bool `json:"cache_hit,omitempty"`
}

// ShardInfo describes one shard: a .bin and its .idx, named relative to the manifest.
type ShardInfo struct {
	Bin    string `json:"bin"`
	Idx    string `json:"idx"`
	Tokens int64  `json:"tokens"`
	Docs   int64  `json:"docs"`
	// SHA256 is over the .bin bytes then the .idx bytes, hex.
	SHA256 string `json:"sha256"`
}

// ReadManifest reads dir/manifest.json (or the file itself when path names it).
func ReadManifest(path string) (Manifest, string, error) {
	var m Manifest
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, ManifestFile)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return m, "", err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, "", fmt.Errorf("%s: %w", path, err)
	}
	if m.Version != ManifestVersion {
		return m, "", fmt.Errorf("%s: manifest version %d, this build reads %d", path, m.Version, ManifestVersion)
	}
	return m, filepath.Dir(path), nil
}

// TokenizerHashOf returns the hex sha256 over the contents of vocab.json then merges.txt in dir.
func TokenizerHashOf(dir string) (string, error) {
	h := sha256.New()
	for _, name := range []string{"vocab.json", "merges.txt"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
