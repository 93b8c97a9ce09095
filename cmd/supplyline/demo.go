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
	"github.com/supplyline/supplyline/eval"
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
	olist := fs.String("olist", defaultOlistSample(), "directory of the Olist CSV sample: its orders are imported, trained on before the cutoff and scored by the eta task after it (empty: no eta task)")
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
	// The demo world has a known, stationary demand process, so that the
	// replenish task's dynamic-programming optimum is exact; with the Olist
	// sample it covers Olist's last 20 months, so that one time split
	// serves both and each series has about 480 logged days to train on
	// (at 120, the agent's outcome conditioning learnt little; see
	// BENCHMARKS.md).
	gen := dataset.GenConfig{Seed: uint64(*seed), Stationary: true}
	if *olist != "" {
		gen.Start, gen.Days = time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC), 605
	}
	sum, err := dataset.Generate(ctx, gen, events)
	if err != nil {
		return fmt.Errorf("generating the demo dataset: %w", err)
	}
	fmt.Fprintf(out, "generated %d synthetic events (seed %d, known demand) in %s\n", sum.Events, *seed, events)
	rc := workflows.RunConfig{
		Inputs:  []string{events},
		WorkDir: filepath.Join(stateAbs, "runs"),
		Steps:   *steps,
		Seed:    *seed,
	}
	rc.Eval.Tasks = []string{eval.ReplenishTaskName, eval.NextEventTaskName, eval.EchelonTaskName}
	if *olist != "" {
		rc.Eval.Tasks = append(rc.Eval.Tasks, eval.ETATaskName)
		orders := filepath.Join(stateAbs, "demo", "olist")
		if err := os.RemoveAll(orders); err != nil {
			return err
		}
		res, err := dataset.ImportOlist(ctx, dataset.OlistConfig{Dir: *olist, OutDir: orders})
		if err != nil {
			return fmt.Errorf("importing the Olist sample: %w", err)
		}
		fmt.Fprintf(out, "imported %d Olist orders (%d events) from %s\n", res.Imported, res.Events, *olist)
		rc.Inputs = append(rc.Inputs, orders)
		rc.Eval.ETAEvents = orders
		if sellers := filepath.Join(*olist, "olist_sellers_dataset.csv"); fileExists(sellers) {
			rc.Eval.ETASellers = sellers
		}
	} else {
		fmt.Fprintln(out, "no Olist sample (--olist): the eta task is skipped")
	}

	cfg, err := finishRunConfig(rc, "demo")
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

// defaultOlistSample is the Olist sample beside the repository
// (../shared/data/olist-sample), or "" when it is not there.
func defaultOlistSample() string {
	p := filepath.Join("..", "shared", "data", "olist-sample")
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		return p
	}
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
