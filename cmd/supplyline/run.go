package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/supplyline/supplyline/worker"
	"github.com/supplyline/supplyline/workflows"
)

func runRun(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var tf temporalFlags
	tf.register(fs)
	config := fs.String("config", "", "run-config JSON file (required; see README: Run config)")
	id := fs.String("id", "", "workflow ID (default supplyline-<UTC timestamp>)")
	wait := fs.Bool("wait", false, "wait for the run to end and print its result")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *config == "" {
		return errors.New("run: --config is required")
	}
	cfg, err := loadRunConfig(*config)
	if err != nil {
		return err
	}
	c, err := worker.Dial(ctx, tf.workerConfig())
	if err != nil {
		return err
	}
	defer c.Close()
	wfID := *id
	if wfID == "" {
		wfID = "supplyline-" + time.Now().UTC().Format("20060102T150405Z")
	}
	run, err := startPipeline(ctx, c, wfID, workflows.PipelineInput{Config: cfg})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "workflow %s\nrun      %s\nUI       %s\n", run.GetID(), run.GetRunID(), tf.runLink(run.GetID(), run.GetRunID()))
	if !*wait {
		return nil
	}
	var res workflows.PipelineOutput
	if err := run.Get(ctx, &res); err != nil {
		return fmt.Errorf("run %s: %w", run.GetID(), err)
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	fmt.Fprintf(out, "%s\n", b)
	return nil
}

func startPipeline(ctx context.Context, c client.Client, id string, in workflows.PipelineInput) (client.WorkflowRun, error) {
	return c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue}, workflows.Pipeline, in)
}
