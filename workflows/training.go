package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/supplyline/supplyline/activities"
	"github.com/supplyline/supplyline/train"
)

// Signals the training workflow takes, and what its progress query returns.
const (
	// PauseSignal lets the running segment finish, then waits for ResumeSignal.
	PauseSignal = "pause"
	// ResumeSignal continues a paused run.
	ResumeSignal = "resume"
	// AbortSignal cancels the running segment (its job is stopped) and ends the run.
	AbortSignal = "abort"
	// trainingProgressSignal is how the training workflow tells its parent
	// pipeline where it is, after each segment.
	trainingProgressSignal = "training-progress"
	// ErrTypeAborted is the failure type of an aborted training run.
	ErrTypeAborted = "Aborted"
)

// TrainingInput is the training workflow's input. Across continue-as-new it
// carries where the run is: StartStep, ResumeFrom and Segment.
type TrainingInput struct {
	Config RunConfig
	// Spec is the template of every segment's job; IdempotencyKey,
	// TargetStep and ResumeFrom are set per segment.
	Spec train.JobSpec
	// KeyPrefix makes segment keys ("<prefix>/seg-0003") stable across
	// continue-as-new and retries: the pipeline's workflow ID.
	KeyPrefix  string
	StartStep  int
	ResumeFrom string
	Segment    int
	// MaxSegmentsPerRun bounds one run's history; the workflow continues as
	// new after that many segments, or earlier when Temporal suggests it. Zero means 50.
	MaxSegmentsPerRun int
	// ParentID receives a progress signal after each segment; empty for none.
	ParentID string
}

// TrainingProgress is what the training workflow's ProgressQuery returns.
type TrainingProgress struct {
	Step, TargetStep int
	Loss             float64
	Backend          string
	Segment          int
	Paused           bool
}

// Training runs training as segments of steps, one activity each, on the
// first backend of the preference list with capacity. It pauses, resumes
// and aborts on signals, and continues as new to keep its history short.
func Training(ctx workflow.Context, in TrainingInput) (activities.TrainSegmentOutput, error) {
	cfg := in.Config.WithDefaults()
	if in.MaxSegmentsPerRun == 0 {
		in.MaxSegmentsPerRun = 50
	}
	prog := TrainingProgress{Step: in.StartStep, TargetStep: cfg.Steps, Segment: in.Segment}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (TrainingProgress, error) { return prog, nil }); err != nil {
		return activities.TrainSegmentOutput{}, err
	}
	aborted := false
	var cancelSegment workflow.CancelFunc
	pauseCh, resumeCh, abortCh := workflow.GetSignalChannel(ctx, PauseSignal), workflow.GetSignalChannel(ctx, ResumeSignal), workflow.GetSignalChannel(ctx, AbortSignal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			sel := workflow.NewSelector(ctx)
			sel.AddReceive(pauseCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); prog.Paused = true })
			sel.AddReceive(resumeCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); prog.Paused = false })
			sel.AddReceive(abortCh, func(c workflow.ReceiveChannel, _ bool) {
				c.Receive(ctx, nil)
				aborted = true
				if cancelSegment != nil {
					cancelSegment()
				}
			})
			sel.Select(ctx)
		}
	})
	abortErr := func() error {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("training aborted by signal at step %d", prog.Step), ErrTypeAborted, nil)
	}

	var out activities.TrainSegmentOutput
	step, resume, seg := in.StartStep, in.ResumeFrom, in.Segment
	for ran := 0; step < cfg.Steps; ran++ {
		if ran >= in.MaxSegmentsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			next := in
			next.StartStep, next.ResumeFrom, next.Segment = step, resume, seg
			return out, workflow.NewContinueAsNewError(ctx, Training, next)
		}
		if err := workflow.Await(ctx, func() bool { return !prog.Paused || aborted }); err != nil {
			return out, err
		}
		if aborted {
			return out, abortErr()
		}
		spec := in.Spec
		spec.IdempotencyKey = fmt.Sprintf("%s/seg-%04d", in.KeyPrefix, seg)
		spec.TargetStep = min(step+cfg.SegmentSteps, cfg.Steps)
		spec.ResumeFrom = resume
		segCtx, cancel := workflow.WithCancel(ctx)
		cancelSegment = cancel
		res, err := trainSegment(segCtx, cfg, spec)
		cancelSegment = nil
		cancel()
		if aborted {
			return out, abortErr()
		}
		if err != nil {
			return out, err
		}
		out = res
		step, resume = res.Step, res.Checkpoint
		seg++
		prog.Step, prog.Loss, prog.Backend, prog.Segment = res.Step, res.Loss, res.Backend, seg
		if in.ParentID != "" {
			// Best effort: the parent's progress query is a convenience.
			_ = workflow.SignalExternalWorkflow(ctx, in.ParentID, "", trainingProgressSignal, prog).Get(ctx, nil)
		}
	}
	return out, nil
}

// runTrainingChild runs the Training workflow as a child of the pipeline
// and mirrors its progress into the pipeline's own.
func runTrainingChild(ctx workflow.Context, cfg RunConfig, spec train.JobSpec, prog *Progress) (activities.TrainSegmentOutput, error) {
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:          TrainingWorkflowID(id),
		WaitForCancellation: true,
		WorkflowRunTimeout:  30 * 24 * time.Hour,
	})
	fut := workflow.ExecuteChildWorkflow(cctx, Training, TrainingInput{Config: cfg, Spec: spec, KeyPrefix: id, ParentID: id})
	ch := workflow.GetSignalChannel(ctx, trainingProgressSignal)
	var out activities.TrainSegmentOutput
	done := false
	var err error
	for !done {
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(fut, func(f workflow.Future) { err = f.Get(ctx, &out); done = true })
		sel.AddReceive(ch, func(c workflow.ReceiveChannel, _ bool) {
			var p TrainingProgress
			c.Receive(ctx, &p)
			prog.Step, prog.Loss, prog.Backend, prog.Segment = p.Step, p.Loss, p.Backend, p.Segment
		})
		sel.Select(ctx)
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == ErrTypeAborted {
		prog.Stage = "aborted"
	}
	return out, err
}

// TrainingWorkflowID is the ID of a pipeline run's training child workflow,
// the one to signal with PauseSignal, ResumeSignal and AbortSignal.
func TrainingWorkflowID(pipelineID string) string { return pipelineID + "/training" }
