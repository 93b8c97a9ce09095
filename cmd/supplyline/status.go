package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/supplyline/supplyline/activities"
	"github.com/supplyline/supplyline/worker"
	"github.com/supplyline/supplyline/workflows"
)

func runStatus(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	var tf temporalFlags
	tf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: supplyline status <workflow-id>")
	}
	wfID := fs.Arg(0)
	c, err := worker.Dial(ctx, tf.workerConfig())
	if err != nil {
		return err
	}
	defer c.Close()
	desc, err := c.DescribeWorkflowExecution(ctx, wfID, "")
	if err != nil {
		return fmt.Errorf("status %s: %w", wfID, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	runID := info.GetExecution().GetRunId()
	fmt.Fprintf(out, "workflow %s\nrun      %s\nstatus   %s\nstarted  %s\nUI       %s\n",
		wfID, runID, info.GetStatus(), info.GetStartTime().AsTime().UTC().Format("2006-01-02 15:04:05Z"), tf.runLink(wfID, runID))
	var p workflows.Progress
	if v, err := c.QueryWorkflow(ctx, wfID, runID, workflows.ProgressQuery); err == nil {
		if err := v.Get(&p); err == nil {
			fmt.Fprintf(out, "stage    %s\nstep     %d/%d\nloss     %.4f\nbackend  %s\nlogical  %s\n", p.Stage, p.Step, p.TargetStep, p.Loss, p.Backend, p.LogicalDate.Format("2006-01-02 15:04:05Z"))
			if p.Error != "" {
				fmt.Fprintf(out, "error    %s\n", p.Error)
			}
		}
	} else {
		fmt.Fprintf(out, "progress unavailable: %v\n", err)
	}
	pending := desc.GetPendingActivities()
	// Training runs in a child workflow; its activities carry the live heartbeat.
	if child, err := c.DescribeWorkflowExecution(ctx, workflows.TrainingWorkflowID(wfID), ""); err == nil {
		fmt.Fprintf(out, "training %s (%s)\n", workflows.TrainingWorkflowID(wfID), child.GetWorkflowExecutionInfo().GetStatus())
		pending = append(pending, child.GetPendingActivities()...)
	}
	for _, pa := range pending {
		fmt.Fprintf(out, "activity %s (attempt %d, %s)", pa.GetActivityType().GetName(), pa.GetAttempt(), pa.GetState())
		if d := pa.GetHeartbeatDetails(); d != nil && len(d.GetPayloads()) > 0 {
			var hb activities.TrainHeartbeat
			if err := decodePayload(d.GetPayloads()[0], &hb); err == nil && hb.JobID != "" {
				fmt.Fprintf(out, ": job %s %s step %d loss %.4f %.0f tokens/s", hb.JobID, hb.State, hb.Progress.Step, hb.Progress.Loss, hb.Progress.TokensPerSec)
			}
		}
		fmt.Fprintln(out)
	}
	return nil
}
