package loader

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/supplyline/supplyline/train"
	"github.com/supplyline/supplyline/train/loader/loadertest"
)

// Benchmark shapes: GPT-2's vocabulary (uint16 shards), nanoGPT's context,
// 16 windows per rank of 2, over 8M tokens (16 MiB of .bin) in 4 shards.
const (
	benchVocab  = 50304
	benchSeq    = 1024
	benchBatch  = 16
	benchWorld  = 2
	benchDocs   = 2048 // per shard
	benchDocLen = 1024
	benchShards = 4
)

// benchShardSet writes the benchmark's shards once per process.
func benchShardSet(b *testing.B) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), "supplyline-loader-bench")
	manifest := filepath.Join(dir, "manifest.json")
	if _, err := os.Stat(manifest); err == nil {
		if _, err := Open(manifest, Options{SeqLen: 8, BatchSize: 1}); err == nil {
			return manifest
		}
	}
	os.RemoveAll(dir)
	var shards [][][]uint32
	for i := range benchShards {
		shards = append(shards, loadertest.PatternDocs(uint64(i+1), benchDocs, benchDocLen, benchVocab))
	}
	manifest, err := loadertest.Write(dir, loadertest.Dataset{VocabSize: benchVocab, Train: shards})
	if err != nil {
		b.Fatal(err)
	}
	return manifest
}

// BenchmarkNext measures, in one run and over the same windows of the same
// shards, three ways of producing one rank's batch of 16 x 1025 int64s:
//
//   - copy: Go copy() of the batch's bytes from an int64 copy of the whole
//     token stream held in memory, i.e. a memory copy of the same bytes,
//     the ceiling;
//   - gather: the prefetcher's work for one batch on one goroutine, from
//     the mapped uint16 shards (conversion and shard crossing included);
//   - next: Loader.Next as the trainer sees it, with the prefetcher running
//     on another goroutine.
//
// MB/s counts the int64 bytes delivered. next also reports p99 latency.
func BenchmarkNext(b *testing.B) {
	manifest := benchShardSet(b)
	opts := Options{SeqLen: benchSeq, BatchSize: benchBatch, WorldSize: benchWorld, Rank: 1, State: train.LoaderState{Seed: 1}}
	batchBytes := int64(benchBatch * (benchSeq + 1) * 8)

	b.Run("copy", func(b *testing.B) {
		s, err := openTrain(manifest)
		if err != nil {
			b.Fatal(err)
		}
		defer s.close()
		all := make([]int64, s.tokens)
		s.read(all, 0)
		w := newBenchWalker(s, opts)
		dst := make([]int64, benchBatch*(benchSeq+1))
		b.SetBytes(batchBytes)
		b.ReportAllocs()
		for b.Loop() {
			w.advance()
			first := w.position - w.global + int64(w.rank*w.batch)
			for i := range w.batch {
				start := w.order[first+int64(i)] * benchSeq
				copy(dst[i*(benchSeq+1):(i+1)*(benchSeq+1)], all[start:start+benchSeq+1])
			}
		}
		reportTokens(b)
	})
	b.Run("gather", func(b *testing.B) {
		s, err := openTrain(manifest)
		if err != nil {
			b.Fatal(err)
		}
		defer s.close()
		w := newBenchWalker(s, opts)
		bt := &batch{tokens: make([]int64, benchBatch*(benchSeq+1))}
		b.SetBytes(batchBytes)
		b.ReportAllocs()
		for b.Loop() {
			w.fill(bt)
		}
		reportTokens(b)
	})
	b.Run("next", func(b *testing.B) {
		l, err := Open(manifest, opts)
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		dst := make([]int64, l.BatchTokens())
		lat := make([]time.Duration, 0, 1<<16)
		b.SetBytes(batchBytes)
		b.ReportAllocs()
		for b.Loop() {
			t := time.Now()
			if err := l.Next(dst); err != nil {
				b.Fatal(err)
			}
			if len(lat) < cap(lat) {
				lat = append(lat, time.Since(t))
			}
		}
		reportTokens(b)
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
	})
}

// newBenchWalker is the walker a loader with opts would run, the
// permutation of the first epoch computed.
func newBenchWalker(s *stream, o Options) *walker {
	o = o.withDefaults()
	w := &walker{s: s, seqLen: o.SeqLen, batch: o.BatchSize, rank: o.Rank, windows: (s.tokens - 1) / int64(o.SeqLen),
		global: int64(o.BatchSize) * int64(o.WorldSize), seed: o.State.Seed, orderEpoch: -1}
	w.fill(&batch{tokens: make([]int64, o.BatchSize*(o.SeqLen+1))})
	w.position = 0
	return w
}

// advance moves w as fill does, without reading tokens.
func (w *walker) advance() {
	if w.position+w.global > w.windows {
		w.epoch++
		w.position = 0
		permuteInto(w.order, w.seed, w.epoch)
		w.orderEpoch = w.epoch
	}
	w.position += w.global
}

func reportTokens(b *testing.B) {
	b.ReportMetric(float64(b.N)*benchBatch*(benchSeq+1)/b.Elapsed().Seconds(), "tokens/s")
}
