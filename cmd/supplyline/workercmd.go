package main

import (
	"context"
	"flag"
	"io"

	"github.com/supplyline/supplyline/worker"
)

func runWorker(ctx context.Context, args []string, _ io.Writer) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	var tf temporalFlags
	tf.register(fs)
	jobs := fs.String("jobs", ".run/jobs", "directory of local training jobs")
	setLog := logLevelFlag(fs, "info")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := setLog(); err != nil {
		return err
	}
	cfg := tf.workerConfig()
	cfg.JobsRoot = *jobs
	return worker.Run(ctx, cfg)
}
