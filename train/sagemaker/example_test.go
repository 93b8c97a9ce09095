package sagemaker_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/supplyline/supplyline/train"
	"github.com/supplyline/supplyline/train/sagemaker"
)

// A worker submits a segment to Trainium on managed spot capacity, and
// falls back to another backend when SageMaker has none.
func Example() {
	ctx := context.Background()
	l, err := sagemaker.New(ctx, sagemaker.Options{
		InstanceType: "ml.trn1.32xlarge",
		RoleARN:      "arn:aws:iam::123456789012:role/SupplylineTraining",
		Region:       "us-west-2",
		CodeS3URI:    "s3://supplyline-artifacts/sagemaker",
		LoaderLib:    "/opt/supplyline/libsupplyline_loader.so",
		Spot:         true,
	})
	if err != nil {
		log.Fatal(err)
	}
	id, err := l.Submit(ctx, train.JobSpec{
		IdempotencyKey: "nightly-2026-11-25/seg-0001",
		ShardManifest:  "s3://supplyline-artifacts/runs/nightly-2026-11-25/shards/manifest.json",
		Model:          train.ModelConfig{VocabSize: 4096},
		CheckpointDir:  "s3://supplyline-artifacts/runs/nightly-2026-11-25/checkpoints",
		TargetStep:     200,
	})
	if errors.Is(err, train.ErrNoCapacity) {
		log.Print("no Trainium capacity: try the next backend") // as workflows.Pipeline does
		return
	} else if err != nil {
		log.Fatal(err)
	}
	for {
		st, err := l.Describe(ctx, id)
		if err != nil {
			log.Fatal(err)
		}
		if st.State.Final() {
			fmt.Println(st.State, st.Progress.Step, st.Message)
			return
		}
		time.Sleep(30 * time.Second)
	}
}
