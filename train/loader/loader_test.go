package loader_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/supplyline/supplyline/tokenize"
	"github.com/supplyline/supplyline/train"
	"github.com/supplyline/supplyline/train/loader"
	"github.com/supplyline/supplyline/train/loader/loadertest"
)

// countingShards writes a uint32 dataset whose token at stream position j is
// j, so that every window names where it came from.
func countingShards(t *testing.T, shardTokens ...int) string {
	t.Helper()
	var shards [][][]uint32
	next := uint32(0)
	for _, n := range shardTokens {
		// Two documents per shard, to exercise the .idx offsets.
		doc1, doc2 := make([]uint32, n/2), make([]uint32, n-n/2)
		for i := range doc1 {
			doc1[i], next = next, next+1
		}
		for i := range doc2 {
			doc2[i], next = next, next+1
		}
		shards = append(shards, [][]uint32{doc1, doc2})
	}
	path, err := loadertest.Write(t.TempDir(), loadertest.Dataset{VocabSize: 4096, DType: "uint32", Train: shards})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func open(t *testing.T, path string, o loader.Options) *loader.Loader {
	t.Helper()
	l, err := loader.Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// batches reads n batches of l.
func batches(t *testing.T, l *loader.Loader, n int) [][]int64 {
	t.Helper()
	out := make([][]int64, n)
	for i := range out {
		out[i] = make([]int64, l.BatchTokens())
		if err := l.Next(out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestWindowsOfAnEpoch(t *testing.T) {
	const seq = 7
	path := countingShards(t, 100, 57, 80) // 237 tokens: 33 windows, 1 dropped at B*W=4
	l := open(t, path, loader.Options{SeqLen: seq, BatchSize: 2, WorldSize: 2, Rank: 1, State: train.LoaderState{Seed: 3}})
	if got := l.Windows(); got != 33 {
		t.Fatalf("Windows() = %d, want 33", got)
	}
	r0 := open(t, path, loader.Options{SeqLen: seq, BatchSize: 2, WorldSize: 2, Rank: 0, State: train.LoaderState{Seed: 3}})
	seen := map[int64]bool{}
	for range 8 { // 8 global batches of 4 = 32 windows
		for _, b := range append(batches(t, r0, 1), batches(t, l, 1)...) {
			for row := range 2 {
				w := b[row*(seq+1) : (row+1)*(seq+1)]
				if w[0]%seq != 0 {
					t.Fatalf("window starts at token %d, not a multiple of %d", w[0], seq)
				}
				for i := range w {
					if w[i] != w[0]+int64(i) {
						t.Fatalf("window %v is not contiguous", w)
					}
				}
				if seen[w[0]] {
					t.Fatalf("window at %d seen twice in one epoch", w[0])
				}
				seen[w[0]] = true
			}
		}
	}
	if st := l.State(); st.Epoch != 0 || st.Position != 32 || st.WorldSize != 2 {
		t.Fatalf("State() after one epoch = %+v, want epoch 0 position 32 world 2", st)
	}
	batches(t, l, 1)
	if st := l.State(); st.Epoch != 1 || st.Position != 4 {
		t.Fatalf("State() after rollover = %+v, want epoch 1 position 4", st)
	}
}

func TestOrderDoesNotDependOnWorldSize(t *testing.T) {
	const seq, global, steps = 5, 12, 40 // 40 global batches span several epochs
	path := countingShards(t, 400, 333)
	sequence := func(world int) []int64 {
		ranks := make([]*loader.Loader, world)
		for r := range ranks {
			ranks[r] = open(t, path, loader.Options{SeqLen: seq, BatchSize: global / world, Rank: r, WorldSize: world, State: train.LoaderState{Seed: 11, Epoch: 2}})
		}
		var out []int64
		for range steps {
			for _, l := range ranks {
				out = append(out, batches(t, l, 1)[0]...)
			}
		}
		return out
	}
	want := sequence(1)
	for _, w := range []int{2, 3, 4, 6} {
		if got := sequence(w); !slices.Equal(got, want) {
			t.Errorf("world %d: concatenated batches differ from world 1", w)
		}
	}
}

func TestResume(t *testing.T) {
	path := countingShards(t, 300, 211)
	for _, tc := range []struct {
		name          string
		before, after int // batches before and after the save
		world2, b2    int // world and batch of the resumed loaders
	}{
		{"mid epoch", 3, 10, 2, 4},
		{"at the epoch's last batch", 12, 5, 2, 4},
		{"across two epochs", 20, 30, 2, 4},
		{"on fewer ranks", 7, 9, 1, 8},
		{"on more ranks", 7, 9, 4, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const seq = 6 // 510/6 = 85 windows, 10 global batches of 8 an epoch
			o := func(rank, world, b int, st train.LoaderState) loader.Options {
				return loader.Options{SeqLen: seq, BatchSize: b, Rank: rank, WorldSize: world, State: st}
			}
			// The straight run on 2 ranks of 4, and its global sequence after the save point.
			var straight []int64
			var saved train.LoaderState
			r0 := open(t, path, o(0, 2, 4, train.LoaderState{Seed: 5}))
			r1 := open(t, path, o(1, 2, 4, train.LoaderState{Seed: 5}))
			for i := range tc.before + tc.after {
				if i == tc.before {
					saved = r0.State()
					if s1 := r1.State(); s1 != saved {
						t.Fatalf("ranks disagree on state: %+v vs %+v", saved, s1)
					}
				}
				b := append(batches(t, r0, 1)[0], batches(t, r1, 1)[0]...)
				if i >= tc.before {
					straight = append(straight, b...)
				}
			}
			var resumed []int64
			ranks := make([]*loader.Loader, tc.world2)
			for r := range ranks {
				ranks[r] = open(t, path, o(r, tc.world2, tc.b2, saved))
			}
			for range tc.after {
				for _, l := range ranks {
					resumed = append(resumed, batches(t, l, 1)[0]...)
				}
			}
			if !slices.Equal(resumed, straight) {
				t.Fatalf("resumed from %+v: batches differ from the straight run", saved)
			}
			if got, want := ranks[0].State(), r0.State(); got.Epoch != want.Epoch || got.Position != want.Position {
				t.Fatalf("final state %+v, straight run %+v", got, want)
			}
		})
	}
}

func TestPermutationIsPinned(t *testing.T) {
	// The recipe is a contract (state.json positions refer to it, and it may
	// be reimplemented elsewhere): these values must never change.
	got := loader.Permutation(42, 1, 10)
	want := []int64{8, 7, 9, 0, 1, 2, 5, 6, 4, 3}
	if !slices.Equal(got, want) {
		t.Fatalf("Permutation(42, 1, 10) = %v, want %v", got, want)
	}
	p := slices.Clone(loader.Permutation(7, 0, 1000))
	slices.Sort(p)
	for i, v := range p {
		if v != int64(i) {
			t.Fatalf("Permutation(7, 0, 1000) is not a permutation")
		}
	}
	if slices.Equal(loader.Permutation(7, 0, 50), loader.Permutation(7, 1, 50)) {
		t.Fatalf("epochs 0 and 1 have the same order")
	}
}

func TestOpenRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(t *testing.T, dir string)
		opts   loader.Options
		target error
		naming string
	}{
		{
			name: "corrupt shard",
			break_: func(t *testing.T, dir string) {
				p := filepath.Join(dir, "train-00001.bin")
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				b[3] ^= 1
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
			},
			target: loader.ErrChecksum, naming: "train-00001.bin",
		},
		{
			name: "other tokenizer",
			break_: func(t *testing.T, dir string) {
				if err := os.WriteFile(filepath.Join(dir, "merges.txt"), []byte("#version: 0.2\na b\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			target: loader.ErrTokenizerMismatch, naming: "sha256 of vocab.json+merges.txt",
		},
		{
			name:   "missing shard",
			break_: func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "train-00000.idx")) },
			target: os.ErrNotExist, naming: "train-00000.idx",
		},
		{
			name:   "too little data",
			opts:   loader.Options{SeqLen: 100, BatchSize: 4, WorldSize: 2},
			target: loader.ErrNotEnoughData, naming: "global batch is 8 windows",
		},
		{
			name:   "rank out of range",
			opts:   loader.Options{Rank: 2, WorldSize: 2},
			target: loader.ErrInvalidOptions, naming: "rank",
		},
		{
			name:   "position past the epoch",
			opts:   loader.Options{SeqLen: 4, BatchSize: 1, State: train.LoaderState{Position: 1000}},
			target: loader.ErrInvalidOptions, naming: "state.position",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := countingShards(t, 200, 200)
			if tc.break_ != nil {
				tc.break_(t, filepath.Dir(path))
			}
			o := tc.opts
			if o.SeqLen == 0 {
				o.SeqLen, o.BatchSize = 4, 2
			}
			_, err := loader.Open(path, o)
			if !errors.Is(err, tc.target) {
				t.Fatalf("Open: %v, want %v", err, tc.target)
			}
			if !strings.Contains(err.Error(), tc.naming) {
				t.Fatalf("Open: %q does not mention %q", err, tc.naming)
			}
		})
	}
}

func TestChecksumErrorIsTyped(t *testing.T) {
	path := countingShards(t, 50)
	p := filepath.Join(filepath.Dir(path), "train-00000.idx")
	if err := os.WriteFile(p, []byte("garbage!"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := loader.Open(path, loader.Options{SeqLen: 4, BatchSize: 1})
	var ce *loader.ChecksumError
	if !errors.As(err, &ce) || ce.File != filepath.Join(filepath.Dir(path), "train-00000.bin") {
		t.Fatalf("Open: %v, want a *ChecksumError naming train-00000.bin", err)
	}
}

func TestOpenRefusesThroughTokenize(t *testing.T) {
	// The shards are checked by tokenize.VerifyShard: its refusals come back as
	// this package's errors and still match tokenize's.
	t.Run("token outside the vocabulary", func(t *testing.T) {
		doc := make([]uint32, 64)
		for i := range doc {
			doc[i] = uint32(i)
		}
		doc[40] = 100
		path, err := loadertest.Write(t.TempDir(), loadertest.Dataset{VocabSize: 100, DType: "uint32", Train: [][][]uint32{{doc}}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = loader.Open(path, loader.Options{SeqLen: 4, BatchSize: 1})
		var se *loader.ShardError
		if !errors.As(err, &se) || !errors.Is(err, loader.ErrBadShard) || !errors.Is(err, tokenize.ErrShardFormat) || !strings.Contains(err.Error(), "train-00000.bin") {
			t.Fatalf("Open: %v, want a *ShardError naming train-00000.bin", err)
		}
	})
	t.Run("corrupt shard", func(t *testing.T) {
		path := countingShards(t, 50)
		p := filepath.Join(filepath.Dir(path), "train-00000.bin")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[0] ^= 1
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = loader.Open(path, loader.Options{SeqLen: 4, BatchSize: 1})
		var ce *tokenize.ChecksumError
		if !errors.Is(err, loader.ErrChecksum) || !errors.As(err, &ce) || ce.Bin != p {
			t.Fatalf("Open: %v, want loader.ErrChecksum wrapping a *tokenize.ChecksumError", err)
		}
	})
	t.Run("val is not read", func(t *testing.T) {
		docs := [][][]uint32{loadertest.PatternDocs(1, 20, 16, 64)}
		path, err := loadertest.Write(t.TempDir(), loadertest.Dataset{VocabSize: 64, Train: docs, Val: docs})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(filepath.Dir(path), "val-00000.bin")); err != nil {
			t.Fatal(err)
		}
		open(t, path, loader.Options{SeqLen: 8, BatchSize: 3}).Close()
	})
}

func TestUint16AndShortBuffer(t *testing.T) {
	path, err := loadertest.Write(t.TempDir(), loadertest.Dataset{VocabSize: 64, Train: [][][]uint32{loadertest.PatternDocs(1, 20, 16, 64)}})
	if err != nil {
		t.Fatal(err)
	}
	l := open(t, path, loader.Options{SeqLen: 8, BatchSize: 3})
	if err := l.Next(make([]int64, l.BatchTokens()-1)); !errors.Is(err, loader.ErrShortBuffer) {
		t.Fatalf("Next(short) = %v, want ErrShortBuffer", err)
	}
	b := batches(t, l, 1)[0]
	for _, v := range b {
		if v < 0 || v >= 64 {
			t.Fatalf("token %d outside the vocabulary", v)
		}
	}
	if st := l.State(); st.Position != 3 {
		t.Fatalf("a failed Next moved the position: %+v", st)
	}
	l.Close()
	if err := l.Next(b); !errors.Is(err, loader.ErrClosed) {
		t.Fatalf("Next after Close = %v, want ErrClosed", err)
	}
}

func TestNextAllocatesNothing(t *testing.T) {
	// 237 tokens make 33 windows of 7+1, 8 global batches of 4 an epoch: the
	// measured calls cross many epochs, whose permutations reuse one slice.
	l := open(t, countingShards(t, 100, 57, 80), loader.Options{SeqLen: 7, BatchSize: 2, WorldSize: 2, State: train.LoaderState{Seed: 3}})
	defer l.Close()
	dst := make([]int64, l.BatchTokens())
	batches(t, l, 1) // the first permutation is allocated once, at the first batch
	allocs := testing.AllocsPerRun(200, func() {
		if err := l.Next(dst); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Next allocates %.2f times per batch, want 0", allocs)
	}
	if st := l.State(); st.Epoch < 20 {
		t.Fatalf("state %+v: the measured calls did not cross epochs", st)
	}
}

func TestPrefetchDepthDoesNotChangeBatches(t *testing.T) {
	path := countingShards(t, 300, 211)
	var want [][]int64
	for _, depth := range []int{1, 2, 7} {
		l := open(t, path, loader.Options{SeqLen: 6, BatchSize: 3, WorldSize: 2, Rank: 1, Prefetch: depth, State: train.LoaderState{Seed: 8}})
		got := batches(t, l, 40)
		// 511 tokens make 85 windows of 6+1, 14 global batches of 6 an
		// epoch. The prefetcher is ahead, but the state is the trainer's.
		if st := l.State(); st.Epoch != 2 || st.Position != 72 {
			t.Errorf("prefetch %d: state %+v after 40 batches, want epoch 2 position 72", depth, st)
		}
		l.Close()
		if want == nil {
			want = got
		} else if !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("prefetch %d: batches differ from prefetch 1", depth)
		}
	}
}

func TestShardsAreMappedNotCopied(t *testing.T) {
	// 4M uint16 tokens: 8 MiB of .bin, 32 MiB as the int64s the trainer
	// gets. Opening and reading must not grow the heap by anything like it.
	const docs, docLen = 4096, 1024
	path, err := loadertest.Write(t.TempDir(), loadertest.Dataset{VocabSize: 1000, Train: [][][]uint32{loadertest.PatternDocs(1, docs, docLen, 1000)}})
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l := open(t, path, loader.Options{SeqLen: 1024, BatchSize: 4})
	dst := make([]int64, l.BatchTokens())
	for range 100 {
		if err := l.Next(dst); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	// What stays is the permutation (4095 int64s) and the ring (4 x 4100 int64s).
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 1<<20 {
		t.Fatalf("heap grew by %d bytes with the loader open, want under 1 MiB (the shard is %d bytes)", grew, 2*docs*docLen)
	}
	l.Close()
}
