package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/supplyline/supplyline/activities"
)

// TaskQueue is the task queue the worker polls and the CLI starts runs on.
const TaskQueue = "supplyline"

// Activity options, in one visible place. Permanent failures are listed by
// type in NonRetryableErrorTypes, the same constants the activities use.
var (
	// IngestOptions: ingest streams files; it heartbeats per file.
	IngestOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Hour,
		HeartbeatTimeout:    2 * time.Minute,
		RetryPolicy:         retry,
	}
	// TokenizeOptions: BPE training and encoding.
	TokenizeOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Hour,
		HeartbeatTimeout:    2 * time.Minute,
		RetryPolicy:         retry,
	}
	// TrainSegmentOptions: one segment of training steps. The activity polls
	// its job and heartbeats every few seconds, so a lost worker is noticed
	// within HeartbeatTimeout and the retry reattaches to the running job.
	TrainSegmentOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 6 * time.Hour,
		HeartbeatTimeout:    30 * time.Second,
		WaitForCancellation: true,
		RetryPolicy:         retry,
	}
	// EvaluateOptions: simulators and held-out loss with Go inference.
	EvaluateOptions = workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    2 * time.Minute,
		RetryPolicy:         retry,
	}
	// PromoteOptions: one Update round trip to the champion workflow.
	PromoteOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         retry,
	}
)

var retry = &temporal.RetryPolicy{
	InitialInterval:        time.Second,
	BackoffCoefficient:     2,
	MaximumInterval:        time.Minute,
	MaximumAttempts:        5,
	NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
}
