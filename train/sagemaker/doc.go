// Package sagemaker is the train.Launcher that runs the trainer as Amazon
// SageMaker training jobs (aws-sdk-go-v2 CreateTrainingJob) on Trainium
// (ml.trn1.32xlarge, ml.trn1n.32xlarge, ml.trn2.48xlarge) or GPU
// (ml.p5.48xlarge, ml.p4d.24xlarge) instances.
//
// # Idempotency
//
// A job's name is derived from the idempotency key (JobName: "sl-", a
// readable form of the key, 12 hex digits of its SHA-256), and SageMaker
// never reuses a name. Submit first looks the name up with
// DescribeTrainingJob and returns the job it finds, so a retried activity or
// a restarted worker reattaches and nothing starts twice; a concurrent
// Submit that loses the race gets ResourceInUse and reattaches too. The one
// exception is a job that failed for lack of capacity, which never ran:
// the next Submit of its key starts incarnation 1, 2, ... ("-rN" names).
// The key is also the job's SUPPLYLINE_IDEMPOTENCY_KEY environment entry,
// checked on reattach.
//
// # What a job gets
//
//   - The source archive <CodeS3URI>/<job>/sourcedir.tar.gz (see archive.go):
//     the embedded trainer, its SageMaker entry point sagemaker_entry.py and
//     the loader library, whose highest GLIBC_x.y need (read from
//     .gnu.version_r) is recorded in the tags and hyperparameters and checked
//     against Options.ImageGLIBC before anything is uploaded.
//   - One input channel, "shards", an S3 prefix with FullyReplicated
//     distribution: every instance has every shard, since the loader's
//     global sample order is independent of the world size.
//   - CheckpointConfig: one S3 prefix per workflow, /opt/ml/checkpoints in
//     the container, so segments and spot restarts resume from each other.
//     A local ResumeFrom (a run that failed over from the local backend) is
//     uploaded there first.
//   - Managed spot (MaxWaitTimeInSeconds ≥ MaxRuntimeInSeconds), a
//     RetryStrategy, tags with the workflow ID, segment, key and backend.
//   - sagemaker_torch_distributed_enabled: the training toolkit runs the
//     entry point under torchrun, one rank per GPU or NeuronCore. On
//     Trainium the environment selects the trainer's XLA path and points
//     NEURON_COMPILE_CACHE_URL at a persistent S3 cache keyed by the Neuron
//     SDK version.
//
// # Progress and logs
//
// Rank 0's entry point copies each progress line into
// /opt/ml/checkpoints/_progress/<job>.json, which SageMaker syncs to the
// checkpoint URI; Describe reads it through dataset/blob and falls back to
// FinalMetricDataList (from MetricDefinitions over the log). Logs returns
// ErrLogsUnavailable: the output is in CloudWatch Logs, out of scope here.
//
// # Checkpoints back on the worker
//
// A launcher's succeeded job has its final checkpoint in the spec's
// CheckpointDir (activities.TrainSegment reads it there with
// train.LatestCheckpoint), but a SageMaker job's checkpoints are in S3.
// So Submit records the spec's CheckpointDir and TargetStep in
// <CodeS3URI>/<job>/supplyline_job.json, and Describe, when it finds the
// job Completed, copies the checkpoint at TargetStep (the one the S3
// latest names, else the highest step-* directory at that step) into a
// local CheckpointDir, weights, optimizer state and state.json through a
// temporary directory, then latest, atomically. Any worker can do it, a
// restarted one included; a Describe that finds the copy in place reads
// nothing from S3. A job that left no complete checkpoint is reported
// failed with the missing S3 key; an s3:// CheckpointDir needs no copy.
//
// # Capacity
//
// ResourceLimitExceeded from CreateTrainingJob (a quota) and a job that
// fails with CapacityError or InsufficientInstanceCapacity while starting
// both surface as *train.CapacityError (errors.Is train.ErrNoCapacity), from
// Submit and from Describe respectively, so the pipeline moves on to its
// next backend.
//
// # Testing
//
// The tests drive the real SDK against internal/sagemakertest, a local
// server that speaks SageMaker's JSON 1.1 protocol for CreateTrainingJob,
// DescribeTrainingJob and StopTrainingJob and walks jobs through scripted
// states, with S3 on a real versitygw (internal/s3test). They prove that
// requests serialise, sign and carry what we meant (golden files of the
// exact request bodies in testdata/, go test -update rewrites them), that
// state mapping, idempotency, stop and capacity handling behave as
// documented, that a completed job's checkpoint (which the fake writes to
// the checkpoint URI as the job completes) is copied home once and only
// once, by a restarted launcher too, that errors are decoded the way the
// SDK decodes SageMaker's, and that the source archive in S3 holds what the
// entry point expects.
// They do not prove that AWS accepts the requests (IAM, quotas, service-side
// validation beyond the few constraints the fake checks), that the images
// named here exist or start, that the toolkit runs our entry point as
// assumed, that Neuron compiles the model, or anything about real timing,
// spot interruptions or SageMaker's own checkpoint upload (its order, and
// that it is done by Completed); those need an AWS account.
package sagemaker
