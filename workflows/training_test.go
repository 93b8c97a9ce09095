package workflows

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/supplyline/supplyline/activities"
	"github.com/supplyline/supplyline/train"
)

func trainingInput(steps, seg int) TrainingInput {
	return TrainingInput{
		Config:    RunConfig{Inputs: []string{"/d"}, Steps: steps, SegmentSteps: seg},
		Spec:      train.JobSpec{ShardManifest: "m.json", CheckpointDir: "/c", Model: train.ModelConfig{VocabSize: 300}},
		KeyPrefix: "wf",
	}
}

// segmentsTakeAnHour makes each segment take an hour of workflow time, so
// that signals can land between and during segments.
func segmentsTakeAnHour(env *testsuite.TestWorkflowEnvironment, targets *[]int) {
	env.OnActivity(acts.TrainSegment, mock.Anything, mock.Anything).After(time.Hour).Return(
		func(_ context.Context, in activities.TrainSegmentInput) (activities.TrainSegmentOutput, error) {
			*targets = append(*targets, in.Spec.TargetStep)
			return activities.TrainSegmentOutput{Backend: in.Backend, Step: in.Spec.TargetStep, Checkpoint: train.CheckpointName(in.Spec.TargetStep)}, nil
		})
}

func TestTrainingPauseAndResume(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Activities{})
	var targets []int
	segmentsTakeAnHour(env, &targets)
	var whilePaused []int
	var pausedSeen bool
	// Pause during the first segment; it finishes, the second does not start until resumed.
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(PauseSignal, nil) }, 30*time.Minute)
	env.RegisterDelayedCallback(func() {
		whilePaused = append([]int(nil), targets...)
		v, _ := env.QueryWorkflow(ProgressQuery)
		var p TrainingProgress
		_ = v.Get(&p)
		pausedSeen = p.Paused
		env.SignalWorkflow(ResumeSignal, nil)
	}, 10*time.Hour)
	start := env.Now()
	env.ExecuteWorkflow(Training, trainingInput(300, 100))
	var out activities.TrainSegmentOutput
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	if len(whilePaused) != 1 || !pausedSeen {
		t.Errorf("while paused: segments %v (want only the first), paused in progress: %v", whilePaused, pausedSeen)
	}
	if out.Step != 300 || len(targets) != 3 {
		t.Errorf("ended at step %d after segments %v", out.Step, targets)
	}
	if took := env.Now().Sub(start); took < 12*time.Hour {
		t.Errorf("run took %s of workflow time; the pause should have held it to at least 12h", took)
	}
}

func TestTrainingAbortCancelsTheSegment(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Activities{})
	var targets []int
	segmentsTakeAnHour(env, &targets)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(AbortSignal, nil) }, 90*time.Minute)
	env.ExecuteWorkflow(Training, trainingInput(300, 100))
	err := env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrTypeAborted || !strings.Contains(err.Error(), "step 100") {
		t.Fatalf("error %v, want an %s error at step 100", err, ErrTypeAborted)
	}
	if len(targets) != 1 {
		t.Errorf("segments that completed: %v; the second must have been cancelled", targets)
	}
}

func TestTrainingContinuesAsNew(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Activities{})
	var targets []int
	segmentsTakeAnHour(env, &targets)
	in := trainingInput(500, 100)
	in.MaxSegmentsPerRun = 2
	env.ExecuteWorkflow(Training, in)
	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("error %v, want continue-as-new after 2 segments", err)
	}
	var next TrainingInput
	if err := (converterFor()).FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.StartStep != 200 || next.Segment != 2 || next.ResumeFrom != train.CheckpointName(200) || next.KeyPrefix != "wf" {
		t.Errorf("continues as %+v, want step 200, segment 2, resume from step 200", next)
	}
}

func converterFor() interface {
	FromPayloads(*commonpb.Payloads, ...any) error
} {
	return converter.GetDefaultDataConverter()
}
