package workflows

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/supplyline/supplyline/activities"
	"github.com/supplyline/supplyline/train"
)

// acts is the nil pointer workflows use to name activity methods.
var acts *activities.Activities

var day0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// newEnv registers the activities and stubs Ingest, Tokenize and Evaluate.
// Training segments are stubbed per test.
func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Activities{})
	env.RegisterWorkflow(Training)
	env.OnActivity(acts.Ingest, mock.Anything, mock.Anything).Return(activities.IngestOutput{
		CanonicalDir: "/runs/x/ingest/events", ContentHash: "abc", RowsIn: 10, Accepted: 9, Quarantined: 1,
		MinTime: day0, MaxTime: day0.Add(100 * 24 * time.Hour),
	}, nil)
	env.OnActivity(acts.Tokenize, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.TokenizeInput) (activities.TokenizeOutput, error) {
			return activities.TokenizeOutput{ManifestPath: in.OutDir + "/manifest.json", VocabSize: 300, TrainTokens: 100, ValTokens: 20, Cutoff: in.Cutoff}, nil
		})
	env.OnActivity(acts.Evaluate, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.EvaluateInput) (activities.EvaluateOutput, error) {
			return activities.EvaluateOutput{ScorecardPath: in.OutDir + "/scorecard.json", BitsPerByte: 1, UnigramBitsPerByte: 3}, nil
		})
	return env
}

func TestPipelineSegmentsResumeFromEachOther(t *testing.T) {
	env := newEnv(t)
	var specs []train.JobSpec
	env.OnActivity(acts.TrainSegment, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.TrainSegmentInput) (activities.TrainSegmentOutput, error) {
			specs = append(specs, in.Spec)
			return activities.TrainSegmentOutput{Backend: in.Backend, Step: in.Spec.TargetStep, Loss: 1, Checkpoint: train.CheckpointName(in.Spec.TargetStep)}, nil
		})
	env.ExecuteWorkflow(Pipeline, PipelineInput{Config: RunConfig{Inputs: []string{"/data"}, WorkDir: "/runs", Steps: 250, SegmentSteps: 100}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	wantTargets := []int{100, 200, 250}
	if len(specs) != len(wantTargets) {
		t.Fatalf("got %d segments, want %d", len(specs), len(wantTargets))
	}
	seen := map[string]bool{}
	for i, s := range specs {
		if s.TargetStep != wantTargets[i] {
			t.Errorf("segment %d: target %d, want %d", i, s.TargetStep, wantTargets[i])
		}
		wantResume := ""
		if i > 0 {
			wantResume = train.CheckpointName(wantTargets[i-1])
		}
		if s.ResumeFrom != wantResume {
			t.Errorf("segment %d: resumes from %q, want %q", i, s.ResumeFrom, wantResume)
		}
		if seen[s.IdempotencyKey] {
			t.Errorf("segment %d reuses idempotency key %q", i, s.IdempotencyKey)
		}
		seen[s.IdempotencyKey] = true
		if s.Model.VocabSize != 300 {
			t.Errorf("segment %d: vocab %d, want the tokenizer's 300", i, s.Model.VocabSize)
		}
	}
	var out PipelineOutput
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	if out.Train.Step != 250 || out.Eval.BitsPerByte != 1 {
		t.Errorf("output = %+v", out)
	}
	// The automatic cutoff is the day boundary at 80% of the data's range.
	if want := day0.Add(80 * 24 * time.Hour); !out.Tokenize.Cutoff.Equal(want) {
		t.Errorf("cutoff %s, want %s", out.Tokenize.Cutoff, want)
	}
	v, err := env.QueryWorkflow(ProgressQuery)
	if err != nil {
		t.Fatal(err)
	}
	var p Progress
	if err := v.Get(&p); err != nil {
		t.Fatal(err)
	}
	if p.Stage != "done" || p.Step != 250 || p.Backend != "local" {
		t.Errorf("progress = %+v", p)
	}
}

func TestPipelineFailsOverWhenABackendHasNoCapacity(t *testing.T) {
	env := newEnv(t)
	var tried []string
	env.OnActivity(acts.TrainSegment, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.TrainSegmentInput) (activities.TrainSegmentOutput, error) {
			tried = append(tried, in.Backend)
			if in.Backend == "sagemaker-trn1" {
				return activities.TrainSegmentOutput{}, temporal.NewNonRetryableApplicationError("no trn1 capacity", activities.ErrTypeNoCapacity, nil)
			}
			return activities.TrainSegmentOutput{Backend: in.Backend, Step: in.Spec.TargetStep}, nil
		})
	env.ExecuteWorkflow(Pipeline, PipelineInput{Config: RunConfig{Inputs: []string{"/data"}, Steps: 100, SegmentSteps: 100, Backends: []string{"sagemaker-trn1", "local"}}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"sagemaker-trn1", "local"}; len(tried) != 2 || tried[0] != want[0] || tried[1] != want[1] {
		t.Fatalf("backends tried %v, want %v", tried, want)
	}
	var out PipelineOutput
	_ = env.GetWorkflowResult(&out)
	if out.Train.Backend != "local" {
		t.Errorf("trained on %q, want local", out.Train.Backend)
	}
}

func TestPipelineGivesUpAfterCapacityRounds(t *testing.T) {
	env := newEnv(t)
	calls := 0
	env.OnActivity(acts.TrainSegment, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.TrainSegmentInput) (activities.TrainSegmentOutput, error) {
			calls++
			return activities.TrainSegmentOutput{}, temporal.NewNonRetryableApplicationError("full", activities.ErrTypeNoCapacity, nil)
		})
	env.ExecuteWorkflow(Pipeline, PipelineInput{Config: RunConfig{Inputs: []string{"/data"}, Steps: 100, Backends: []string{"a", "b"}, CapacityRounds: 2, CapacityWaitSeconds: 600}})
	err := env.GetWorkflowError()
	if err == nil {
		t.Fatal("want an error when no backend has capacity")
	}
	if calls != 4 {
		t.Errorf("%d attempts, want 2 rounds x 2 backends", calls)
	}
}

func TestPipelineRejectsBadConfig(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Activities{})
	env.ExecuteWorkflow(Pipeline, PipelineInput{Config: RunConfig{CutoffFraction: 2}})
	err := env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrTypeInvalidConfig {
		t.Fatalf("error %v, want an %s application error", err, activities.ErrTypeInvalidConfig)
	}
	for _, want := range []string{"inputs", "cutoff_fraction"} {
		if !strings.Contains(appErr.Error(), want) {
			t.Errorf("error %q does not name %s", appErr.Error(), want)
		}
	}
}

func TestPipelineLogicalDate(t *testing.T) {
	t.Run("explicit", func(t *testing.T) {
		env := newEnv(t)
		env.OnActivity(acts.TrainSegment, mock.Anything, mock.Anything).Return(activities.TrainSegmentOutput{Step: 100}, nil)
		want := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
		env.ExecuteWorkflow(Pipeline, PipelineInput{Config: RunConfig{Inputs: []string{"/d"}, Steps: 100}, LogicalDate: want})
		var out PipelineOutput
		if err := env.GetWorkflowResult(&out); err != nil {
			t.Fatal(err)
		}
		if !out.LogicalDate.Equal(want) {
			t.Errorf("logical date %s, want %s", out.LogicalDate, want)
		}
	})
	t.Run("from schedule", func(t *testing.T) {
		env := newEnv(t)
		env.OnActivity(acts.TrainSegment, mock.Anything, mock.Anything).Return(activities.TrainSegmentOutput{Step: 100}, nil)
		want := time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)
		env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(scheduledStartTime.ValueSet(want)))
		env.ExecuteWorkflow(Pipeline, PipelineInput{Config: RunConfig{Inputs: []string{"/d"}, Steps: 100}})
		var out PipelineOutput
		if err := env.GetWorkflowResult(&out); err != nil {
			t.Fatal(err)
		}
		if !out.LogicalDate.Equal(want) {
			t.Errorf("logical date %s, want the scheduled time %s", out.LogicalDate, want)
		}
	})
}
