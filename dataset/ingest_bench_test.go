package dataset_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/internal/peakrss"
)

// The ingest benchmarks run on a generated world of about 1M events
// (~12.4k events a day, 84 days). SUPPLYLINE_BENCH_DAYS scales it: 800 days
// is about 10M events. The DuckDB comparison in bench/duckdb generates the
// same world, so its figures and these describe the same files.
//
// Peak RSS is measured in a separate process: the benchmark re-executes its
// own test binary, running only TestBenchPeakRSSHelper, which does the work
// once and prints VmHWM from /proc/self/status. The benchmark process itself
// holds the dataset and the testing framework, so its own high-water mark
// would not describe Ingest.

const (
	rssHelperEnv   = "SUPPLYLINE_RSS_HELPER" // "ingest" or "generate"
	rssInEnv       = "SUPPLYLINE_RSS_IN"
	rssOutEnv      = "SUPPLYLINE_RSS_OUT"
	benchDaysEnv   = "SUPPLYLINE_BENCH_DAYS"
	benchEventsEnv = "SUPPLYLINE_BENCH_EVENTS"
)

// benchGenConfig is the world the benchmarks generate: 20 stores × 50 SKUs
// (1000 inventory series) plus 500 e-commerce orders a day. With
// SUPPLYLINE_BENCH_EVENTS=N it is instead the world `supplyline gen
// --events N --seed 7` generates (GenConfig.ForEvents), whose events a day
// grow with N once it is two years long.
func benchGenConfig(tb testing.TB) dataset.GenConfig {
	if s := os.Getenv(benchEventsEnv); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			tb.Fatalf("%s=%q: want a positive number of events", benchEventsEnv, s)
		}
		cfg, err := dataset.GenConfig{Seed: 7}.ForEvents(n)
		if err != nil {
			tb.Fatal(err)
		}
		return cfg
	}
	days := 84
	if s := os.Getenv(benchDaysEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			tb.Fatalf("%s=%q: want a positive number of days", benchDaysEnv, s)
		}
		days = n
	}
	return dataset.GenConfig{Seed: 7, Days: days, Stores: 20, SKUs: 50, EcomOrdersPerDay: 500}
}

// quietLogs silences Generate's and Ingest's per-run slog lines, which
// would otherwise interleave with the benchmark output.
func quietLogs(tb testing.TB) {
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	tb.Cleanup(func() { slog.SetDefault(prev) })
}

// timeGenerate times Generate of cfg into a fresh dir/world each round,
// reports events/s and allocations, and returns the events of a run.
func timeGenerate(b *testing.B, cfg dataset.GenConfig, dir string) int64 {
	var events int64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		out := filepath.Join(dir, "world")
		if err := os.RemoveAll(out); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		sum, err := dataset.Generate(context.Background(), cfg, out)
		if err != nil {
			b.Fatal(err)
		}
		events = sum.Events
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	return events
}

func BenchmarkGenerate(b *testing.B) {
	quietLogs(b)
	cfg := benchGenConfig(b)
	dir := b.TempDir()
	events := timeGenerate(b, cfg, dir)
	b.ReportMetric(float64(events), "events")
	b.ReportMetric(float64(cfg.Days), "days")
	reportPeakRSS(b, "generate", "", filepath.Join(dir, "rss-world"), runtime.GOMAXPROCS(0))
}

func BenchmarkIngest(b *testing.B) {
	quietLogs(b)
	world := filepath.Join(b.TempDir(), "world")
	sum, err := dataset.Generate(context.Background(), benchGenConfig(b), world)
	if err != nil {
		b.Fatal(err)
	}
	var inBytes int64
	for _, f := range sum.Files {
		st, err := os.Stat(filepath.Join(world, f))
		if err != nil {
			b.Fatal(err)
		}
		inBytes += st.Size()
	}

	for _, procs := range []int{1, runtime.NumCPU()} {
		b.Run(fmt.Sprintf("procs=%d", procs), func(b *testing.B) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			out := filepath.Join(b.TempDir(), "out")
			cfg := dataset.IngestConfig{Inputs: []string{world}, OutDir: out}
			b.SetBytes(inBytes)
			b.ReportAllocs()
			var m dataset.IngestManifest
			for b.Loop() {
				b.StopTimer()
				if err := os.RemoveAll(out); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if m, err = dataset.Ingest(context.Background(), cfg); err != nil {
					b.Fatal(err)
				}
			}
			if m.RowsIn != sum.Events {
				b.Fatalf("ingest read %d rows, generated %d", m.RowsIn, sum.Events)
			}
			b.ReportMetric(float64(m.RowsIn)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			reportPeakRSS(b, "ingest", world, filepath.Join(b.TempDir(), "rss-out"), procs)
		})
	}
}

// reportPeakRSS runs the work once in a child process at GOMAXPROCS=procs
// and reports its peak resident set size.
func reportPeakRSS(b *testing.B, work, in, out string, procs int) {
	b.Helper()
	peakrss.Report(b, "TestBenchPeakRSSHelper", procs, rssHelperEnv+"="+work, rssInEnv+"="+in, rssOutEnv+"="+out)
}

// TestBenchPeakRSSHelper is not a test: reportPeakRSS runs it in a child
// process to measure one Generate or Ingest run.
func TestBenchPeakRSSHelper(t *testing.T) {
	work := os.Getenv(rssHelperEnv)
	if work == "" {
		t.Skip("run by the benchmarks' peak RSS measurement only")
	}
	quietLogs(t)
	in, out := os.Getenv(rssInEnv), os.Getenv(rssOutEnv)
	var err error
	switch work {
	case "generate":
		_, err = dataset.Generate(context.Background(), benchGenConfig(t), out)
	case "ingest":
		_, err = dataset.Ingest(context.Background(), dataset.IngestConfig{Inputs: []string{in}, OutDir: out})
	default:
		t.Fatalf("%s=%q: want generate or ingest", rssHelperEnv, work)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := peakrss.Print(); err != nil {
		t.Fatal(err)
	}
}
