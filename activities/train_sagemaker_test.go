package activities

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/supplyline/supplyline/dataset/blob"
	"github.com/supplyline/supplyline/internal/s3test"
	"github.com/supplyline/supplyline/internal/sagemakertest"
	"github.com/supplyline/supplyline/train"
	"github.com/supplyline/supplyline/train/loader/loadertest"
	"github.com/supplyline/supplyline/train/sagemaker"
)

// sagemakerBackend is the real SageMaker launcher against the fake
// SageMaker API and a real S3 server (versitygw), with the fake's jobs
// leaving their checkpoint in S3 when they complete, as real ones do.
func sagemakerBackend(t *testing.T, lib string) (*sagemaker.Launcher, *sagemakertest.Server, string) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_PROFILE", "")
	endpoint, bucket := s3test.Start(t)
	s3opts := blob.S3Options{Endpoint: endpoint, PathStyle: true}
	fake := sagemakertest.Start(t)
	fake.OnComplete(sagemakertest.WriteCheckpoint(s3opts))
	l, err := sagemaker.New(context.Background(), sagemaker.Options{
		RoleARN:   "arn:aws:iam::000000000000:role/SupplylineTraining",
		Region:    "us-east-1",
		Endpoint:  fake.URL,
		S3:        s3opts,
		CodeS3URI: "s3://" + bucket + "/supplyline",
		LoaderLib: lib,
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return l, fake, bucket
}

func runTrainOn(l train.Launcher, in TrainSegmentInput) (TrainSegmentOutput, error) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	a := &Activities{Launchers: map[string]train.Launcher{l.Name(): l}, PollInterval: time.Millisecond}
	env.RegisterActivity(a)
	v, err := env.ExecuteActivity(a.TrainSegment, in)
	var out TrainSegmentOutput
	if err == nil {
		err = v.Get(&out)
	}
	return out, err
}

// TestTrainSegmentOnSageMaker: a segment that completes on SageMaker leaves
// its checkpoint in S3; the launcher brings it into the spec's local
// CheckpointDir, so the backend-agnostic activity finds it and succeeds.
func TestTrainSegmentOnSageMaker(t *testing.T) {
	lib, err := loadertest.BuildLib(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l, _, bucket := sagemakerBackend(t, lib)
	dir := t.TempDir()
	spec := train.JobSpec{
		IdempotencyKey: "wf-sm/seg-0001",
		ShardManifest:  "s3://" + bucket + "/shards/manifest.json",
		Model:          train.ModelConfig{VocabSize: 300}.WithDefaults(),
		CheckpointDir:  dir,
		TargetStep:     200,
	}
	out, err := runTrainOn(l, TrainSegmentInput{Backend: l.Name(), Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	if out.Step != 200 || out.Loss != sagemakertest.CheckpointLoss || out.Checkpoint != filepath.Join(dir, train.CheckpointName(200)) ||
		out.JobID != sagemaker.JobName(spec.IdempotencyKey) {
		t.Errorf("output %+v", out)
	}

	// A job that completed without a checkpoint fails the segment for good,
	// naming what is missing in S3.
	t.Run("no checkpoint", func(t *testing.T) {
		l, fake, bucket := sagemakerBackend(t, lib)
		fake.OnComplete(nil)
		spec := spec
		spec.IdempotencyKey, spec.CheckpointDir = "wf-sm2/seg-0001", t.TempDir()
		spec.ShardManifest = "s3://" + bucket + "/shards/manifest.json"
		_, err := runTrainOn(l, TrainSegmentInput{Backend: l.Name(), Spec: spec})
		assertAppErr(t, err, ErrTypeTrainJobFailed, "s3://"+bucket+"/supplyline/checkpoints/wf-sm2/latest is missing")
	})
}
