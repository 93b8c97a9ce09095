package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/supplyline/supplyline/activities"
	"github.com/supplyline/supplyline/eval"
)

// runEval scores one checkpoint on the chosen tasks and writes
// scorecard.json, scorecard.md and the PNG charts (eval.WriteCharts) to --out.
func runEval(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(out)
	var cfg eval.Config
	fs.StringVar(&cfg.CheckpointDir, "checkpoint", "", "checkpoint directory, or a run's checkpoint root with a \"latest\" file (required)")
	fs.StringVar(&cfg.ShardManifest, "shards", "", "shard directory or its manifest.json; its val split is scored (required)")
	fs.StringVar(&cfg.TokenizerDir, "tokenizer", "", "directory of vocab.json and merges.txt (default: beside the manifest)")
	fs.StringVar(&cfg.RunID, "run-id", "", "run name in the scorecard (default: the checkpoint's parent directory)")
	tasks := fs.String("tasks", strings.Join(eval.DefaultTasks, ","), "comma-separated tasks: "+strings.Join([]string{eval.ReplenishTaskName, eval.NextEventTaskName, eval.EchelonTaskName, eval.ETATaskName}, ", "))
	dir := fs.String("out", ".", "directory for scorecard.json, scorecard.md and the PNG charts")
	fs.StringVar(&cfg.ETA.EventsDir, "events", "", "canonical events for the eta task: an import or ingest output directory")
	fs.StringVar(&cfg.ETA.SellersFile, "sellers", "", "CSV of seller_id,seller_state for the eta task's route baseline (Olist's olist_sellers_dataset.csv)")
	cutoff := fs.String("eta-cutoff", "", "eta train/test cutoff, RFC 3339 or YYYY-MM-DD (default: --cutoff, else at 80% of the orders)")
	var opts activities.EvalOptions
	fs.StringVar(&opts.World, "world", "", "world.json of the generated world: replenish plays one of its series")
	fs.StringVar(&opts.Series, "series", "", "the world's series, LOCATION/SKU (default: the first with an exact optimum whose logged decisions vary, else the first with an exact optimum)")
	canonical := fs.String("canonical", "", "the run's ingest output (day partitions): the replenish agent's prompt starts with its series' logged days before --cutoff")
	runCutoff := fs.String("cutoff", "", "the run's train/validation split, RFC 3339 or YYYY-MM-DD (the shard manifest's cutoff)")
	var seed int64
	fs.Int64Var(&seed, "seed", 0, "seed of the simulators' demand paths")
	fs.IntVar(&cfg.Replenish.Episodes, "episodes", 0, "replenish episodes (0 = default)")
	fs.IntVar(&cfg.HeldOutMaxTokens, "heldout-tokens", 0, "validation tokens scored by next-event (0 = default 20000; negative skips next-event)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.CheckpointDir == "" || cfg.ShardManifest == "" {
		return errors.New("eval: --checkpoint and --shards are required")
	}
	split, err := parseCutoff("--cutoff", *runCutoff)
	if err != nil {
		return err
	}
	if cfg.ETA.Cutoff, err = parseCutoff("--eta-cutoff", *cutoff); err != nil {
		return err
	}
	if cfg.ETA.Cutoff.IsZero() {
		cfg.ETA.Cutoff = split
	}
	opts.Episodes = cfg.Replenish.Episodes
	if cfg.Replenish, err = opts.ReplenishTask(ctx, *canonical, split); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	cfg.Replenish.Seed = seed
	for _, t := range strings.Split(*tasks, ",") {
		if t = strings.TrimSpace(t); t != "" {
			cfg.Tasks = append(cfg.Tasks, t)
		}
	}
	cfg.MultiEchelon.Seed = seed
	sc, err := eval.Evaluate(ctx, cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(sc, "", "  ")
	if err != nil {
		return err
	}
	jsonPath, mdPath := filepath.Join(*dir, "scorecard.json"), filepath.Join(*dir, "scorecard.md")
	if err := os.WriteFile(jsonPath, append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("eval: write scorecard: %w", err)
	}
	if err := os.WriteFile(mdPath, []byte(sc.Markdown()), 0o644); err != nil {
		return fmt.Errorf("eval: write scorecard: %w", err)
	}
	charts, err := eval.WriteCharts(*dir, sc)
	if err != nil {
		return err
	}
	for _, t := range sc.Tasks {
		unit := "per day"
		switch t.Unit {
		case eval.UnitBitsPerByte:
			unit = "bits per byte"
		case eval.UnitMAEDays:
			unit = "MAE in days"
		}
		fmt.Fprintf(out, "%s: model %.4f, best baseline %s %.4f (%s)\n", t.Name, t.ModelCost, t.BestBaseline, t.BestBaselineCost, unit)
	}
	fmt.Fprintf(out, "scorecard: %s\n", jsonPath)
	for _, c := range charts {
		fmt.Fprintf(out, "chart: %s\n", c)
	}
	return nil
}

// parseCutoff reads an RFC 3339 time or a date; "" is the zero time.
func parseCutoff(flagName, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		if t, err = time.Parse(time.DateOnly, s); err != nil {
			return time.Time{}, fmt.Errorf("eval: %s %q is not RFC 3339 or YYYY-MM-DD", flagName, s)
		}
	}
	return t.UTC(), nil
}
