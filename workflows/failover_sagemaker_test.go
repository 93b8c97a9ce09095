package workflows

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/supplyline/supplyline/activities"
	"github.com/supplyline/supplyline/dataset/blob"
	"github.com/supplyline/supplyline/internal/s3test"
	"github.com/supplyline/supplyline/internal/sagemakertest"
	"github.com/supplyline/supplyline/train"
	"github.com/supplyline/supplyline/train/loader/loadertest"
	"github.com/supplyline/supplyline/train/sagemaker"
)

// TestPipelineFailsOverFromSageMaker runs the pipeline with the real
// TrainSegment activity over two launchers: the SageMaker launcher, talking
// through the AWS SDK to the fake SageMaker API (and a real S3 server), and
// a stand-in for the local backend. SageMaker has no capacity, first as a
// refused CreateTrainingJob (an account quota), then as a job that fails
// while starting (no instances in the zone); either way every segment moves
// to the next backend, and the output and the progress query name it.
func TestPipelineFailsOverFromSageMaker(t *testing.T) {
	lib, err := loadertest.BuildLib(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		setup func(*sagemakertest.Server)
	}{
		{"create refused", func(f *sagemakertest.Server) {
			f.RefuseCreate("ResourceLimitExceeded", "The account-level service limit 'ml.trn1.32xlarge for training job usage' is 0 Instances")
		}},
		{"capacity error while starting", func(f *sagemakertest.Server) { f.SetScript(sagemakertest.NoCapacity...) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "aws-config"))
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "aws-credentials"))
			t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
			endpoint, bucket := s3test.Start(t)
			fake := sagemakertest.Start(t)
			tc.setup(fake)
			sm, err := sagemaker.New(context.Background(), sagemaker.Options{
				RoleARN:     "arn:aws:iam::000000000000:role/SupplylineTraining",
				Region:      "us-east-1",
				Endpoint:    fake.URL,
				S3:          blob.S3Options{Endpoint: endpoint, PathStyle: true},
				CodeS3URI:   "s3://" + bucket + "/supplyline",
				ShardsS3URI: "s3://" + bucket + "/shards",
				Logger:      slog.New(slog.DiscardHandler),
			})
			if err != nil {
				t.Fatal(err)
			}
			local := &doneLauncher{}

			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			env.RegisterActivity(&activities.Activities{
				Launchers: map[string]train.Launcher{sm.Name(): sm, "local": local},
				LoaderLib: lib,
				// Poll the job at once: the fake advances one phase per Describe.
				PollInterval: time.Millisecond,
			})
			// Wall-clock bound on the whole run (two source archives go to S3),
			// not a timing assertion.
			env.SetTestTimeout(2 * time.Minute)
			env.RegisterWorkflow(Training)
			stubDataActivities(env)
			env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "nightly-failover"})
			env.ExecuteWorkflow(Pipeline, PipelineInput{Config: RunConfig{
				Inputs: []string{"/data"}, WorkDir: filepath.Join(dir, "runs"),
				Steps: 200, SegmentSteps: 100, CapacityRounds: 1,
				Backends: []string{"sagemaker-trn1", "local"},
			}})
			if err := env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			var out PipelineOutput
			if err := env.GetWorkflowResult(&out); err != nil {
				t.Fatal(err)
			}
			if out.Train.Backend != "local" || out.Train.Step != 200 {
				t.Errorf("train output %+v, want step 200 on local", out.Train)
			}
			v, err := env.QueryWorkflow(ProgressQuery)
			if err != nil {
				t.Fatal(err)
			}
			var p Progress
			if err := v.Get(&p); err != nil {
				t.Fatal(err)
			}
			if p.Backend != "local" {
				t.Errorf("progress names backend %q, want local", p.Backend)
			}
			// Each of the two segments asked SageMaker once, then ran locally.
			if n := fake.Calls("CreateTrainingJob"); n != 2 {
				t.Errorf("%d CreateTrainingJob calls, want one per segment", n)
			}
			if got := local.keys(); len(got) != 2 || !strings.HasSuffix(got[0], "/seg-0000") || !strings.HasSuffix(got[1], "/seg-0001") {
				t.Errorf("local backend ran %v, want both segments", got)
			}
		})
	}
}

// stubDataActivities stands in for Ingest, Tokenize and Evaluate.
func stubDataActivities(env *testsuite.TestWorkflowEnvironment) {
	env.OnActivity(acts.Ingest, mock.Anything, mock.Anything).Return(activities.IngestOutput{
		CanonicalDir: "/runs/x/ingest/events", ContentHash: "abc", RowsIn: 10, Accepted: 10, MinTime: day0, MaxTime: day0.AddDate(0, 0, 100),
	}, nil)
	env.OnActivity(acts.Tokenize, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.TokenizeInput) (activities.TokenizeOutput, error) {
			return activities.TokenizeOutput{ManifestPath: in.OutDir + "/manifest.json", VocabSize: 300, Cutoff: in.Cutoff}, nil
		})
	env.OnActivity(acts.Evaluate, mock.Anything, mock.Anything).Return(activities.EvaluateOutput{BitsPerByte: 1}, nil)
}

// doneLauncher is a backend whose jobs finish at once: Submit writes the
// checkpoint at the target step that TrainSegment reads back.
type doneLauncher struct {
	mu        sync.Mutex
	submitted []string
}

func (d *doneLauncher) keys() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.submitted...)
}

func (d *doneLauncher) Name() string { return "local" }

func (d *doneLauncher) Submit(_ context.Context, spec train.JobSpec) (train.JobID, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.submitted = append(d.submitted, spec.IdempotencyKey)
	dir := filepath.Join(spec.CheckpointDir, train.CheckpointName(spec.TargetStep))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	b, _ := json.Marshal(train.State{Step: spec.TargetStep, Loss: 1.5})
	if err := os.WriteFile(filepath.Join(dir, train.StateFile), b, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(spec.CheckpointDir, train.LatestFile), []byte(filepath.Base(dir)+"\n"), 0o644); err != nil {
		return "", err
	}
	return train.JobID(fmt.Sprintf("done-%d", len(d.submitted))), nil
}

func (d *doneLauncher) Reattach(context.Context, string) (train.JobID, error) {
	return "", train.ErrJobNotFound
}

func (d *doneLauncher) Describe(_ context.Context, id train.JobID) (train.JobStatus, error) {
	return train.JobStatus{ID: id, State: train.StateSucceeded}, nil
}

func (d *doneLauncher) Stop(context.Context, train.JobID) error { return nil }

func (d *doneLauncher) Logs(context.Context, train.JobID, int64) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader("")), nil
}
