package sagemaker

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/supplyline/supplyline/dataset/blob"
)

// Options configure a Launcher. Only RoleARN and CodeS3URI are required: the
// zero value of every other field trains on one ml.trn1.32xlarge with the
// default Neuron image of the client's region, on-demand, with two retries.
type Options struct {
	// Backend is the name the launcher reports (train.Launcher.Name), the
	// key of activities.Activities.Launchers and of RunConfig.Backends.
	// Empty means "sagemaker-" and the instance family: "sagemaker-trn1",
	// "sagemaker-trn1n", "sagemaker-trn2", "sagemaker-p5", "sagemaker-p4d".
	Backend string `json:"backend,omitempty"`
	// InstanceType is one of InstanceTypes. Empty means ml.trn1.32xlarge.
	InstanceType string `json:"instance_type,omitempty"`
	// InstanceCount is the number of instances (nodes). Zero means 1.
	InstanceCount int `json:"instance_count,omitempty"`
	// VolumeSizeGB is each instance's ML storage volume. Zero means 100.
	VolumeSizeGB int `json:"volume_size_gb,omitempty"`
	// RoleARN is the IAM role SageMaker assumes to read the code and shards
	// and write checkpoints and output. Required.
	RoleARN string `json:"role_arn,omitempty"`
	// Region of the SageMaker API and of the default images. Empty means the
	// SDK's default chain (AWS_REGION, shared config), or us-east-1 when
	// that has none and Endpoint is set.
	Region string `json:"region,omitempty"`
	// Endpoint is the base URL of the SageMaker API. Empty means AWS; tests
	// set it to a local server.
	Endpoint string `json:"endpoint,omitempty"`
	// S3 configures the S3 client that uploads the source archive and reads
	// progress objects and checkpoints. The zero value talks to AWS.
	S3 blob.S3Options `json:"s3,omitzero"`

	// Image is the training image. Empty means DefaultImage(Region,
	// InstanceType): the AWS Deep Learning Container for PyTorch training on
	// GPU types and its Neuron variant on Trainium types.
	Image string `json:"image,omitempty"`
	// ImageGLIBC is the glibc version of Image ("2.35"). The loader library
	// is refused when it needs a newer one. Empty means DefaultImageGLIBC,
	// which is right for the default images only: set it whenever Image is set.
	ImageGLIBC string `json:"image_glibc,omitempty"`
	// NeuronSDKVersion records the Neuron SDK of the image (Trainium only),
	// in the tags, the hyperparameters and the compile cache's S3 key. Empty
	// means DefaultNeuronSDKVersion, the default Neuron image's.
	NeuronSDKVersion string `json:"neuron_sdk_version,omitempty"`

	// CodeS3URI is the s3://bucket/prefix under which each job's source
	// archive goes, as <CodeS3URI>/<job name>/sourcedir.tar.gz. Required.
	CodeS3URI string `json:"code_s3_uri,omitempty"`
	// ShardsS3URI is the S3 prefix of the shards the "shards" input channel
	// copies to every instance. Empty means the directory of the spec's
	// ShardManifest, which must then be an s3:// URI.
	ShardsS3URI string `json:"shards_s3_uri,omitempty"`
	// CheckpointS3URI is the root of the checkpoints: a job whose spec's
	// CheckpointDir is a local path checkpoints to
	// <CheckpointS3URI>/<workflow ID>/, shared by all segments of a run. A
	// spec whose CheckpointDir is an s3:// URI uses that URI instead. Empty
	// means <CodeS3URI>/checkpoints.
	CheckpointS3URI string `json:"checkpoint_s3_uri,omitempty"`
	// OutputS3URI is OutputDataConfig.S3OutputPath, where SageMaker puts
	// /opt/ml/model and /opt/ml/output. Empty means <CodeS3URI>/output.
	OutputS3URI string `json:"output_s3_uri,omitempty"`
	// NeuronCacheS3URI is the persistent Neuron compile cache (Trainium
	// only), a pipeline artefact kept across runs because first compiles
	// take tens of minutes. Empty means
	// <CodeS3URI>/neuron-cache/<NeuronSDKVersion>: compiled graphs are only
	// valid for the compiler that made them.
	NeuronCacheS3URI string `json:"neuron_cache_s3_uri,omitempty"`
	// LoaderLib is the loader's C shared library (linux/amd64) packed into
	// every source archive. A spec's own LoaderLib wins over it.
	LoaderLib string `json:"loader_lib,omitempty"`

	// Spot enables managed spot training: cheaper, interruptible, resumed by
	// SageMaker from /opt/ml/checkpoints.
	Spot bool `json:"spot,omitempty"`
	// MaxRuntime bounds the training time (StoppingCondition
	// MaxRuntimeInSeconds). Zero means 24h.
	MaxRuntime time.Duration `json:"max_runtime_ns,omitempty"`
	// MaxWait bounds training plus waiting for spot capacity
	// (MaxWaitTimeInSeconds); spot only, and at least MaxRuntime. Zero means
	// 2 × MaxRuntime.
	MaxWait time.Duration `json:"max_wait_ns,omitempty"`
	// RetryAttempts is RetryStrategy.MaximumRetryAttempts: how often
	// SageMaker retries a job that failed with an internal error (1-30).
	// Zero means 2; negative sends no RetryStrategy.
	RetryAttempts int `json:"retry_attempts,omitempty"`

	// Tags are added to every job's tags, after the launcher's own
	// ("supplyline:*"), which they cannot override.
	Tags map[string]string `json:"tags,omitempty"`
	// Environment is added to every job's environment; it may override the
	// launcher's own entries except SUPPLYLINE_IDEMPOTENCY_KEY.
	Environment map[string]string `json:"environment,omitempty"`
	// HyperParameters are added to every job's hyperparameters, as given
	// (the launcher's own are JSON-encoded like the SageMaker Python SDK's).
	HyperParameters map[string]string `json:"hyper_parameters,omitempty"`
	// Logger receives the launcher's structured logs. Nil means slog.Default().
	Logger *slog.Logger `json:"-"`
}

// InstanceTypes are the instance types a Launcher accepts, with whether each
// is Trainium (Neuron) rather than GPU.
var InstanceTypes = map[string]bool{
	"ml.trn1.32xlarge":  true,
	"ml.trn1n.32xlarge": true,
	"ml.trn2.48xlarge":  true,
	"ml.p5.48xlarge":    false,
	"ml.p4d.24xlarge":   false,
}

// Defaults for the zero values of Options.
const (
	DefaultInstanceType  = "ml.trn1.32xlarge"
	DefaultInstanceCount = 1
	DefaultVolumeSizeGB  = 100
	DefaultMaxRuntime    = 24 * time.Hour
	DefaultRetryAttempts = 2
)

// Default images. They are defaults to override, not a pin we vouch for:
// check the AWS Deep Learning Containers release notes (available_images.md
// in aws/deep-learning-containers) and set Options.Image, ImageGLIBC and
// NeuronSDKVersion together when you move on. Both are Ubuntu 22.04 images,
// hence glibc 2.35, which the loader built on this project's machines
// (GLIBC_2.34) fits.
//
// The registry is <account>.dkr.ecr.<region>.amazonaws.com, where account is
// DLCAccounts[region].
const (
	// DefaultGPUImageRepo and DefaultGPUImageTag: PyTorch training for
	// ml.p5 and ml.p4d (CUDA 12.4).
	DefaultGPUImageRepo = "pytorch-training"
	DefaultGPUImageTag  = "2.5.1-gpu-py311-cu124-ubuntu22.04-sagemaker"
	// DefaultNeuronImageRepo and DefaultNeuronImageTag: PyTorch training
	// with torch-neuronx (torch_xla) for ml.trn1, ml.trn1n and ml.trn2.
	DefaultNeuronImageRepo = "pytorch-training-neuronx"
	DefaultNeuronImageTag  = "2.5.1-neuronx-py310-sdk2.21.0-ubuntu22.04"
	// DefaultNeuronSDKVersion is the Neuron SDK of DefaultNeuronImageTag.
	DefaultNeuronSDKVersion = "2.21.0"
	// DefaultImageGLIBC is the glibc of both default images (Ubuntu 22.04).
	DefaultImageGLIBC = "2.35"
)

// DLCAccounts maps the regions with Trainium or P5/P4d capacity to the AWS
// account that publishes the Deep Learning Containers there. Other regions
// (opt-in regions use other accounts) need Options.Image.
var DLCAccounts = map[string]string{
	"us-east-1":      "763104351884",
	"us-east-2":      "763104351884",
	"us-west-2":      "763104351884",
	"eu-west-1":      "763104351884",
	"eu-central-1":   "763104351884",
	"eu-north-1":     "763104351884",
	"ap-northeast-1": "763104351884",
	"ap-south-1":     "763104351884",
	"ap-southeast-2": "763104351884",
}

// DefaultImage returns the default training image for instanceType in
// region, or an error wrapping ErrInvalidOptions for a region without one.
func DefaultImage(region, instanceType string) (string, error) {
	acct, ok := DLCAccounts[region]
	if !ok {
		return "", fmt.Errorf("%w: no default image for region %q: set Image", ErrInvalidOptions, region)
	}
	repo, tag := DefaultGPUImageRepo, DefaultGPUImageTag
	if InstanceTypes[instanceType] {
		repo, tag = DefaultNeuronImageRepo, DefaultNeuronImageTag
	}
	return fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s:%s", acct, region, repo, tag), nil
}

// Validate reports every problem with o at once. It checks what can be
// checked without the AWS config: the region's default image is checked by New.
func (o Options) Validate() error {
	var errs []error
	if o.InstanceType != "" {
		if _, ok := InstanceTypes[o.InstanceType]; !ok {
			errs = append(errs, fmt.Errorf("instance_type: %q is not one of %s", o.InstanceType, strings.Join(instanceTypeList(), ", ")))
		}
	}
	if o.InstanceCount < 0 {
		errs = append(errs, fmt.Errorf("instance_count: must not be negative, got %d", o.InstanceCount))
	}
	if o.VolumeSizeGB < 0 {
		errs = append(errs, fmt.Errorf("volume_size_gb: must not be negative, got %d", o.VolumeSizeGB))
	}
	if o.RoleARN == "" {
		errs = append(errs, errors.New("role_arn: required"))
	} else if !strings.HasPrefix(o.RoleARN, "arn:") || !strings.Contains(o.RoleARN, ":role/") {
		errs = append(errs, fmt.Errorf("role_arn: %q is not an IAM role ARN", o.RoleARN))
	}
	if o.CodeS3URI == "" {
		errs = append(errs, errors.New("code_s3_uri: required"))
	}
	for _, u := range []struct{ name, v string }{
		{"code_s3_uri", o.CodeS3URI}, {"shards_s3_uri", o.ShardsS3URI}, {"checkpoint_s3_uri", o.CheckpointS3URI},
		{"output_s3_uri", o.OutputS3URI}, {"neuron_cache_s3_uri", o.NeuronCacheS3URI},
	} {
		if u.v == "" {
			continue
		}
		if _, _, err := splitS3(u.v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", u.name, err))
		}
	}
	if o.ImageGLIBC != "" {
		if _, err := parseGLIBC("GLIBC_" + o.ImageGLIBC); err != nil {
			errs = append(errs, fmt.Errorf("image_glibc: %w", err))
		}
	}
	if o.MaxRuntime < 0 || o.MaxWait < 0 {
		errs = append(errs, fmt.Errorf("max_runtime, max_wait: must not be negative, got %s, %s", o.MaxRuntime, o.MaxWait))
	}
	if o.MaxRuntime%time.Second != 0 || o.MaxWait%time.Second != 0 {
		errs = append(errs, fmt.Errorf("max_runtime, max_wait: must be whole seconds, got %s, %s", o.MaxRuntime, o.MaxWait))
	}
	if o.MaxWait > 0 && !o.Spot {
		errs = append(errs, errors.New("max_wait: only applies to spot training"))
	}
	if o.Spot && o.MaxWait > 0 && o.MaxWait < max(o.MaxRuntime, 0) {
		errs = append(errs, fmt.Errorf("max_wait: %s is less than max_runtime %s", o.MaxWait, o.MaxRuntime))
	}
	if o.Spot && o.MaxWait > 0 && o.MaxRuntime == 0 && o.MaxWait < DefaultMaxRuntime {
		errs = append(errs, fmt.Errorf("max_wait: %s is less than the default max_runtime %s", o.MaxWait, DefaultMaxRuntime))
	}
	if o.RetryAttempts > 30 {
		errs = append(errs, fmt.Errorf("retry_attempts: at most 30, got %d", o.RetryAttempts))
	}
	for k := range o.Tags {
		if strings.HasPrefix(k, "aws:") || strings.HasPrefix(k, tagPrefix) {
			errs = append(errs, fmt.Errorf("tags: key %q uses a reserved prefix", k))
		}
	}
	if _, ok := o.Environment[envKey]; ok {
		errs = append(errs, fmt.Errorf("environment: %s is the launcher's", envKey))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	return nil
}

func instanceTypeList() []string {
	return []string{"ml.trn1.32xlarge", "ml.trn1n.32xlarge", "ml.trn2.48xlarge", "ml.p5.48xlarge", "ml.p4d.24xlarge"}
}

// withDefaults fills the zero fields that need no AWS config.
func (o Options) withDefaults() Options {
	if o.InstanceType == "" {
		o.InstanceType = DefaultInstanceType
	}
	if o.Backend == "" {
		family, _, _ := strings.Cut(strings.TrimPrefix(o.InstanceType, "ml."), ".")
		o.Backend = "sagemaker-" + family
	}
	if o.InstanceCount == 0 {
		o.InstanceCount = DefaultInstanceCount
	}
	if o.VolumeSizeGB == 0 {
		o.VolumeSizeGB = DefaultVolumeSizeGB
	}
	if o.ImageGLIBC == "" {
		o.ImageGLIBC = DefaultImageGLIBC
	}
	if o.NeuronSDKVersion == "" {
		o.NeuronSDKVersion = DefaultNeuronSDKVersion
	}
	o.CodeS3URI = strings.TrimRight(o.CodeS3URI, "/")
	if o.CheckpointS3URI == "" {
		o.CheckpointS3URI = o.CodeS3URI + "/checkpoints"
	}
	o.CheckpointS3URI = strings.TrimRight(o.CheckpointS3URI, "/")
	if o.OutputS3URI == "" {
		o.OutputS3URI = o.CodeS3URI + "/output"
	}
	if o.NeuronCacheS3URI == "" {
		o.NeuronCacheS3URI = o.CodeS3URI + "/neuron-cache/" + o.NeuronSDKVersion
	}
	if o.MaxRuntime == 0 {
		o.MaxRuntime = DefaultMaxRuntime
	}
	if o.Spot && o.MaxWait == 0 {
		o.MaxWait = 2 * o.MaxRuntime
	}
	if o.RetryAttempts == 0 {
		o.RetryAttempts = DefaultRetryAttempts
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// trainium reports whether the instance type runs Neuron rather than CUDA.
func (o Options) trainium() bool { return InstanceTypes[o.InstanceType] }

// splitS3 splits s3://bucket/prefix; the prefix has no slashes at its ends.
func splitS3(uri string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3:// URI", uri)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%q has no bucket", uri)
	}
	return bucket, strings.Trim(prefix, "/"), nil
}
