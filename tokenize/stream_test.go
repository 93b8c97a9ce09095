package tokenize

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/supplyline/supplyline/dataset"
)

// TestSpillRecordRoundTrip: a spilled event reads back field for field,
// extras included, and its record carries the entity hash.
func TestSpillRecordRoundTrip(t *testing.T) {
	evs := synthEvents(3, 1, 2, 5, 20)
	evs = append(evs, dataset.Event{EventID: "odd", EventTime: testStart.Add(1234567891), EventType: "transport_delayed",
		OrderID: "SH\x00é", Location: "", Quantity: -0.5, Price: 1e300, Extras: map[string]string{"": "", "delay_days": "2"}})
	path := filepath.Join(t.TempDir(), "b.spill")
	var rec, scratch []byte
	for i := range evs {
		rec, scratch = appendRecord(rec, scratch, uint64(i), &evs[i])
	}
	if err := os.WriteFile(path, rec, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readBucket(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(evs) {
		t.Fatalf("%d events back, want %d", len(got), len(evs))
	}
	for i := range evs {
		want, g := evs[i], got[i]
		if !g.EventTime.Equal(want.EventTime) || g.EventTime.Location() != want.EventTime.UTC().Location() {
			t.Errorf("event %d: time %v, want %v", i, g.EventTime, want.EventTime)
		}
		g.EventTime = want.EventTime
		if len(want.Extras) == 0 {
			want.Extras = nil
		}
		if !reflect.DeepEqual(g, want) {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, g, want)
		}
	}
	if err := os.WriteFile(path, rec[:len(rec)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readBucket(path); !errors.Is(err, errSpillFormat) {
		t.Errorf("truncated spill file: err = %v, want errSpillFormat", err)
	}
}

// TestBuildBucketBudget: the output does not depend on the spill budget,
// even one so small that buckets are cut again and again, nor on the
// number of workers; and the documents rendered bucket by bucket are
// exactly Render's, every event accounted for.
func TestBuildBucketBudget(t *testing.T) {
	evs := synthEvents(8, 3, 4, 40, 400)
	cutoff := testStart.AddDate(0, 0, 28)
	run := func(maxBucket int64, workers int) string {
		t.Helper()
		dir := t.TempDir()
		_, err := Build(context.Background(), BuildConfig{Events: evs, OutDir: dir, Cutoff: cutoff, InputHash: "in",
			MaxShardTokens: 5000, MaxBucketBytes: maxBucket, Workers: workers, TempDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		return dir
	}
	whole := run(1<<30, 1)

	t.Run("tiny buckets are cut again", func(t *testing.T) {
		r, err := renderToRuns(context.Background(), &sliceReader{evs: evs}, cutoff, t.TempDir(), 3, 2<<10, func(BuildProgress) {})
		if err != nil {
			t.Fatal(err)
		}
		if r.depth < 1 || r.buckets <= spillFanout {
			t.Fatalf("%d buckets, depth %d: the budget cut nothing again", r.buckets, r.depth)
		}
		train, val, stats, err := Render(evs, cutoff)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(r.stats, stats) {
			t.Errorf("stats %v, Render's %v", r.stats, stats)
		}
		for s, docs := range [][]Document{sortBuildOrder(train), sortBuildOrder(val)} {
			rr, err := openRun(r.runs[s])
			if err != nil {
				t.Fatal(err)
			}
			var n int
			for d, err := rr.Read(); err == nil; d, err = rr.Read() {
				if n >= len(docs) || d.Text != docs[n].Text || d.Events != docs[n].Events {
					t.Fatalf("split %d document %d differs from Render's", s, n)
				}
				n++
			}
			rr.Close()
			if n != len(docs) || r.docs[s] != int64(n) {
				t.Fatalf("split %d: %d documents read, %d counted, Render has %d", s, n, r.docs[s], len(docs))
			}
		}
		rendered, unrendered := r.stats.Total()
		if rendered+unrendered != int64(len(evs)) || rendered != r.events[0]+r.events[1] {
			t.Fatalf("rendered %d (in documents %d) + unrendered %d, want %d events", rendered, r.events[0]+r.events[1], unrendered, len(evs))
		}
	})
	t.Run("2 KiB buckets, 3 workers", func(t *testing.T) { buildFilesEqual(t, whole, run(2<<10, 3)) })
	t.Run("default budget, 2 workers", func(t *testing.T) { buildFilesEqual(t, whole, run(0, 2)) })
}

// TestBuildCanonicalDir: streaming a generated world's day files gives the
// bytes of a build over the same events in memory, and accounts for every
// event.
func TestBuildCanonicalDir(t *testing.T) {
	world := t.TempDir()
	if _, err := dataset.Generate(context.Background(), dataset.GenConfig{Seed: 9, Days: 40, Stores: 2, SKUs: 3, EcomOrdersPerDay: 10}, world); err != nil {
		t.Fatal(err)
	}
	evs, err := dataset.ReadEvents(context.Background(), world)
	if err != nil {
		t.Fatal(err)
	}
	cutoff := testStart.AddDate(0, 0, 30)
	mem, streamed := t.TempDir(), t.TempDir()
	want, err := Build(context.Background(), BuildConfig{Events: evs, OutDir: mem, Cutoff: cutoff, InputHash: "w", MaxShardTokens: 4000})
	if err != nil {
		t.Fatal(err)
	}
	var stages []string
	var last BuildProgress
	onProgress := func(p BuildProgress) {
		if len(stages) == 0 || stages[len(stages)-1] != p.Stage {
			stages = append(stages, p.Stage)
		}
		last = p
	}
	got, err := Build(context.Background(), BuildConfig{CanonicalDir: world, OutDir: streamed, Cutoff: cutoff, InputHash: "w",
		MaxShardTokens: 4000, MaxBucketBytes: 8 << 10, OnProgress: onProgress})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"partitioning", "rendering", "training tokenizer", "encoding train", "encoding val"}; !reflect.DeepEqual(stages, want) {
		t.Errorf("progress stages %q, want %q", stages, want)
	}
	if last.Events != int64(len(evs)) || last.Docs != got.Docs[SplitTrain]+got.Docs[SplitVal] {
		t.Errorf("last progress %+v: want %d events, %d documents", last, len(evs), got.Docs[SplitTrain]+got.Docs[SplitVal])
	}
	buildFilesEqual(t, mem, streamed)
	if len(got.Train) < 2 || len(got.Val) < 1 {
		t.Fatalf("%d train, %d val shards: too few to compare", len(got.Train), len(got.Val))
	}
	n := got.Events[SplitTrain] + got.Events[SplitVal]
	for _, u := range got.Unrendered {
		n += u
	}
	if n != int64(len(evs)) || !reflect.DeepEqual(got, want) {
		t.Fatalf("manifest accounts for %d of %d events (or differs from the in-memory build's)", n, len(evs))
	}
}

func TestBuildSourceConfig(t *testing.T) {
	_, err := Build(context.Background(), BuildConfig{Events: synthEvents(1, 1, 1, 2, 1), CanonicalDir: t.TempDir(), OutDir: t.TempDir(), Cutoff: testStart})
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Events and CanonicalDir both set: err = %v, want ErrInvalidConfig", err)
	}
	_, err = Build(context.Background(), BuildConfig{CanonicalDir: filepath.Join(t.TempDir(), "missing"), OutDir: t.TempDir(), Cutoff: testStart})
	if err == nil {
		t.Fatal("a missing CanonicalDir built")
	}
}

// TestBuildCleansSpill: a build leaves nothing in TempDir, whether it
// succeeds or is cancelled midway.
func TestBuildCleansSpill(t *testing.T) {
	evs := synthEvents(2, 2, 3, 30, 300)
	tmp := t.TempDir()
	cfg := BuildConfig{Events: evs, OutDir: t.TempDir(), Cutoff: testStart.AddDate(0, 0, 20), TempDir: tmp, MaxShardTokens: 2000}
	if _, err := Build(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cfg.OutDir = t.TempDir()
	cfg.OnShard = func(ShardInfo, string) { cancel() }
	if _, err := Build(ctx, cfg); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled build: err = %v", err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Fatalf("%d entries left in TempDir", len(left))
	}
}
