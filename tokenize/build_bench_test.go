package tokenize

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/internal/peakrss"
)

// BenchmarkBuild measures Build end to end, canonical events in memory to
// shards on local disk: render, BPE training on the train documents,
// parallel encoding and shard writing. MB/s (b.SetBytes) counts the
// rendered text bytes of both splits (Manifest.Bytes), special tokens
// excluded. Peak RSS is measured in a child process (see buildPeakRSS).
// events/cpu-s divides by the process's CPU time instead of wall-clock
// time, which other load on a shared machine does not distort.
//
// The events are synthEvents over benchBuildDays days (SUPPLYLINE_BENCH_DAYS
// overrides): 20 stores × 50 SKUs of inventory series plus 500 orders a day.
func BenchmarkBuild(b *testing.B) {
	evs := benchBuildEvents(b)
	cutoff := testStart.AddDate(0, 0, benchBuildDays(b)*3/4)
	benchBuildProcs(b, BuildConfig{Events: evs, Cutoff: cutoff, VocabSize: 2048, InputHash: "bench"}, len(evs), buildPeakRSS)
}

// benchBuildProcs times Build of cfg (OutDir set per run) on one core and
// on all, reporting text MB/s, events/s and events per CPU-second for
// events input events, and peak RSS through rss.
func benchBuildProcs(b *testing.B, cfg BuildConfig, events int, rss func(b *testing.B, procs int)) {
	for _, procs := range []int{1, runtime.NumCPU()} {
		b.Run(fmt.Sprintf("procs=%d", procs), func(b *testing.B) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			cfg := cfg
			cfg.OutDir = filepath.Join(b.TempDir(), "out")
			var m Manifest
			var err error
			c0 := cpuSeconds()
			for b.Loop() {
				b.StopTimer()
				os.RemoveAll(cfg.OutDir)
				b.StartTimer()
				if m, err = Build(context.Background(), cfg); err != nil {
					b.Fatal(err)
				}
			}
			text := m.Bytes[SplitTrain] + m.Bytes[SplitVal]
			b.SetBytes(text)
			b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(events)*float64(b.N)/(cpuSeconds()-c0), "events/cpu-s")
			b.ReportMetric(float64(events), "events")
			b.ReportMetric(float64(text)/float64(events), "text-B/event")
			rss(b, procs)
		})
	}
}

// BenchmarkBuildCanonical measures Build streaming canonical Parquet day
// files (CanonicalDir, as the Tokenize activity calls it) to shards on
// local disk: read, partition and spill, render, BPE training, parallel
// encoding and shard writing. The input is a world from dataset.Generate,
// 20 stores × 50 SKUs with 500 e-commerce orders a day over benchBuildDays
// days (SUPPLYLINE_BENCH_DAYS), generated before timing. MB/s counts the
// rendered text of both splits; peak RSS is that of one Build in a child
// process, which holds nothing but the build (the world is on disk), so
// comparing it across SUPPLYLINE_BENCH_DAYS shows whether memory grows
// with the input. events/cpu-s is as in BenchmarkBuild.
func BenchmarkBuildCanonical(b *testing.B) {
	world, events := benchWorld(b)
	cutoff := testStart.AddDate(0, 0, benchBuildDays(b)*3/4)
	benchBuildProcs(b, BuildConfig{CanonicalDir: world, Cutoff: cutoff, VocabSize: 2048, InputHash: "bench"}, int(events), func(b *testing.B, procs int) {
		peakrss.Report(b, "TestBuildCanonicalPeakRSSHelper", procs, buildRSSHelperEnv+"="+b.TempDir(), buildRSSWorldEnv+"="+world)
	})
}

// benchWorld generates BenchmarkBuildCanonical's world into a temporary
// directory of b and returns it and its number of events.
func benchWorld(b *testing.B) (string, int64) {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "world")
	sum, err := dataset.Generate(context.Background(), benchGenConfig(b), dir)
	if err != nil {
		b.Fatal(err)
	}
	return dir, sum.Events
}

func benchGenConfig(tb testing.TB) dataset.GenConfig {
	return dataset.GenConfig{Seed: 7, Start: testStart, Days: benchBuildDays(tb), Stores: 20, SKUs: 50, EcomOrdersPerDay: 500}
}

// TestBuildCanonicalPeakRSSHelper is not a test: BenchmarkBuildCanonical
// runs it in a child process to measure one Build over the world on disk.
func TestBuildCanonicalPeakRSSHelper(t *testing.T) {
	out, world := os.Getenv(buildRSSHelperEnv), os.Getenv(buildRSSWorldEnv)
	if out == "" || world == "" {
		t.Skip("run by BenchmarkBuildCanonical's peak RSS measurement only")
	}
	cutoff := testStart.AddDate(0, 0, benchBuildDays(t)*3/4)
	start := time.Now()
	if _, err := Build(context.Background(), BuildConfig{CanonicalDir: world, OutDir: filepath.Join(out, "out"), Cutoff: cutoff, VocabSize: 2048, InputHash: "bench"}); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("build-seconds: %.2f\n", time.Since(start).Seconds())
	if err := peakrss.Print(); err != nil {
		t.Fatal(err)
	}
}

const (
	buildRSSHelperEnv = "SUPPLYLINE_TOKENIZE_RSS_HELPER"
	buildRSSWorldEnv  = "SUPPLYLINE_TOKENIZE_RSS_WORLD"
)

func benchBuildDays(tb testing.TB) int {
	if s := os.Getenv("SUPPLYLINE_BENCH_DAYS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			tb.Fatalf("SUPPLYLINE_BENCH_DAYS=%q: want a positive number of days", s)
		}
		return n
	}
	return 84
}

func benchBuildEvents(tb testing.TB) []dataset.Event {
	return synthEvents(7, 20, 50, benchBuildDays(tb), 500)
}

// buildPeakRSS reports the peak RSS of one Build in a child process at
// GOMAXPROCS=procs (see internal/peakrss). The figure includes the events
// themselves, which Build takes in memory.
func buildPeakRSS(b *testing.B, procs int) {
	b.Helper()
	peakrss.Report(b, "TestBuildPeakRSSHelper", procs, buildRSSHelperEnv+"="+b.TempDir())
}

// TestBuildPeakRSSHelper is not a test: buildPeakRSS runs it in a child
// process to measure one Build.
func TestBuildPeakRSSHelper(t *testing.T) {
	out := os.Getenv(buildRSSHelperEnv)
	if out == "" {
		t.Skip("run by BenchmarkBuild's peak RSS measurement only")
	}
	evs := benchBuildEvents(t)
	cutoff := testStart.AddDate(0, 0, benchBuildDays(t)*3/4)
	start := time.Now()
	if _, err := Build(context.Background(), BuildConfig{Events: evs, OutDir: filepath.Join(out, "out"), Cutoff: cutoff, VocabSize: 2048, InputHash: "bench"}); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("build-seconds: %.2f\n", time.Since(start).Seconds())
	if err := peakrss.Print(); err != nil {
		t.Fatal(err)
	}
}
