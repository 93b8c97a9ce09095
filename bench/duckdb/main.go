package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/supplyline/supplyline/dataset"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench-duckdb:", err)
		os.Exit(1)
	}
}

// op is one timed piece of work; rows is what rows/s counts (input rows,
// the same on both sides).
type op struct {
	name string
	run  func(ctx context.Context) error
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench-duckdb", flag.ContinueOnError)
	days := fs.Int("days", 84, "days of the generated world (~12.4k events a day; 84 ≈ 1M events)")
	runs := fs.Int("runs", 5, "timed rounds per thread count; figures are medians")
	threadList := fs.String("threads", "1,2", "comma-separated thread counts (DuckDB threads, Go GOMAXPROCS)")
	only := fs.String("ops", "aggregate,ingest", "comma-separated comparisons to run: aggregate, ingest")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed rounds to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var threads []int
	for _, s := range strings.Split(*threadList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-threads: bad count %q", s)
		}
		threads = append(threads, n)
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil))) // Ingest logs once per run

	tmp, err := os.MkdirTemp("", "supplyline-bench-duckdb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	world := filepath.Join(tmp, "world")
	cfg := dataset.GenConfig{Seed: 7, Days: *days, Stores: 20, SKUs: 50, EcomOrdersPerDay: 500}
	start := time.Now()
	sum, err := dataset.Generate(ctx, cfg, world)
	if err != nil {
		return err
	}
	files := make([]string, len(sum.Files))
	var bytes int64
	for i, f := range sum.Files {
		files[i] = filepath.Join(world, f)
		st, err := os.Stat(files[i])
		if err != nil {
			return err
		}
		bytes += st.Size()
	}
	fmt.Fprintf(os.Stderr, "generated %d events in %d files (%.1f MiB) in %s\n",
		sum.Events, len(files), float64(bytes)/(1<<20), time.Since(start).Round(time.Millisecond))

	d, db, err := openDuck(ctx, files)
	if err != nil {
		return err
	}
	defer db.Close()
	var version string
	if err := d.conn.QueryRowContext(ctx, "SELECT version()").Scan(&version); err != nil {
		return err
	}

	minTime := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime := time.Now().UTC().AddDate(1, 0, 0).Truncate(time.Second)
	filter := validFilter(minTime, maxTime)
	oursOut, specOut, matchedOut := filepath.Join(tmp, "ours"), filepath.Join(tmp, "duck-spec.parquet"), filepath.Join(tmp, "duck-matched")
	ingestCfg := dataset.IngestConfig{Inputs: []string{world}, OutDir: oursOut, MinTime: minTime, MaxTime: maxTime}

	var oursAgg, duckAgg aggResult
	var accepted int64
	ops := []op{
		{"aggregate/ours", func(ctx context.Context) (err error) { oursAgg, err = goAggregate(ctx, files); return err }},
		{"aggregate/duckdb", func(ctx context.Context) (err error) { duckAgg, err = d.aggregate(ctx); return err }},
		{"ingest/ours", func(ctx context.Context) error {
			m, err := dataset.Ingest(ctx, ingestCfg)
			accepted = m.Accepted
			return err
		}},
		{"ingest/duckdb-spec", func(ctx context.Context) error { return d.ingestSpec(ctx, filter, specOut) }},
		{"ingest/duckdb-matched", func(ctx context.Context) error { return d.ingestMatched(ctx, filter, matchedOut) }},
	}
	ops = slices.DeleteFunc(ops, func(o op) bool {
		return !slices.Contains(strings.Split(*only, ","), strings.Split(o.name, "/")[0])
	})
	clean := func() error {
		for _, p := range []string{oursOut, specOut, matchedOut} {
			if err := os.RemoveAll(p); err != nil {
				return err
			}
		}
		runtime.GC()
		return nil
	}

	// secs and cpus[threads][op] hold one wall and one CPU time (this
	// process, all threads: Go's and DuckDB's) per round. On a shared
	// machine the CPU time is the steadier of the two.
	secs := map[int]map[string][]float64{}
	cpus := map[int]map[string][]float64{}
	for _, n := range threads {
		runtime.GOMAXPROCS(n)
		if err := d.setThreads(ctx, n); err != nil {
			return err
		}
		secs[n] = map[string][]float64{}
		cpus[n] = map[string][]float64{}
		// Round 0 is a warm-up (page cache, DuckDB start-up) and checks that
		// both sides computed the same thing; it is not timed.
		for r := 0; r <= *runs; r++ {
			order := slices.Clone(ops)
			if r%2 == 1 {
				slices.Reverse(order)
			}
			var line []string
			for _, o := range order {
				if err := clean(); err != nil {
					return err
				}
				c0, t0 := cpuSeconds(), time.Now()
				if err := o.run(ctx); err != nil {
					return fmt.Errorf("%s at %d threads: %w", o.name, n, err)
				}
				el, cpu := time.Since(t0).Seconds(), cpuSeconds()-c0
				if r > 0 {
					secs[n][o.name] = append(secs[n][o.name], el)
					cpus[n][o.name] = append(cpus[n][o.name], cpu)
				}
				line = append(line, fmt.Sprintf("%s %.3fs (cpu %.3fs)", o.name, el, cpu))
				if r == 0 {
					if err := check(ctx, d, o.name, oursAgg, duckAgg, accepted, specOut, matchedOut); err != nil {
						return err
					}
				}
			}
			fmt.Fprintf(os.Stderr, "threads=%d round %d: %s\n", n, r, strings.Join(line, ", "))
		}
	}
	if err := clean(); err != nil {
		return err
	}

	fmt.Printf("\n%d events, %d files, %.1f MiB Snappy Parquet; DuckDB %s, %s, %d CPUs, %d timed rounds (medians)\n\n",
		sum.Events, len(files), float64(bytes)/(1<<20), version, runtime.Version(), runtime.NumCPU(), *runs)
	fmt.Println("| comparison | threads | ours rows/s | DuckDB rows/s | ours/DuckDB wall (median, min–max) | ours/DuckDB CPU time |")
	fmt.Println("|---|---|---|---|---|---|")
	rows := float64(sum.Events)
	for _, c := range []struct{ name, ours, duck string }{
		{"aggregate", "aggregate/ours", "aggregate/duckdb"},
		{"ingest (spec: one zstd file)", "ingest/ours", "ingest/duckdb-spec"},
		{"ingest (matched: per day, zstd level 1)", "ingest/ours", "ingest/duckdb-matched"},
	} {
		for _, n := range threads {
			o, dk := secs[n][c.ours], secs[n][c.duck]
			if len(o) == 0 || len(dk) == 0 {
				continue
			}
			oc, dc := cpus[n][c.ours], cpus[n][c.duck]
			ratios, cpuRatios := make([]float64, len(o)), make([]float64, len(o))
			for i := range o {
				ratios[i] = dk[i] / o[i] // (rows/o) / (rows/dk), within one round
				cpuRatios[i] = dc[i] / oc[i]
			}
			fmt.Printf("| %s | %d | %s | %s | %.3f× (%.3f–%.3f) | %.3f× |\n", c.name, n,
				human(rows/median(o)), human(rows/median(dk)), median(ratios), slices.Min(ratios), slices.Max(ratios), median(cpuRatios))
		}
	}
	return nil
}

// check verifies after the warm-up that both sides did the same work.
func check(ctx context.Context, d *duck, name string, ours, duck aggResult, accepted int64, specOut, matchedOut string) error {
	switch name {
	case "aggregate/duckdb", "aggregate/ours":
		if ours.SumByTyp == nil || duck.SumByTyp == nil {
			return nil // the other side has not run yet
		}
		if ours.Rows != duck.Rows || ours.Distinct != duck.Distinct || len(ours.SumByTyp) != len(duck.SumByTyp) {
			return fmt.Errorf("aggregate differs: ours rows=%d distinct=%d types=%d, duckdb rows=%d distinct=%d types=%d",
				ours.Rows, ours.Distinct, len(ours.SumByTyp), duck.Rows, duck.Distinct, len(duck.SumByTyp))
		}
		for k, v := range ours.SumByTyp {
			if w := duck.SumByTyp[k]; math.Abs(v-w) > 1e-9*math.Max(1, math.Abs(w)) {
				return fmt.Errorf("aggregate differs: sum(quantity) for %s: ours %v, duckdb %v", k, v, w)
			}
		}
	case "ingest/duckdb-spec", "ingest/duckdb-matched":
		glob := specOut
		if name == "ingest/duckdb-matched" {
			glob = filepath.Join(matchedOut, "**", "*.parquet")
		}
		n, err := d.countRows(ctx, glob)
		if err != nil {
			return fmt.Errorf("%s: count output: %w", name, err)
		}
		if accepted != 0 && n != accepted {
			return fmt.Errorf("%s wrote %d rows, dataset.Ingest accepted %d", name, n, accepted)
		}
	}
	return nil
}

// cpuSeconds is the user+system CPU time of this process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func human(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
