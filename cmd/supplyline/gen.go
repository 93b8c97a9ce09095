package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/supplyline/supplyline/dataset"
)

func runGen(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	dir := fs.String("out", "", "output directory for day-partitioned Parquet (required)")
	var cfg dataset.GenConfig
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed; the same seed gives the same files")
	fs.IntVar(&cfg.Days, "days", 0, "days to simulate (0 = default)")
	fs.IntVar(&cfg.Stores, "stores", 0, "stores (0 = default)")
	fs.IntVar(&cfg.SKUs, "skus", 0, "SKUs (0 = default)")
	fs.BoolVar(&cfg.KnownDemand, "known-demand", false, "stationary demand with known parameters (exact DP optimum in eval)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("gen: --out is required")
	}
	sum, err := dataset.Generate(ctx, cfg, *dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "generated %d events in %d files under %s\n", sum.Events, len(sum.Files), *dir)
	return nil
}
