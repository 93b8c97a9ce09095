package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/worker"
	"github.com/supplyline/supplyline/workflows"
)

func runDemo(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	var tf temporalFlags
	tf.register(fs)
	uiPort := fs.Int("ui-port", 8233, "port of the Temporal Web UI")
	state := fs.String("state", ".run", "directory for the server's database, the dataset, jobs and runs")
	seed := fs.Int64("seed", 7, "dataset and training seed")
	steps := fs.Int("steps", 300, "training steps")
	keep := fs.Bool("keep", true, "keep the dev server and worker running after the run, until Ctrl-C, so the run stays visible in the UI")
	setLog := logLevelFlag(fs, "warn")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := setLog(); err != nil {
		return err
	}
	stateAbs, err := filepath.Abs(*state)
	if err != nil {
		return err
	}
	stop, err := startLocalStack(ctx, &tf, *uiPort, stateAbs, out)
	if err != nil {
		return err
	}
	defer stop()

	events := filepath.Join(stateAbs, "demo", fmt.Sprintf("events-seed%d", *seed))
	if err := os.RemoveAll(events); err != nil {
		return err
	}
	sum, err := dataset.Generate(ctx, dataset.GenConfig{Seed: uint64(*seed)}, events)
	if err != nil {
		return fmt.Errorf("generating the demo dataset: %w", err)
	}
	fmt.Fprintf(out, "generated %d synthetic events (seed %d) in %s\n", sum.Events, *seed, events)

	cfg, err := finishRunConfig(workflows.RunConfig{
		Inputs:  []string{events},
		WorkDir: filepath.Join(stateAbs, "runs"),
		Steps:   *steps,
		Seed:    *seed,
	}, "demo")
	if err != nil {
		return err
	}
	c, err := worker.Dial(ctx, tf.workerConfig())
	if err != nil {
		return err
	}
	defer c.Close()
	id := "supplyline-demo-" + time.Now().UTC().Format("20060102T150405Z")
	run, err := startPipeline(ctx, c, id, workflows.PipelineInput{Config: cfg})
	if err != nil {
		return err
	}
	link := tf.runLink(run.GetID(), run.GetRunID())
	fmt.Fprintf(out, "started pipeline %s\nwatch it at %s\n", run.GetID(), link)

	res := make(chan error, 1)
	var output workflows.PipelineOutput
	go func() { res <- run.Get(ctx, &output) }()
	last := ""
	tick := time.NewTicker(3 * time.Second)
	defer tick.Stop()
	for waiting := true; waiting; {
		select {
		case err := <-res:
			if err != nil {
				return fmt.Errorf("pipeline %s failed (see %s): %w", run.GetID(), link, err)
			}
			waiting = false
		case <-tick.C:
			if v, err := c.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), workflows.ProgressQuery); err == nil {
				var p workflows.Progress
				if v.Get(&p) == nil {
					line := fmt.Sprintf("  stage %-9s step %d/%d loss %.3f", p.Stage, p.Step, p.TargetStep, p.Loss)
					if line != last {
						fmt.Fprintln(out, line)
						last = line
					}
				}
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	md, err := os.ReadFile(output.Eval.MarkdownPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%s\n", md)
	b, _ := json.MarshalIndent(map[string]any{
		"bits_per_byte": output.Eval.BitsPerByte, "unigram_bits_per_byte": output.Eval.UnigramBitsPerByte,
		"model_cost_per_day": output.Eval.ModelCost, "base_stock_cost_per_day": output.Eval.BaselineCost, "gap": output.Eval.Gap,
	}, "", "  ")
	fmt.Fprintf(out, "headline: %s\nscorecard: %s\nrun in the Temporal UI: %s\n", b, output.Eval.ScorecardPath, link)
	if *keep {
		fmt.Fprintln(out, "\nThe dev server and worker keep running so the run stays visible in the UI. Press Ctrl-C to stop them.")
		<-ctx.Done()
	}
	return nil
}
