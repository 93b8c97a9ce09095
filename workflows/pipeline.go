package workflows

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/supplyline/supplyline/activities"
	"github.com/supplyline/supplyline/train"
)

// ProgressQuery is the query name that returns a Progress.
const ProgressQuery = "progress"

// PipelineInput is the pipeline workflow's one input.
type PipelineInput struct {
	Config RunConfig
	// LogicalDate is the date the run is for. Zero means the schedule's
	// scheduled time when a Schedule started the run, else the start time.
	LogicalDate time.Time
}

// PipelineOutput is what a finished run returns.
type PipelineOutput struct {
	RunDir      string
	LogicalDate time.Time
	Ingest      activities.IngestOutput
	Tokenize    activities.TokenizeOutput
	Train       activities.TrainSegmentOutput
	Eval        activities.EvaluateOutput
	// Promotion is the champion workflow's decision when the run config asked for one.
	Promotion *activities.PromoteResult `json:",omitempty"`
}

// Progress is what ProgressQuery returns.
type Progress struct {
	// Stage is one of "starting", "ingest", "tokenize", "train", "evaluate", "promote", "done", "failed", "aborted".
	Stage       string
	LogicalDate time.Time
	// Step and Loss are those of the last finished training segment.
	Step       int
	TargetStep int
	Loss       float64
	Backend    string
	Segment    int
	Error      string `json:",omitempty"`
}

// scheduledStartTime is the search attribute a Temporal Schedule sets on the
// runs it starts.
var scheduledStartTime = temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")

// Pipeline runs Ingest → Tokenize → Train (in segments) → Evaluate.
func Pipeline(ctx workflow.Context, in PipelineInput) (PipelineOutput, error) {
	var a *activities.Activities
	cfg := in.Config.WithDefaults()
	prog := Progress{Stage: "starting", TargetStep: cfg.Steps}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (Progress, error) { return prog, nil }); err != nil {
		return PipelineOutput{}, err
	}
	fail := func(err error) (PipelineOutput, error) {
		if prog.Stage != "aborted" {
			prog.Stage = "failed"
		}
		prog.Error = err.Error()
		return PipelineOutput{}, err
	}
	if err := cfg.Validate(); err != nil {
		return fail(temporal.NewNonRetryableApplicationError("run config: "+err.Error(), activities.ErrTypeInvalidConfig, err))
	}

	logical := in.LogicalDate
	if logical.IsZero() {
		if t, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(scheduledStartTime); ok {
			logical = t
		}
	}
	if logical.IsZero() {
		logical = workflow.Now(ctx)
	}
	prog.LogicalDate = logical.UTC()
	info := workflow.GetInfo(ctx)
	runDir := filepath.Join(cfg.WorkDir, info.WorkflowExecution.ID)
	out := PipelineOutput{RunDir: runDir, LogicalDate: prog.LogicalDate}

	prog.Stage = "ingest"
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, IngestOptions), a.Ingest, activities.IngestInput{
		Inputs: cfg.Inputs, OutDir: filepath.Join(runDir, "ingest"), S3: cfg.S3, TolerateBadFiles: cfg.TolerateBadFiles,
	}).Get(ctx, &out.Ingest)
	if err != nil {
		return fail(err)
	}

	prog.Stage = "tokenize"
	err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, TokenizeOptions), a.Tokenize, activities.TokenizeInput{
		CanonicalDir: out.Ingest.CanonicalDir,
		OutDir:       filepath.Join(runDir, "shards"),
		VocabSize:    cfg.VocabSize,
		Cutoff:       cfg.cutoff(out.Ingest.MinTime, out.Ingest.MaxTime),
		InputHash:    out.Ingest.ContentHash,
		CacheDir:     filepath.Join(cfg.WorkDir, "cache", "shards"),
	}).Get(ctx, &out.Tokenize)
	if err != nil {
		return fail(err)
	}

	prog.Stage = "train"
	model := cfg.Model
	model.VocabSize = out.Tokenize.VocabSize
	template := train.JobSpec{
		ShardManifest: out.Tokenize.ManifestPath,
		Model:         model,
		Hyper:         cfg.Hyper,
		Seed:          cfg.Seed,
		WorldSize:     cfg.WorldSize,
		CheckpointDir: filepath.Join(runDir, "checkpoints"),
	}
	if workflow.GetVersion(ctx, "training-child-workflow", workflow.DefaultVersion, 1) >= 1 {
		// Training runs as a child workflow: it takes pause, resume and
		// abort signals and continues as new on long runs.
		if out.Train, err = runTrainingChild(ctx, cfg, template, &prog); err != nil {
			return fail(err)
		}
	} else {
		// Runs started before the training workflow existed train inline.
		resume := ""
		for seg, step := 0, 0; step < cfg.Steps; seg++ {
			spec := template
			spec.IdempotencyKey = fmt.Sprintf("%s/seg-%04d", info.WorkflowExecution.ID, seg)
			spec.ResumeFrom = resume
			spec.TargetStep = min(step+cfg.SegmentSteps, cfg.Steps)
			prog.Segment = seg
			seg, err := trainSegment(ctx, cfg, spec)
			if err != nil {
				return fail(err)
			}
			out.Train = seg
			step, resume = seg.Step, seg.Checkpoint
			prog.Step, prog.Loss, prog.Backend = seg.Step, seg.Loss, seg.Backend
		}
	}

	prog.Stage = "evaluate"
	err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, EvaluateOptions), a.Evaluate, activities.EvaluateInput{
		RunID:         info.WorkflowExecution.ID,
		CheckpointDir: out.Train.Checkpoint,
		ShardManifest: out.Tokenize.ManifestPath,
		OutDir:        filepath.Join(runDir, "eval"),
		Seed:          cfg.Seed,
		Backend:       out.Train.Backend,
		Options:       cfg.Eval,
		Cutoff:        out.Tokenize.Cutoff,
		CanonicalDir:  out.Ingest.CanonicalDir,
	}).Get(ctx, &out.Eval)
	if err != nil {
		return fail(err)
	}

	// Added after the first recorded histories: versioned so that runs
	// started before it replay unchanged.
	if workflow.GetVersion(ctx, "memo-and-promotion", workflow.DefaultVersion, 1) >= 1 {
		memo := map[string]any{"scorecard": map[string]any{
			"bits_per_byte": out.Eval.BitsPerByte, "unigram_bits_per_byte": out.Eval.UnigramBitsPerByte,
			"model_cost": out.Eval.ModelCost, "best_baseline_cost": out.Eval.BaselineCost, "gap": out.Eval.Gap,
			"step": out.Train.Step, "backend": out.Train.Backend,
		}}
		if err := workflow.UpsertMemo(ctx, memo); err != nil {
			return fail(err)
		}
		if cfg.Promote {
			prog.Stage = "promote"
			var res activities.PromoteResult
			err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, PromoteOptions), a.Promote, activities.PromoteInput{
				ScorecardPath: out.Eval.ScorecardPath, Rule: cfg.PromotionRule, TaskQueue: info.TaskQueueName,
			}).Get(ctx, &res)
			if err != nil {
				return fail(err)
			}
			out.Promotion = &res
		}
	}
	prog.Stage = "done"
	return out, nil
}

// trainSegment runs one segment on the first backend of the preference list
// that has capacity. A backend that reports no capacity hands over to the
// next; when none has any, the workflow waits and tries the list again.
func trainSegment(ctx workflow.Context, cfg RunConfig, spec train.JobSpec) (activities.TrainSegmentOutput, error) {
	var a *activities.Activities
	actx := workflow.WithActivityOptions(ctx, TrainSegmentOptions)
	var last error
	for round := 0; round < cfg.CapacityRounds; round++ {
		if round > 0 {
			if err := workflow.Sleep(ctx, time.Duration(cfg.CapacityWaitSeconds)*time.Second); err != nil {
				return activities.TrainSegmentOutput{}, err
			}
		}
		for _, backend := range cfg.Backends {
			var out activities.TrainSegmentOutput
			err := workflow.ExecuteActivity(actx, a.TrainSegment, activities.TrainSegmentInput{Backend: backend, Spec: spec}).Get(ctx, &out)
			if err == nil {
				return out, nil
			}
			var appErr *temporal.ApplicationError
			if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeNoCapacity {
				workflow.GetLogger(ctx).Warn("backend has no capacity, trying the next", "backend", backend, "error", err)
				last = err
				continue
			}
			return activities.TrainSegmentOutput{}, err
		}
	}
	return activities.TrainSegmentOutput{}, fmt.Errorf("no training backend of %v had capacity after %d rounds: %w", cfg.Backends, cfg.CapacityRounds, last)
}
