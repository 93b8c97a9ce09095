package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/supplyline/supplyline/train"
)

// TrainSegmentInput is one segment of training: steps up to Spec.TargetStep on one backend.
type TrainSegmentInput struct {
	// Backend names the launcher to use (a key of Activities.Launchers).
	Backend string
	Spec    train.JobSpec
}

// TrainSegmentOutput says where the segment ended.
type TrainSegmentOutput struct {
	Backend      string
	JobID        string
	Step         int
	Loss         float64
	TokensPerSec float64
	// Checkpoint is the directory of the checkpoint written at Step.
	Checkpoint string
}

// TrainHeartbeat is the heartbeat detail of a training segment, visible in
// the Temporal UI's pending activity and in `supplyline status`.
type TrainHeartbeat struct {
	Backend  string
	JobID    string
	State    train.JobState
	Progress train.Progress
}

// TrainSegment submits (or, on a retry, reattaches to) the segment's job and
// follows it to the end, heartbeating step and loss. If the activity is
// cancelled the job is stopped.
func (a *Activities) TrainSegment(ctx context.Context, in TrainSegmentInput) (TrainSegmentOutput, error) {
	l, ok := a.Launchers[in.Backend]
	if !ok {
		return TrainSegmentOutput{}, permanent(ErrTypeUnknownBackend, fmt.Errorf("train: this worker has no backend %q", in.Backend))
	}
	spec := in.Spec
	if spec.LoaderLib == "" {
		spec.LoaderLib = a.LoaderLib
	}
	logger := activity.GetLogger(ctx)

	// Submit is idempotent by key, so a retried activity finds the job its
	// earlier attempt started instead of starting another.
	id, err := l.Submit(ctx, spec)
	if err != nil {
		return TrainSegmentOutput{}, trainError(err)
	}
	if attempt := activity.GetInfo(ctx).Attempt; attempt > 1 {
		// An earlier attempt was cancelled and stopped its job (a stopped job
		// never restarts under its key): start a new incarnation of the
		// segment from the newest checkpoint, keyed by this attempt so that
		// this attempt's own retries still reattach to it.
		if st, err := l.Describe(ctx, id); err == nil && st.State == train.StateStopped {
			spec.IdempotencyKey = fmt.Sprintf("%s/attempt-%d", spec.IdempotencyKey, attempt)
			if spec.ResumeFrom, err = resumePoint(spec); err != nil {
				return TrainSegmentOutput{}, err
			}
			if id, err = l.Submit(ctx, spec); err != nil {
				return TrainSegmentOutput{}, trainError(err)
			}
		}
	}
	logger.Info("training segment", "backend", in.Backend, "job", id, "target_step", spec.TargetStep)

	tick := time.NewTicker(a.pollInterval())
	defer tick.Stop()
	last := TrainHeartbeat{Backend: in.Backend, JobID: string(id)}
	for {
		st, err := describeBeating(ctx, l, id, last)
		if err != nil && ctx.Err() == nil {
			return TrainSegmentOutput{}, trainError(err)
		}
		last = TrainHeartbeat{Backend: in.Backend, JobID: string(id), State: st.State, Progress: st.Progress}
		activity.RecordHeartbeat(ctx, last)
		switch st.State {
		case train.StateSucceeded:
			ckpt, err := train.LatestCheckpoint(spec.CheckpointDir)
			if err != nil {
				return TrainSegmentOutput{}, err
			}
			if ckpt == "" {
				return TrainSegmentOutput{}, permanent(ErrTypeTrainJobFailed, fmt.Errorf("train job %s succeeded but wrote no checkpoint in %s", id, spec.CheckpointDir))
			}
			s, err := train.ReadState(ckpt)
			if err != nil {
				return TrainSegmentOutput{}, permanent(ErrTypeTrainJobFailed, err)
			}
			if s.Step != spec.TargetStep {
				return TrainSegmentOutput{}, permanent(ErrTypeTrainJobFailed, fmt.Errorf("train job %s ended at step %d, want %d (checkpoint %s)", id, s.Step, spec.TargetStep, ckpt))
			}
			return TrainSegmentOutput{Backend: in.Backend, JobID: string(id), Step: s.Step, Loss: s.Loss, TokensPerSec: st.Progress.TokensPerSec, Checkpoint: ckpt}, nil
		case train.StateFailed, train.StateStopped:
			return TrainSegmentOutput{}, permanent(ErrTypeTrainJobFailed, fmt.Errorf("train job %s on %s %s (exit %d): %s", id, in.Backend, st.State, st.ExitCode, st.Message))
		}
		select {
		case <-activity.GetWorkerStopChannel(ctx):
			return TrainSegmentOutput{}, leaveRunning(ctx, id)
		case <-ctx.Done():
			// The worker's stop timeout also cancels ctx: tell the two apart.
			select {
			case <-activity.GetWorkerStopChannel(ctx):
				return TrainSegmentOutput{}, leaveRunning(ctx, id)
			default:
			}
			// The run was cancelled: stop the job so that nothing is left
			// behind. If this was a timeout instead, the retry finds the job
			// stopped and starts a new incarnation from the newest checkpoint.
			stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := l.Stop(stopCtx, id); err != nil {
				logger.Warn("stopping train job", "job", id, "error", err)
			}
			return TrainSegmentOutput{}, ctx.Err()
		case <-tick.C:
		}
	}
}

// describeBeating calls Describe while heartbeating the last known state:
// a Describe can take longer than the heartbeat timeout (the SageMaker
// launcher downloads the final checkpoint from S3 inside it).
func describeBeating(ctx context.Context, l train.Launcher, id train.JobID, last TrainHeartbeat) (train.JobStatus, error) {
	type result struct {
		st  train.JobStatus
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := l.Describe(ctx, id)
		done <- result{st, err}
	}()
	beat := time.NewTicker(5 * time.Second)
	defer beat.Stop()
	for {
		select {
		case r := <-done:
			return r.st, r.err
		case <-beat.C:
			activity.RecordHeartbeat(ctx, last)
		}
	}
}

// leaveRunning ends the activity without touching its job: the worker is
// shutting down (a deploy, a restart), and the retry on another worker
// reattaches to the job by its key.
func leaveRunning(ctx context.Context, id train.JobID) error {
	activity.GetLogger(ctx).Info("worker stopping; training job left running for reattach", "job", id)
	return fmt.Errorf("worker stopped while following train job %s; it keeps running and the retry reattaches", id)
}

// resumePoint is the newest checkpoint in spec.CheckpointDir when it is
// further along than spec.ResumeFrom (and not past the target), else spec.ResumeFrom.
func resumePoint(spec train.JobSpec) (string, error) {
	latest, err := train.LatestCheckpoint(spec.CheckpointDir)
	if err != nil || latest == "" {
		return spec.ResumeFrom, err
	}
	ls, err := train.ReadState(latest)
	if err != nil {
		return "", err
	}
	from := 0
	if spec.ResumeFrom != "" {
		fs, err := train.ReadState(spec.ResumeFrom)
		if err != nil {
			return "", err
		}
		from = fs.Step
	}
	if ls.Step > from && ls.Step < spec.TargetStep {
		return latest, nil
	}
	return spec.ResumeFrom, nil
}
