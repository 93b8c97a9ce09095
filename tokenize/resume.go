package tokenize

import (
	"context"
	"log/slog"

	"github.com/supplyline/supplyline/dataset/blob"
)

// Resume records the shards a build has finished, so that a retry of the
// same build (same CacheKey) can keep them: fill it from
// BuildConfig.OnShard with Add, persist it (the Tokenize activity
// heartbeats it), and pass it back as BuildConfig.Done.
type Resume struct {
	// CacheKey is the BuildConfig.CacheKey of the build the shards belong
	// to. A record without one is never used.
	CacheKey string      `json:"cache_key"`
	Train    []ShardInfo `json:"train,omitempty"`
	Val      []ShardInfo `json:"val,omitempty"`
}

// Add records a finished shard; its signature is that of OnShard.
func (r *Resume) Add(info ShardInfo, split string) {
	switch split {
	case SplitTrain:
		r.Train = append(r.Train, info)
	case SplitVal:
		r.Val = append(r.Val, info)
	}
}

// Len is the number of shards recorded.
func (r *Resume) Len() int {
	if r == nil {
		return 0
	}
	return len(r.Train) + len(r.Val)
}

// forKey returns r if it belongs to the build with cache key key, else nil.
func (r *Resume) forKey(key string) *Resume {
	if r == nil || r.Len() == 0 {
		return nil
	}
	if key == "" || r.CacheKey != key {
		slog.Warn("tokenize: resume record is for another build; rebuilding every shard", "record", r.CacheKey, "build", key)
		return nil
	}
	return r
}

func (r *Resume) split(name string) []ShardInfo {
	if r == nil {
		return nil
	}
	if name == SplitTrain {
		return r.Train
	}
	return r.Val
}

// keepDone returns the prefix of done that can be kept: shards named as
// this build names them, in order, whose files read back from store and
// pass VerifyShard, and whose documents do not outnumber the split's
// nDocs. It also returns how many documents those shards hold. Reading
// back holds one shard at a time in memory.
func keepDone(ctx context.Context, store blob.Store, m Manifest, split string, nDocs int, done []ShardInfo) ([]ShardInfo, int) {
	var kept []ShardInfo
	docs := 0
	for i, info := range done {
		reason := ""
		switch {
		case info.Bin != shardName(split, i, "bin") || info.Idx != shardName(split, i, "idx"):
			reason = "unexpected name"
		case info.Docs <= 0 || int64(docs)+info.Docs > int64(nDocs):
			reason = "more documents than the split holds"
		default:
			bin, err := getObject(ctx, store, info.Bin)
			if err == nil {
				var idx []byte
				if idx, err = getObject(ctx, store, info.Idx); err == nil {
					err = VerifyShard(info, bin, idx, m.DType, m.VocabSize)
				}
			}
			if err != nil {
				reason = err.Error()
			}
		}
		if reason != "" {
			slog.Warn("tokenize: cannot keep a finished shard; rewriting from it on", "shard", info.Bin, "reason", reason)
			break
		}
		kept = append(kept, info)
		docs += int(info.Docs)
	}
	return kept, docs
}
