package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/supplyline/supplyline/worker"
	"github.com/supplyline/supplyline/workflows"
)

func runSchedule(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: supplyline schedule create --config run.json [--id supplyline-nightly] [--cron '0 2 * * *'] [--tz UTC]")
	}
	fs := flag.NewFlagSet("schedule create", flag.ContinueOnError)
	var tf temporalFlags
	tf.register(fs)
	config := fs.String("config", "", "run-config JSON file (required)")
	id := fs.String("id", "supplyline-nightly", "schedule ID; runs are named <id>-<scheduled time>")
	cron := fs.String("cron", "0 2 * * *", "when to run, as a cron expression (default every day at 02:00)")
	tz := fs.String("tz", "UTC", "time zone of the cron expression")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *config == "" {
		return errors.New("schedule create: --config is required")
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
	h, err := createSchedule(ctx, c, *id, *cron, *tz, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "schedule %s: %q %s, overlap skip\nUI       %s/namespaces/%s/schedules/%s\n", h.GetID(), *cron, *tz, tf.uiURL, tf.namespace, h.GetID())
	return nil
}

// createSchedule creates the nightly retraining Schedule. Overlapping runs
// are skipped, and each run gets the scheduled time as its logical date
// (the pipeline reads the TemporalScheduledStartTime search attribute,
// because a Schedule's arguments are fixed when it is created).
func createSchedule(ctx context.Context, c client.Client, id, cron, tz string, cfg workflows.RunConfig) (client.ScheduleHandle, error) {
	return c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:      id,
		Spec:    client.ScheduleSpec{CronExpressions: []string{cron}, TimeZoneName: tz},
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		Action: &client.ScheduleWorkflowAction{
			ID:        id,
			Workflow:  workflows.Pipeline,
			Args:      []any{workflows.PipelineInput{Config: cfg}},
			TaskQueue: workflows.TaskQueue,
		},
	})
}
