package sagemaker

import (
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/supplyline/supplyline/train"
)

// Paths inside the training container, fixed by SageMaker.
const (
	localCheckpoints = "/opt/ml/checkpoints"
	shardsChannel    = "shards"
)

// Keys the launcher puts on a job. Tags are for people and cost reports;
// the environment is what Describe reads back (DescribeTrainingJob returns
// it, but not the tags).
const (
	tagPrefix      = "supplyline:"
	envKey         = "SUPPLYLINE_IDEMPOTENCY_KEY"
	envWorkflowID  = "SUPPLYLINE_WORKFLOW_ID"
	envJobName     = "SUPPLYLINE_JOB_NAME"
	envDevice      = "SUPPLYLINE_DEVICE"
	envLoaderLib   = "SUPPLYLINE_LOADER_LIB"
	envNeuronSDK   = "SUPPLYLINE_NEURON_SDK_VERSION"
	envNeuronCache = "NEURON_COMPILE_CACHE_URL"
	progressDir    = "_progress"
)

// job is everything createRequest needs beyond the Options.
type job struct {
	name        string
	key         string
	incarnation int
	spec        train.JobSpec
	sourceURI   string // s3://.../sourcedir.tar.gz
	sourceSHA   string
	shardsURI   string
	ckptURI     string
	glibc       string // "GLIBC_2.34"
	region      string
	image       string
}

// metricDefinitions let SageMaker chart the trainer's progress lines (from
// its CloudWatch log) and fill FinalMetricDataList, Describe's fallback for
// progress.
var metricDefinitions = []types.MetricDefinition{
	{Name: aws.String("step"), Regex: aws.String(`SUPPLYLINE_PROGRESS \{"step": ([0-9]+)`)},
	{Name: aws.String("loss"), Regex: aws.String(`SUPPLYLINE_PROGRESS .*"loss": ([-+0-9.eE]+|NaN)`)},
	{Name: aws.String("tokens_per_sec"), Regex: aws.String(`SUPPLYLINE_PROGRESS .*"tokens_per_sec": ([-+0-9.eE]+)`)},
}

// hpJSON encodes a hyperparameter value as the SageMaker Python SDK does for
// framework estimators, so that the training toolkit decodes it: strings
// are JSON strings ("\"entry.py\""), booleans and numbers bare.
func hpJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// createRequest builds the CreateTrainingJob request.
//
// Distribution: sagemaker_torch_distributed_enabled=true makes the training
// toolkit start the entry point with torchrun on every instance, one rank per
// GPU or NeuronCore, and it is the SDK's torch_distributed option, the one
// that supports Trainium. We do not use sagemaker_distributed_dataparallel
// (SMDDP): a GPU-only collective library that DDP over NCCL does not need.
func (l *Launcher) createRequest(j job) *sm.CreateTrainingJobInput {
	o := l.opts
	wf, seg := workflowID(j.key)

	hp := map[string]string{
		"sagemaker_program":                   hpJSON(entryScript),
		"sagemaker_submit_directory":          hpJSON(j.sourceURI),
		"sagemaker_region":                    hpJSON(j.region),
		"sagemaker_job_name":                  hpJSON(j.name),
		"sagemaker_container_log_level":       "20",
		"sagemaker_torch_distributed_enabled": "true",
		"supplyline_source_sha256":            hpJSON(j.sourceSHA),
		"supplyline_loader_glibc":             hpJSON(j.glibc),
		"supplyline_target_step":              strconv.Itoa(j.spec.TargetStep),
	}
	env := map[string]string{
		"PYTHONUNBUFFERED": "1",
		envLoaderLib:       path.Join(codeDirOnHost, archiveLib),
		envWorkflowID:      truncate(wf, 512),
		envJobName:         j.name,
		envDevice:          "cuda",
	}
	if o.trainium() {
		hp["supplyline_neuron_sdk_version"] = hpJSON(o.NeuronSDKVersion)
		env[envDevice] = "xla"
		env[envNeuronSDK] = o.NeuronSDKVersion
		env[envNeuronCache] = o.NeuronCacheS3URI
	}
	maps.Copy(hp, o.HyperParameters)
	maps.Copy(env, o.Environment)
	env[envKey] = j.key

	tags := map[string]string{
		tagPrefix + "workflow-id":     wf,
		tagPrefix + "idempotency-key": j.key,
		tagPrefix + "backend":         o.Backend,
		tagPrefix + "loader-glibc":    j.glibc,
		tagPrefix + "incarnation":     strconv.Itoa(j.incarnation),
	}
	if seg != "" {
		tags[tagPrefix+"segment"] = seg
	}
	if o.trainium() {
		tags[tagPrefix+"neuron-sdk"] = o.NeuronSDKVersion
	}
	for k, v := range o.Tags {
		if _, ok := tags[k]; !ok {
			tags[k] = v
		}
	}
	var tagList []types.Tag
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		tagList = append(tagList, types.Tag{Key: aws.String(tagValue(k)), Value: aws.String(tagValue(tags[k]))})
	}

	in := &sm.CreateTrainingJobInput{
		TrainingJobName: aws.String(j.name),
		RoleArn:         aws.String(o.RoleARN),
		AlgorithmSpecification: &types.AlgorithmSpecification{
			TrainingImage:     aws.String(j.image),
			TrainingInputMode: types.TrainingInputModeFile,
			MetricDefinitions: metricDefinitions,
		},
		HyperParameters: hp,
		Environment:     env,
		InputDataConfig: []types.Channel{{
			ChannelName: aws.String(shardsChannel),
			InputMode:   types.TrainingInputModeFile,
			DataSource: &types.DataSource{S3DataSource: &types.S3DataSource{
				S3DataType: types.S3DataTypeS3Prefix,
				S3Uri:      aws.String(j.shardsURI),
				// Every instance gets every shard: the loader's global order
				// does not depend on the world size, and each rank picks its
				// own slice of it.
				S3DataDistributionType: types.S3DataDistributionFullyReplicated,
			}},
		}},
		CheckpointConfig: &types.CheckpointConfig{
			S3Uri:     aws.String(j.ckptURI),
			LocalPath: aws.String(localCheckpoints),
		},
		OutputDataConfig: &types.OutputDataConfig{S3OutputPath: aws.String(o.OutputS3URI)},
		ResourceConfig: &types.ResourceConfig{
			InstanceType:   types.TrainingInstanceType(o.InstanceType),
			InstanceCount:  aws.Int32(int32(o.InstanceCount)),
			VolumeSizeInGB: aws.Int32(int32(o.VolumeSizeGB)),
		},
		StoppingCondition: &types.StoppingCondition{MaxRuntimeInSeconds: aws.Int32(int32(o.MaxRuntime.Seconds()))},
		Tags:              tagList,
	}
	if o.Spot {
		in.EnableManagedSpotTraining = aws.Bool(true)
		in.StoppingCondition.MaxWaitTimeInSeconds = aws.Int32(int32(o.MaxWait.Seconds()))
	}
	if o.RetryAttempts > 0 {
		in.RetryStrategy = &types.RetryStrategy{MaximumRetryAttempts: aws.Int32(int32(o.RetryAttempts))}
	}
	return in
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// shardsURI is the S3 prefix of the shards channel for spec.
func (l *Launcher) shardsURI(spec train.JobSpec) (string, error) {
	if l.opts.ShardsS3URI != "" {
		return strings.TrimRight(l.opts.ShardsS3URI, "/") + "/", nil
	}
	if !strings.HasPrefix(spec.ShardManifest, "s3://") {
		return "", fmt.Errorf("%w: shard_manifest %q is not an s3:// URI and Options.ShardsS3URI is empty: SageMaker reads shards from S3", train.ErrInvalidSpec, spec.ShardManifest)
	}
	dir := spec.ShardManifest
	if strings.HasSuffix(dir, ".json") {
		dir = dir[:strings.LastIndex(dir, "/")]
	}
	return strings.TrimRight(dir, "/") + "/", nil
}

// checkpointURI is the CheckpointConfig S3 URI for spec: its own
// CheckpointDir when that is in S3, else one prefix per workflow, so that the
// segments of a run see each other's checkpoints under /opt/ml/checkpoints.
func (l *Launcher) checkpointURI(spec train.JobSpec) string {
	if strings.HasPrefix(spec.CheckpointDir, "s3://") {
		return strings.TrimRight(spec.CheckpointDir, "/")
	}
	wf, _ := workflowID(spec.IdempotencyKey)
	return l.opts.CheckpointS3URI + "/" + s3Segment(wf)
}
