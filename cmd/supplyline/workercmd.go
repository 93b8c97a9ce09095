package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/supplyline/supplyline/worker"
)

func runWorker(ctx context.Context, args []string, _ io.Writer) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	var tf temporalFlags
	tf.register(fs)
	jobs := fs.String("jobs", ".run/jobs", "directory of local training jobs")
	smFile := fs.String("sagemaker", "", "JSON file with a list of SageMaker backends (train/sagemaker Options), e.g. trn1 and p5")
	setLog := logLevelFlag(fs, "info")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := setLog(); err != nil {
		return err
	}
	cfg := tf.workerConfig()
	cfg.JobsRoot = *jobs
	if *smFile != "" {
		b, err := os.ReadFile(*smFile)
		if err != nil {
			return err
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg.SageMaker); err != nil {
			return fmt.Errorf("%s: %w", *smFile, err)
		}
	}
	return worker.Run(ctx, cfg)
}
