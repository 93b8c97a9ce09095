package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/supplyline/supplyline/dataset"
)

func runGen(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	dir := fs.String("out", "", "output directory for day-partitioned Parquet (required)")
	var cfg dataset.GenConfig
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed; the same seed gives the same files")
	fs.IntVar(&cfg.Days, "days", 0, "days to simulate (0 = default, or sized by --events)")
	fs.IntVar(&cfg.Stores, "stores", 0, "stores (0 = default, or sized by --events)")
	fs.IntVar(&cfg.SKUs, "skus", 0, "SKUs (0 = default, or sized by --events)")
	fs.BoolVar(&cfg.KnownDemand, "known-demand", false, "demand with known parameters: Poisson with a weekly cycle, no trend, yearly cycle, promotions or over-dispersion")
	fs.BoolVar(&cfg.Stationary, "stationary", false, "known demand without the weekly cycle: identically distributed days, where eval's DP optimum is exact")
	events := fs.Int64("events", 0, "size the world for about this many events, growing days, then stores, then SKUs left at 0 (0 = off)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("gen: --out is required")
	}
	if *events != 0 {
		sized, err := cfg.ForEvents(*events)
		if err != nil {
			return fmt.Errorf("gen: --events: %w", err)
		}
		cfg = sized
		fmt.Fprintf(out, "sized for about %d events: %d days, %d stores × %d SKUs\n", *events, cfg.Days, cfg.Stores, cfg.SKUs)
	}
	cfg.Progress = genProgress(os.Stderr)
	start := time.Now()
	sum, err := dataset.Generate(ctx, cfg, *dir)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	fmt.Fprintf(out, "generated %d events in %d files under %s in %v (%.0f events/s)\n",
		sum.Events, len(sum.Files), *dir, elapsed.Round(time.Millisecond), float64(sum.Events)/max(elapsed.Seconds(), 1e-9))
	return nil
}

// genProgress returns a GenConfig.Progress that keeps one line on f up to
// date, at most ten times a second, when f is a terminal; nil otherwise.
func genProgress(f *os.File) func(dataset.GenProgress) {
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	print := progressLine(f)
	start := time.Now()
	var last time.Time
	return func(p dataset.GenProgress) {
		done := p.DaysWritten == p.Days
		if now := time.Now(); !done && now.Sub(last) < 100*time.Millisecond {
			return
		} else {
			last = now
		}
		rate := float64(p.Events) / max(time.Since(start).Seconds(), 1e-9)
		line := fmt.Sprintf("gen: day %d/%d, %d events, %.0f events/s", p.DaysWritten, p.Days, p.Events, rate)
		if done {
			line += "\n"
		}
		print(line)
	}
}
