package sagemaker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/supplyline/supplyline/dataset/blob"
	"github.com/supplyline/supplyline/train"
)

// Describe reports the job's state from DescribeTrainingJob:
//
//	TrainingJobStatus  SecondaryStatus                         train.JobState
//	InProgress         Starting, Pending, LaunchingMLInstances,
//	                   PreparingTrainingStack, Downloading,
//	                   DownloadingTrainingImage, Interrupted,
//	                   Restarting                              pending
//	InProgress         Training, Uploading, anything else      running
//	Stopping           any                                     running (until Stopped)
//	Completed          any                                     succeeded, once the final
//	                                                           checkpoint is in CheckpointDir
//	                                                           (failed if it is not in S3)
//	Failed             any                                     failed
//	Stopped            any                                     stopped
//
// Message is the FailureReason, or for a stopped job why it stopped
// (MaxRuntimeExceeded, MaxWaitTimeExceeded or a request).
//
// A completed job has left its checkpoints in S3, but the launcher
// contract is that a succeeded job's final checkpoint is in the spec's
// CheckpointDir, where train.LatestCheckpoint finds it. So when the job is
// Completed and CheckpointDir is a local path, Describe first copies the
// checkpoint at the spec's TargetStep (the one the S3 latest object names,
// else the highest step-* directory at that step) into it, latest last; a
// later Describe finds the copy and downloads nothing. A job that left no
// complete checkpoint at its target step is reported failed, with a
// message naming the S3 key that is missing. While the copy fails for a
// reason that may pass (S3, the local disk), Describe returns the error
// and reports the job running, never succeeded.
//
// Progress comes from the progress object the entry point keeps at
// <checkpoint URI>/_progress/<job name>.json (the last progress line the
// trainer printed, written under /opt/ml/checkpoints, which SageMaker copies
// to S3 as it changes); its Checkpoint is rewritten from /opt/ml/checkpoints
// to the checkpoint URI. Without that object, Progress is filled from
// FinalMetricDataList (step, loss, tokens_per_sec). A job that failed for
// lack of capacity returns its status and a *train.CapacityError, so the
// caller fails over to its next backend.
func (l *Launcher) Describe(ctx context.Context, id train.JobID) (train.JobStatus, error) {
	st := train.JobStatus{ID: id, ExitCode: -1}
	out, err := l.describe(ctx, string(id))
	if err != nil {
		return st, err
	}
	st.State = jobState(out.TrainingJobStatus, out.SecondaryStatus)
	st.StartedAt = aws.ToTime(out.TrainingStartTime)
	if st.StartedAt.IsZero() {
		st.StartedAt = aws.ToTime(out.CreationTime)
	}
	if st.State.Final() {
		st.EndedAt = aws.ToTime(out.TrainingEndTime)
		if st.EndedAt.IsZero() {
			st.EndedAt = aws.ToTime(out.LastModifiedTime)
		}
	}
	switch st.State {
	case train.StateSucceeded:
		st.ExitCode = 0
	case train.StateFailed:
		st.Message = aws.ToString(out.FailureReason)
		st.ExitCode = exitCode(st.Message)
	case train.StateStopped:
		st.Message = stopReason(out.SecondaryStatus)
	}

	if st.State == train.StateSucceeded {
		failure, err := l.syncCheckpoint(ctx, out)
		if err != nil {
			// Not done until the checkpoint is home: a caller that polls
			// on sees the job still running, and the next Describe
			// tries the copy again.
			st.State, st.ExitCode, st.EndedAt = train.StateRunning, -1, time.Time{}
			st.Message = "copying the final checkpoint from S3"
			return st, err
		}
		if failure != "" {
			st.State, st.Message = train.StateFailed, failure
		}
	}

	p, ok, err := l.progress(ctx, out)
	if err != nil {
		l.log.Warn("reading progress object", "job", id, "error", err)
	}
	if !ok {
		p = metricProgress(out.FinalMetricDataList)
	}
	st.Progress = p

	if isCapacityFailure(out) {
		return st, &train.CapacityError{Backend: l.Name(), Reason: st.Message}
	}
	return st, nil
}

func jobState(status types.TrainingJobStatus, secondary types.SecondaryStatus) train.JobState {
	switch status {
	case types.TrainingJobStatusCompleted:
		return train.StateSucceeded
	case types.TrainingJobStatusFailed:
		return train.StateFailed
	case types.TrainingJobStatusStopped:
		return train.StateStopped
	case types.TrainingJobStatusStopping:
		return train.StateRunning
	}
	switch secondary {
	case types.SecondaryStatusStarting, types.SecondaryStatusPending, types.SecondaryStatusLaunchingMlInstances,
		types.SecondaryStatusPreparingTrainingStack, types.SecondaryStatusDownloading,
		types.SecondaryStatusDownloadingTrainingImage, types.SecondaryStatusInterrupted, types.SecondaryStatusRestarting:
		return train.StatePending
	}
	return train.StateRunning
}

func stopReason(secondary types.SecondaryStatus) string {
	switch secondary {
	case types.SecondaryStatusMaxRuntimeExceeded:
		return "stopped by SageMaker: MaxRuntimeInSeconds exceeded"
	case types.SecondaryStatusMaxWaitTimeExceeded:
		return "stopped by SageMaker: MaxWaitTimeInSeconds exceeded waiting for spot capacity"
	}
	return "stopped on request"
}

// exitCodeRe finds the exit code in failure reasons such as
// "AlgorithmError: ExecuteUserScriptError: ... exit code 1".
var exitCodeRe = regexp.MustCompile(`(?i)exit (?:code|status)[ :]*(\d+)`)

func exitCode(reason string) int {
	if m := exitCodeRe.FindStringSubmatch(reason); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil {
			return n
		}
	}
	return -1
}

// progressKey is the progress object's key under the checkpoint URI.
func progressKey(job string) string { return progressDir + "/" + job + ".json" }

// progress reads the progress object of the job described by out.
func (l *Launcher) progress(ctx context.Context, out *sm.DescribeTrainingJobOutput) (train.Progress, bool, error) {
	var p train.Progress
	if out.CheckpointConfig == nil || aws.ToString(out.CheckpointConfig.S3Uri) == "" {
		return p, false, nil
	}
	ckpt := strings.TrimRight(aws.ToString(out.CheckpointConfig.S3Uri), "/")
	st, err := blob.OpenURI(ctx, ckpt, l.opts.S3)
	if err != nil {
		return p, false, err
	}
	r, err := st.Open(ctx, progressKey(aws.ToString(out.TrainingJobName)))
	if errors.Is(err, blob.ErrNotExist) {
		return p, false, nil
	} else if err != nil {
		return p, false, err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return p, false, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, false, fmt.Errorf("progress object: %w", err)
	}
	local := aws.ToString(out.CheckpointConfig.LocalPath)
	if local == "" {
		local = localCheckpoints
	}
	if rest, ok := strings.CutPrefix(p.Checkpoint, strings.TrimRight(local, "/")+"/"); ok {
		p.Checkpoint = ckpt + "/" + rest
	}
	return p, true, nil
}

// metricProgress fills Progress from the final metrics that SageMaker parsed
// from the log with metricDefinitions.
func metricProgress(metrics []types.MetricData) train.Progress {
	var p train.Progress
	for _, m := range metrics {
		v := float64(aws.ToFloat32(m.Value))
		switch aws.ToString(m.MetricName) {
		case "step":
			p.Step = int(math.Round(v))
		case "loss":
			p.Loss = v
		case "tokens_per_sec":
			p.TokensPerSec = v
		}
	}
	return p
}
