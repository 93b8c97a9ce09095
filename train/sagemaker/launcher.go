package sagemaker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"

	"github.com/supplyline/supplyline/dataset/blob"
	"github.com/supplyline/supplyline/train"
)

// Launcher runs train jobs as SageMaker training jobs. It keeps no state in
// memory: a job's name follows from its idempotency key, so any worker
// finds the job any other worker started.
type Launcher struct {
	opts   Options
	client *sm.Client
	region string
	image  string
	log    *slog.Logger
}

var _ train.Launcher = (*Launcher)(nil)

// maxIncarnations bounds how many jobs Submit starts for one key, each after
// the previous one failed for lack of capacity.
const maxIncarnations = 16

// New returns a Launcher for opts, with a SageMaker client configured from
// the SDK's default chain (credentials, region) and opts.
func New(ctx context.Context, opts Options) (*Launcher, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	var loadOpts []func(*config.LoadOptions) error
	if o.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(o.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("sagemaker: load AWS config: %w", err)
	}
	if cfg.Region == "" && o.Endpoint != "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("%w: no region: set Options.Region or AWS_REGION", ErrInvalidOptions)
	}
	if o.S3.Region == "" {
		o.S3.Region = cfg.Region
	}
	client := sm.NewFromConfig(cfg, func(so *sm.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
	})
	return NewWithClient(client, cfg.Region, o)
}

// NewWithClient returns a Launcher that uses client, whose region is region.
func NewWithClient(client *sm.Client, region string, opts Options) (*Launcher, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	image := o.Image
	if image == "" {
		var err error
		if image, err = DefaultImage(region, o.InstanceType); err != nil {
			return nil, err
		}
	}
	return &Launcher{
		opts:   o,
		client: client,
		region: region,
		image:  image,
		log:    o.Logger.With("launcher", o.Backend),
	}, nil
}

// Name returns Options.Backend.
func (l *Launcher) Name() string { return l.opts.Backend }

// Image returns the training image jobs run in.
func (l *Launcher) Image() string { return l.image }

// Submit starts spec as a SageMaker training job named after
// spec.IdempotencyKey (see JobName), or returns the job already started
// under that key. Before creating a job it packs and uploads the source
// archive and checks the loader library's glibc needs against the image's.
//
// A job of the key that failed for lack of capacity never ran: Submit then
// starts the key's next incarnation (a new name), so that a run that comes
// back to this backend in a later capacity round tries again. Errors wrap
// train.ErrInvalidSpec for a bad spec or an unusable loader library (and
// ErrLoaderLib, with *GLIBCError for a glibc mismatch), and train.ErrNoCapacity
// (*train.CapacityError) when SageMaker refuses for lack of capacity or quota.
func (l *Launcher) Submit(ctx context.Context, spec train.JobSpec) (train.JobID, error) {
	if err := spec.Validate(); err != nil {
		return "", err
	}
	if len(spec.IdempotencyKey) > 512 {
		return "", fmt.Errorf("%w: idempotency_key: longer than 512 bytes, the limit of a SageMaker environment value", train.ErrInvalidSpec)
	}
	log := l.log.With("key", spec.IdempotencyKey)
	n, found, err := l.latest(ctx, spec.IdempotencyKey)
	if err != nil {
		return "", err
	}
	if found != nil {
		name := aws.ToString(found.TrainingJobName)
		if !isCapacityFailure(found) {
			log.Info("reattached to existing job", "job", name, "status", found.TrainingJobStatus)
			return train.JobID(name), nil
		}
		if n+1 >= maxIncarnations {
			return "", &train.CapacityError{Backend: l.Name(), Reason: fmt.Sprintf("%d jobs of this key failed for capacity; last: %s", n+1, aws.ToString(found.FailureReason))}
		}
		log.Info("previous job failed for lack of capacity; starting the next incarnation", "job", name)
		n++
	}
	name := jobName(spec.IdempotencyKey, n)
	log = log.With("job", name)

	j, err := l.prepare(ctx, spec, name, n)
	if err != nil {
		return "", err
	}
	_, err = l.client.CreateTrainingJob(ctx, l.createRequest(j))
	switch {
	case err == nil:
		log.Info("job created", "instance_type", l.opts.InstanceType, "instances", l.opts.InstanceCount, "spot", l.opts.Spot)
		return train.JobID(name), nil
	case errorCode(err) == "ResourceInUse":
		// A concurrent Submit of the same key created it first.
		log.Info("job created by a concurrent submit; reattaching")
		return train.JobID(name), nil
	case isCapacityError(err):
		return "", &train.CapacityError{Backend: l.Name(), Reason: errorMessage(err)}
	case errorCode(err) == "ValidationException":
		return "", fmt.Errorf("%w: sagemaker: create %s: %w", train.ErrInvalidSpec, name, err)
	default:
		return "", fmt.Errorf("sagemaker: create %s: %w", name, err)
	}
}

// prepare checks the loader library, resolves the S3 locations and uploads
// the source archive and the job record (and a local resume checkpoint).
func (l *Launcher) prepare(ctx context.Context, spec train.JobSpec, name string, n int) (job, error) {
	j := job{name: name, key: spec.IdempotencyKey, incarnation: n, spec: spec, region: l.region, image: l.image}
	lib := spec.LoaderLib
	if lib == "" {
		lib = l.opts.LoaderLib
	}
	if lib == "" {
		return j, fmt.Errorf("%w: %w: no loader library: set the spec's loader_lib or Options.LoaderLib", train.ErrInvalidSpec, ErrLoaderLib)
	}
	info, err := InspectLoaderLib(lib)
	if err != nil {
		return j, fmt.Errorf("%w: %w", train.ErrInvalidSpec, err)
	}
	if err := checkGLIBC(lib, info, l.image, l.opts.ImageGLIBC); err != nil {
		return j, fmt.Errorf("%w: %w", train.ErrInvalidSpec, err)
	}
	j.glibc = info.GLIBC
	if j.shardsURI, err = l.shardsURI(spec); err != nil {
		return j, err
	}
	j.ckptURI = l.checkpointURI(spec)
	if spec.ResumeFrom != "" && !strings.HasPrefix(spec.ResumeFrom, "s3://") {
		// A run that failed over from a backend with local checkpoints:
		// the job can only see what is under its checkpoint URI.
		if err := l.uploadDir(ctx, spec.ResumeFrom, j.ckptURI+"/"+filepath.Base(spec.ResumeFrom)); err != nil {
			return j, fmt.Errorf("sagemaker: upload resume checkpoint %s: %w", spec.ResumeFrom, err)
		}
	}
	// The archive keeps the spec as submitted; the entry point maps its
	// URIs onto the container's paths.
	spec.LoaderLib = ""
	archive, sum, err := buildArchive(spec, lib)
	if err != nil {
		return j, fmt.Errorf("sagemaker: source archive: %w", err)
	}
	j.sourceSHA = sum
	j.sourceURI = l.opts.CodeS3URI + "/" + name + "/" + archiveName
	// Describe reads the record back, in whichever worker, to copy the
	// final checkpoint home (see sync.go).
	if err := l.writeRecord(ctx, j); err != nil {
		return j, fmt.Errorf("sagemaker: upload %s/%s/%s: %w", l.opts.CodeS3URI, name, recordName, err)
	}
	if err := l.put(ctx, l.opts.CodeS3URI, name+"/"+archiveName, bytes.NewReader(archive)); err != nil {
		return j, fmt.Errorf("sagemaker: upload %s: %w", j.sourceURI, err)
	}
	return j, nil
}

// put writes one object under the store rooted at root.
func (l *Launcher) put(ctx context.Context, root, key string, r io.Reader) error {
	st, err := blob.OpenURI(ctx, root, l.opts.S3)
	if err != nil {
		return err
	}
	w, err := st.Create(ctx, key)
	if err != nil {
		return err
	}
	defer blob.Abort(w)
	if _, err := io.Copy(w, r); err != nil {
		return err
	}
	return w.Close()
}

// uploadDir copies the regular files of local directory dir to uri/.
func (l *Launcher) uploadDir(ctx context.Context, dir, uri string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		err = l.put(ctx, uri, e.Name(), f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// latest finds the newest incarnation of key's job: n and its description,
// or a nil description when no job of the key exists.
func (l *Launcher) latest(ctx context.Context, key string) (int, *sm.DescribeTrainingJobOutput, error) {
	var last *sm.DescribeTrainingJobOutput
	n := 0
	for i := range maxIncarnations {
		out, err := l.describe(ctx, jobName(key, i))
		if errors.Is(err, train.ErrJobNotFound) {
			break
		}
		if err != nil {
			return 0, nil, err
		}
		if got := out.Environment[envKey]; got != "" && got != key {
			return 0, nil, fmt.Errorf("sagemaker: job %s belongs to key %q, not %q", jobName(key, i), got, key)
		}
		n, last = i, out
		if !isCapacityFailure(out) {
			break
		}
	}
	return n, last, nil
}

// Reattach returns the job started under idempotencyKey (its newest
// incarnation), or an error wrapping train.ErrJobNotFound.
func (l *Launcher) Reattach(ctx context.Context, idempotencyKey string) (train.JobID, error) {
	_, out, err := l.latest(ctx, idempotencyKey)
	if err != nil {
		return "", err
	}
	if out == nil {
		return "", fmt.Errorf("%w: no SageMaker job for key %q (%s)", train.ErrJobNotFound, idempotencyKey, JobName(idempotencyKey))
	}
	return train.JobID(aws.ToString(out.TrainingJobName)), nil
}

func (l *Launcher) describe(ctx context.Context, name string) (*sm.DescribeTrainingJobOutput, error) {
	out, err := l.client.DescribeTrainingJob(ctx, &sm.DescribeTrainingJobInput{TrainingJobName: aws.String(name)})
	if isNotFound(err) {
		return nil, fmt.Errorf("%w: %s", train.ErrJobNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("sagemaker: describe %s: %w", name, err)
	}
	return out, nil
}

// Stop asks SageMaker to stop the job (StopTrainingJob). It returns once
// SageMaker accepted; Describe reports train.StateRunning while the job is
// Stopping and train.StateStopped once it is Stopped. Stopping a job that
// already ended or is already stopping is not an error.
func (l *Launcher) Stop(ctx context.Context, id train.JobID) error {
	name := string(id)
	_, err := l.client.StopTrainingJob(ctx, &sm.StopTrainingJobInput{TrainingJobName: aws.String(name)})
	switch {
	case err == nil:
		l.log.Info("stop requested", "job", name)
		return nil
	case isNotFound(err):
		return fmt.Errorf("%w: %s", train.ErrJobNotFound, name)
	case errorCode(err) == "ValidationException":
		// SageMaker refuses to stop a job that is not InProgress. Confirm
		// that this is why, rather than a malformed name.
		out, derr := l.describe(ctx, name)
		if derr != nil {
			return derr
		}
		if out.TrainingJobStatus != types.TrainingJobStatusInProgress {
			return nil
		}
		return fmt.Errorf("sagemaker: stop %s: %w", name, err)
	default:
		return fmt.Errorf("sagemaker: stop %s: %w", name, err)
	}
}

// Logs returns an error wrapping ErrLogsUnavailable: a SageMaker job's
// output goes to CloudWatch Logs (log group /aws/sagemaker/TrainingJobs,
// streams <job name>/algo-N-...), which this launcher does not read. The
// error names that place and, for a failed job, SageMaker's failure reason;
// Describe reports the progress lines.
func (l *Launcher) Logs(ctx context.Context, id train.JobID, from int64) (io.ReadCloser, error) {
	out, err := l.describe(ctx, string(id))
	if err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("log group /aws/sagemaker/TrainingJobs, streams %s/algo-*", id)
	if r := aws.ToString(out.FailureReason); r != "" {
		msg += "; failure reason: " + r
	}
	return nil, fmt.Errorf("%w: %s", ErrLogsUnavailable, msg)
}

// errorCode returns the API error code of err ("ResourceLimitExceeded"), or "".
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

func errorMessage(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode() + ": " + apiErr.ErrorMessage()
	}
	return err.Error()
}

// isNotFound: DescribeTrainingJob answers a missing job with a
// ValidationException ("Requested resource not found"), although the model
// also has ResourceNotFound; both are accepted.
func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	var nf *types.ResourceNotFound
	if errors.As(err, &nf) {
		return true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "ValidationException" {
		m := strings.ToLower(apiErr.ErrorMessage())
		return strings.Contains(m, "not found") || strings.Contains(m, "does not exist")
	}
	return false
}

// capacityMarkers are the words SageMaker uses for missing capacity: an
// account quota (ResourceLimitExceeded, at create), or no instances in the
// zone (CapacityError / InsufficientInstanceCapacity, as a failure reason
// while the job starts).
var capacityMarkers = []string{"ResourceLimitExceeded", "CapacityError", "InsufficientInstanceCapacity", "InsufficientCapacity"}

func isCapacityError(err error) bool {
	if err == nil {
		return false
	}
	return hasCapacityMarker(errorCode(err)) || hasCapacityMarker(errorMessage(err))
}

func hasCapacityMarker(s string) bool {
	for _, m := range capacityMarkers {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// isCapacityFailure reports whether a job failed for lack of capacity.
func isCapacityFailure(out *sm.DescribeTrainingJobOutput) bool {
	return out.TrainingJobStatus == types.TrainingJobStatusFailed && hasCapacityMarker(aws.ToString(out.FailureReason))
}
