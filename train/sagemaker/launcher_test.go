package sagemaker

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/supplyline/supplyline/dataset/blob"
	"github.com/supplyline/supplyline/internal/s3test"
	"github.com/supplyline/supplyline/internal/sagemakertest"
	"github.com/supplyline/supplyline/train"
	"github.com/supplyline/supplyline/train/loader/loadertest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// loaderLib is the real loader library, built once for the package's tests.
var loaderLib string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "sagemaker-test-lib-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	loaderLib, err = loadertest.BuildLib(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testEnv is a launcher wired to a fake SageMaker and a real S3 server.
type testEnv struct {
	fake   *sagemakertest.Server
	l      *Launcher
	opts   Options
	bucket string
	s3     *s3.Client
	// gets counts the S3 GET requests the launcher made, by key.
	gets *getCounter
	// ckptDir is the specs' local CheckpointDir.
	ckptDir string
}

const testRole = "arn:aws:iam::000000000000:role/SupplylineTraining"

func newEnv(t *testing.T, mutate func(*Options)) *testEnv {
	t.Helper()
	isolateAWS(t)
	endpoint, bucket := s3test.Start(t)
	gets := countGets(t, endpoint)
	fake := sagemakertest.Start(t)
	// A completed job has left its checkpoint in S3, as a real one does.
	fake.OnComplete(sagemakertest.WriteCheckpoint(blob.S3Options{Endpoint: endpoint, PathStyle: true}))
	opts := Options{
		RoleARN:       testRole,
		Region:        "us-east-1",
		Endpoint:      fake.URL,
		S3:            blob.S3Options{Endpoint: gets.url, PathStyle: true},
		CodeS3URI:     "s3://" + bucket + "/supplyline",
		LoaderLib:     loaderLib,
		Spot:          true,
		MaxRuntime:    2 * time.Hour,
		RetryAttempts: 3,
		Tags:          map[string]string{"team": "ml-platform"},
		Logger:        slog.New(slog.DiscardHandler),
	}
	if mutate != nil {
		mutate(&opts)
	}
	l, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{fake: fake, l: l, opts: opts, bucket: bucket, s3: s3test.Client(endpoint), gets: gets, ckptDir: t.TempDir()}
}

// isolateAWS keeps the developer's AWS config and the instance metadata
// service out of the tests.
func isolateAWS(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_PROFILE", "")
}

func (e *testEnv) spec(key string) train.JobSpec {
	return train.JobSpec{
		IdempotencyKey: key,
		ShardManifest:  "s3://" + e.bucket + "/runs/nightly/shards/manifest.json",
		Model:          train.ModelConfig{VocabSize: 300},
		Seed:           7,
		WorldSize:      2,
		CheckpointDir:  e.ckptDir,
		TargetStep:     200,
	}
}

func (e *testEnv) object(t *testing.T, key string) []byte {
	t.Helper()
	out, err := e.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get s3://%s/%s: %v", e.bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lastCreate decodes the newest CreateTrainingJob request the fake received.
func lastCreate(t *testing.T, fake *sagemakertest.Server) map[string]any {
	t.Helper()
	reqs := fake.CreateRequests()
	if len(reqs) == 0 {
		t.Fatal("no CreateTrainingJob request")
	}
	var m map[string]any
	if err := json.Unmarshal(reqs[len(reqs)-1], &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSubmitIsIdempotent(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	spec := e.spec("nightly-2026-11-25/seg-0001")

	id, err := e.l.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if want := JobName(spec.IdempotencyKey); string(id) != want {
		t.Errorf("job %s, want %s", id, want)
	}
	again, err := e.l.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	// A worker that restarted has a new Launcher and no memory of the job.
	other, err := New(ctx, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	third, err := other.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	re, err := other.Reattach(ctx, spec.IdempotencyKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range []train.JobID{again, third, re} {
		if got != id {
			t.Errorf("got job %s, want the first Submit's %s", got, id)
		}
	}
	if n := e.fake.Calls("CreateTrainingJob"); n != 1 {
		t.Errorf("%d CreateTrainingJob calls, want 1", n)
	}
	if jobs := e.fake.Jobs(); len(jobs) != 1 {
		t.Errorf("jobs %v, want one", jobs)
	}
}

func TestSourceArchive(t *testing.T) {
	e := newEnv(t, nil)
	spec := e.spec("nightly-2026-11-25/seg-0002")
	id, err := e.l.Submit(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	req := lastCreate(t, e.fake)
	hp := req["HyperParameters"].(map[string]any)
	wantURI := fmt.Sprintf("s3://%s/supplyline/%s/sourcedir.tar.gz", e.bucket, id)
	if got := hp["sagemaker_submit_directory"]; got != hpJSON(wantURI) {
		t.Errorf("sagemaker_submit_directory %v, want %s", got, hpJSON(wantURI))
	}
	archive := e.object(t, fmt.Sprintf("supplyline/%s/sourcedir.tar.gz", id))
	sum := sha256.Sum256(archive)
	if got := hp["supplyline_source_sha256"]; got != hpJSON(hex.EncodeToString(sum[:])) {
		t.Errorf("supplyline_source_sha256 %v does not match the uploaded archive", got)
	}
	files := untar(t, archive)
	lib, err := os.ReadFile(loaderLib)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(files[archiveLib], lib) {
		t.Errorf("%s in the archive differs from the loader library (%d vs %d bytes)", archiveLib, len(files[archiveLib]), len(lib))
	}
	for _, name := range []string{entryScript, "supplyline_trainer/train.py", "supplyline_trainer/loader.py",
		"supplyline_trainer/sagemaker_entry.py", "supplyline_trainer/xla_device.py", archiveSpec} {
		if _, ok := files[name]; !ok {
			t.Errorf("archive lacks %s", name)
		}
	}
	if !bytes.Equal(files[entryScript], files["supplyline_trainer/sagemaker_entry.py"]) {
		t.Error("the top-level entry point is not the package's sagemaker_entry.py")
	}
	var got train.JobSpec
	if err := json.Unmarshal(files[archiveSpec], &got); err != nil {
		t.Fatal(err)
	}
	if got.IdempotencyKey != spec.IdempotencyKey || got.TargetStep != spec.TargetStep || got.ShardManifest != spec.ShardManifest {
		t.Errorf("archived spec %+v, want %+v", got, spec)
	}
	// The same spec and library give the same bytes, so a Submit retried
	// after a crash between upload and create uploads the same archive.
	again, sum2, err := buildArchive(spec, loaderLib)
	if err != nil {
		t.Fatal(err)
	}
	if sum2 != hex.EncodeToString(sum[:]) || !bytes.Equal(again, archive) {
		t.Error("buildArchive is not deterministic")
	}
}

func untar(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = data
	}
}

func TestCreateRequestContents(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.l.Submit(context.Background(), e.spec("nightly-2026-11-25/seg-0003")); err != nil {
		t.Fatal(err)
	}
	req := lastCreate(t, e.fake)
	get := func(path ...string) any {
		var v any = req
		for _, p := range path {
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[p]
		}
		return v
	}
	info, err := InspectLoaderLib(loaderLib)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"spot", get("EnableManagedSpotTraining"), true},
		{"max runtime", get("StoppingCondition", "MaxRuntimeInSeconds"), float64(7200)},
		{"max wait", get("StoppingCondition", "MaxWaitTimeInSeconds"), float64(14400)},
		{"retries", get("RetryStrategy", "MaximumRetryAttempts"), float64(3)},
		{"checkpoint uri", get("CheckpointConfig", "S3Uri"), "s3://" + e.bucket + "/supplyline/checkpoints/nightly-2026-11-25"},
		{"checkpoint path", get("CheckpointConfig", "LocalPath"), "/opt/ml/checkpoints"},
		{"instance", get("ResourceConfig", "InstanceType"), "ml.trn1.32xlarge"},
		{"image", get("AlgorithmSpecification", "TrainingImage"), "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training-neuronx:2.5.1-neuronx-py310-sdk2.21.0-ubuntu22.04"},
		{"torch distributed", get("HyperParameters", "sagemaker_torch_distributed_enabled"), "true"},
		{"program", get("HyperParameters", "sagemaker_program"), `"sagemaker_entry.py"`},
		{"glibc hp", get("HyperParameters", "supplyline_loader_glibc"), hpJSON(info.GLIBC)},
		{"neuron hp", get("HyperParameters", "supplyline_neuron_sdk_version"), `"2.21.0"`},
		{"neuron cache", get("Environment", "NEURON_COMPILE_CACHE_URL"), "s3://" + e.bucket + "/supplyline/neuron-cache/2.21.0"},
		{"device", get("Environment", "SUPPLYLINE_DEVICE"), "xla"},
		{"key env", get("Environment", "SUPPLYLINE_IDEMPOTENCY_KEY"), "nightly-2026-11-25/seg-0003"},
		{"output", get("OutputDataConfig", "S3OutputPath"), "s3://" + e.bucket + "/supplyline/output"},
		{"target step", get("HyperParameters", "supplyline_target_step"), "200"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	channels, _ := req["InputDataConfig"].([]any)
	if len(channels) != 1 {
		t.Fatalf("channels %v, want one", channels)
	}
	ch := channels[0].(map[string]any)
	src := ch["DataSource"].(map[string]any)["S3DataSource"].(map[string]any)
	if ch["ChannelName"] != "shards" || src["S3DataDistributionType"] != "FullyReplicated" || src["S3DataType"] != "S3Prefix" ||
		src["S3Uri"] != "s3://"+e.bucket+"/runs/nightly/shards/" {
		t.Errorf("shards channel %v", ch)
	}
	tags := map[string]string{}
	for _, tg := range req["Tags"].([]any) {
		m := tg.(map[string]any)
		tags[m["Key"].(string)] = m["Value"].(string)
	}
	for k, want := range map[string]string{
		"supplyline:workflow-id": "nightly-2026-11-25", "supplyline:segment": "seg-0003",
		"supplyline:idempotency-key": "nightly-2026-11-25/seg-0003", "supplyline:backend": "sagemaker-trn1",
		"supplyline:loader-glibc": info.GLIBC, "supplyline:neuron-sdk": "2.21.0", "team": "ml-platform",
	} {
		if tags[k] != want {
			t.Errorf("tag %s = %q, want %q", k, tags[k], want)
		}
	}
}

// TestCreateRequestGolden keeps the exact CreateTrainingJob request bodies
// in testdata/. Run with -update to rewrite them after a deliberate change.
func TestCreateRequestGolden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Options)
	}{
		{"trn1-spot", nil},
		{"p5-ondemand", func(o *Options) {
			o.InstanceType, o.InstanceCount, o.Spot, o.MaxRuntime, o.RetryAttempts = "ml.p5.48xlarge", 2, false, 0, -1
			o.Environment = map[string]string{"NCCL_DEBUG": "WARN"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.mutate)
			if _, err := e.l.Submit(context.Background(), e.spec("nightly-2026-11-25/seg-0004")); err != nil {
				t.Fatal(err)
			}
			reqs := e.fake.CreateRequests()
			got := normalise(t, reqs[len(reqs)-1], e.bucket)
			path := filepath.Join("testdata", "create-"+tc.name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("CreateTrainingJob request differs from %s (go test -update rewrites it):\n%s", path, got)
			}
		})
	}
}

// normalise re-indents a request with sorted keys and replaces what changes
// from run to run: the test bucket's name, the archive's digest (the loader
// library is rebuilt) and the library's glibc need (asserted on its own).
func normalise(t *testing.T, raw []byte, bucket string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	hp := m["HyperParameters"].(map[string]any)
	hp["supplyline_source_sha256"] = `"<sha256>"`
	hp["supplyline_loader_glibc"] = `"<glibc>"`
	for _, tg := range m["Tags"].([]any) {
		if tg := tg.(map[string]any); tg["Key"] == "supplyline:loader-glibc" {
			tg["Value"] = "<glibc>"
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		t.Fatal(err)
	}
	return bytes.ReplaceAll(buf.Bytes(), []byte(bucket), []byte("BUCKET"))
}

func TestDescribeWalksStates(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	for i, tc := range []struct {
		name    string
		script  []sagemakertest.Phase
		stopAt  int // Stop before this Describe; -1 never
		want    []train.JobState
		message string
		exit    int
	}{
		{"completed", sagemakertest.Completes, -1, []train.JobState{train.StatePending, train.StateRunning, train.StateSucceeded, train.StateSucceeded}, "", 0},
		{"failed", sagemakertest.Fails, -1, []train.JobState{train.StatePending, train.StateRunning, train.StateFailed}, "ExecuteUserScriptError", 1},
		{"stopped", sagemakertest.Runs, 2, []train.JobState{train.StatePending, train.StateRunning, train.StateRunning, train.StateStopped}, "stopped on request", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.fake.SetScript(tc.script...)
			id, err := e.l.Submit(ctx, e.spec(fmt.Sprintf("walk-%d/seg-0000", i)))
			if err != nil {
				t.Fatal(err)
			}
			var st train.JobStatus
			for n, want := range tc.want {
				if n == tc.stopAt {
					if err := e.l.Stop(ctx, id); err != nil {
						t.Fatal(err)
					}
				}
				if st, err = e.l.Describe(ctx, id); err != nil {
					t.Fatal(err)
				}
				if st.State != want {
					t.Fatalf("describe %d: state %s, want %s", n, st.State, want)
				}
			}
			if !strings.Contains(st.Message, tc.message) || st.ExitCode != tc.exit {
				t.Errorf("message %q exit %d, want one containing %q and exit %d", st.Message, st.ExitCode, tc.message, tc.exit)
			}
			if st.StartedAt.IsZero() || st.EndedAt.IsZero() || !st.EndedAt.After(st.StartedAt) {
				t.Errorf("started %s ended %s", st.StartedAt, st.EndedAt)
			}
		})
	}
}

func TestJobStateMapping(t *testing.T) {
	for _, tc := range []struct {
		status, secondary string
		want              train.JobState
	}{
		{"InProgress", "Starting", train.StatePending},
		{"InProgress", "LaunchingMLInstances", train.StatePending},
		{"InProgress", "Downloading", train.StatePending},
		{"InProgress", "Interrupted", train.StatePending},
		{"InProgress", "Restarting", train.StatePending},
		{"InProgress", "Training", train.StateRunning},
		{"InProgress", "Uploading", train.StateRunning},
		{"Stopping", "Stopping", train.StateRunning},
		{"Completed", "Completed", train.StateSucceeded},
		{"Failed", "Failed", train.StateFailed},
		{"Stopped", "MaxRuntimeExceeded", train.StateStopped},
	} {
		if got := jobState(types.TrainingJobStatus(tc.status), types.SecondaryStatus(tc.secondary)); got != tc.want {
			t.Errorf("%s/%s: %s, want %s", tc.status, tc.secondary, got, tc.want)
		}
	}
}

func TestCapacityOnCreate(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.RefuseCreate("ResourceLimitExceeded", "The account-level service limit 'ml.trn1.32xlarge for spot training job usage' is 0 Instances, with current utilization of 0 Instances and a request delta of 1 Instances.")
	_, err := e.l.Submit(context.Background(), e.spec("full/seg-0000"))
	if !errors.Is(err, train.ErrNoCapacity) {
		t.Fatalf("error %v, want one wrapping train.ErrNoCapacity", err)
	}
	var ce *train.CapacityError
	if !errors.As(err, &ce) || ce.Backend != "sagemaker-trn1" || !strings.Contains(ce.Reason, "ResourceLimitExceeded") {
		t.Errorf("capacity error %+v", ce)
	}
	if n := e.fake.Calls("CreateTrainingJob"); n != 1 {
		t.Errorf("%d CreateTrainingJob calls, want 1", n)
	}
}

func TestCapacityWhileStarting(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.fake.SetScript(sagemakertest.NoCapacity...)
	spec := e.spec("busy/seg-0000")
	id, err := e.l.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := e.l.Describe(ctx, id); err != nil || st.State != train.StatePending {
		t.Fatalf("first describe: %s, %v", st.State, err)
	}
	st, err := e.l.Describe(ctx, id)
	if !errors.Is(err, train.ErrNoCapacity) || st.State != train.StateFailed {
		t.Fatalf("describe of a job without capacity: %s, %v; want failed and ErrNoCapacity", st.State, err)
	}
	// Back on this backend in a later round: the failed job never ran, so
	// its key gets a new job, and only one.
	e.fake.SetScript(sagemakertest.Completes...)
	id2, err := e.l.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if id2 == id || string(id2) != jobName(spec.IdempotencyKey, 1) {
		t.Errorf("resubmit gave %s, want incarnation 1 %s", id2, jobName(spec.IdempotencyKey, 1))
	}
	if id3, err := e.l.Submit(ctx, spec); err != nil || id3 != id2 {
		t.Errorf("third submit %s, %v; want %s", id3, err, id2)
	}
	if re, err := e.l.Reattach(ctx, spec.IdempotencyKey); err != nil || re != id2 {
		t.Errorf("reattach %s, %v; want %s", re, err, id2)
	}
	if n := e.fake.Calls("CreateTrainingJob"); n != 2 {
		t.Errorf("%d CreateTrainingJob calls, want 2", n)
	}
}

func TestStop(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.fake.SetScript(sagemakertest.Runs...)
	id, err := e.l.Submit(ctx, e.spec("stop/seg-0000"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.l.Stop(ctx, id); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := e.fake.Status(string(id)); st != "Stopping" {
		t.Errorf("fake status %s, want Stopping", st)
	}
	// Again while Stopping: SageMaker refuses, the launcher sees why and is content.
	if err := e.l.Stop(ctx, id); err != nil {
		t.Errorf("stopping a stopping job: %v", err)
	}
	if st, err := e.l.Describe(ctx, id); err != nil || st.State != train.StateStopped {
		t.Fatalf("after stop: %s, %v", st.State, err)
	}
	if err := e.l.Stop(ctx, id); err != nil {
		t.Errorf("stopping a stopped job: %v", err)
	}

	e.fake.SetScript(sagemakertest.Phase{Status: "Completed", Secondary: "Completed"})
	done, err := e.l.Submit(ctx, e.spec("stop/seg-0001"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.l.Stop(ctx, done); err != nil {
		t.Errorf("stopping a completed job: %v", err)
	}
	if err := e.l.Stop(ctx, "sl-no-such-job-000000000000"); !errors.Is(err, train.ErrJobNotFound) {
		t.Errorf("stopping an unknown job: %v, want ErrJobNotFound", err)
	}
	if n := e.fake.Calls("StopTrainingJob"); n != 5 {
		t.Errorf("%d StopTrainingJob calls, want 5", n)
	}
}

func TestUnknownJob(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if _, err := e.l.Reattach(ctx, "never/seg-0000"); !errors.Is(err, train.ErrJobNotFound) {
		t.Errorf("reattach: %v, want ErrJobNotFound", err)
	}
	if _, err := e.l.Describe(ctx, "sl-never-000000000000"); !errors.Is(err, train.ErrJobNotFound) {
		t.Errorf("describe: %v, want ErrJobNotFound", err)
	}
}

func TestDescribeProgress(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	spec := e.spec("prog/seg-0001")
	id, err := e.l.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	e.l.Describe(ctx, id)
	e.l.Describe(ctx, id)
	// Completed, no progress object yet: the final metrics.
	st, err := e.l.Describe(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Progress.Step != 100 || st.Progress.Loss != 2.5 || st.Progress.TokensPerSec != 1000 {
		t.Errorf("progress from final metrics %+v", st.Progress)
	}
	// What the entry point writes to /opt/ml/checkpoints/_progress/<job>.json,
	// once SageMaker has copied it to the checkpoint URI.
	ckpt := "s3://" + e.bucket + "/supplyline/checkpoints/prog"
	obj := `{"step": 200, "loss": 1.25, "tokens_per_sec": 5e4, "tokens_seen": 819200, "checkpoint": "/opt/ml/checkpoints/step-0000200", "done": true}`
	if err := e.l.put(ctx, ckpt, progressKey(string(id)), strings.NewReader(obj)); err != nil {
		t.Fatal(err)
	}
	if st, err = e.l.Describe(ctx, id); err != nil {
		t.Fatal(err)
	}
	want := train.Progress{Step: 200, Loss: 1.25, TokensPerSec: 5e4, TokensSeen: 819200, Checkpoint: ckpt + "/step-0000200", Done: true}
	if st.Progress != want {
		t.Errorf("progress %+v, want %+v", st.Progress, want)
	}
}

func TestLogs(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.fake.SetScript(sagemakertest.Phase{Status: "Failed", Secondary: "Failed", FailureReason: "AlgorithmError: out of memory"})
	id, err := e.l.Submit(ctx, e.spec("logs/seg-0000"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.l.Logs(ctx, id, 0)
	if !errors.Is(err, ErrLogsUnavailable) || !strings.Contains(err.Error(), "out of memory") || !strings.Contains(err.Error(), "/aws/sagemaker/TrainingJobs") {
		t.Errorf("logs: %v", err)
	}
}

func TestResumeFromLocalCheckpointIsUploaded(t *testing.T) {
	e := newEnv(t, nil)
	dir := filepath.Join(t.TempDir(), "step-0000100")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{train.StateFile: `{"step": 100}`, train.ModelFile: "weights"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	spec := e.spec("failover/seg-0001")
	spec.ResumeFrom = dir
	if _, err := e.l.Submit(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	if got := string(e.object(t, "supplyline/checkpoints/failover/step-0000100/"+train.StateFile)); got != `{"step": 100}` {
		t.Errorf("uploaded state.json %q", got)
	}
}

func TestSubmitRejects(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	t.Run("local manifest", func(t *testing.T) {
		spec := e.spec("bad/seg-0000")
		spec.ShardManifest = "/runs/x/shards/manifest.json"
		if _, err := e.l.Submit(ctx, spec); !errors.Is(err, train.ErrInvalidSpec) {
			t.Errorf("error %v, want ErrInvalidSpec", err)
		}
	})
	t.Run("not an ELF", func(t *testing.T) {
		spec := e.spec("bad/seg-0001")
		spec.LoaderLib = filepath.Join(t.TempDir(), "lib.so")
		os.WriteFile(spec.LoaderLib, []byte("#!/bin/sh\n"), 0o755)
		_, err := e.l.Submit(ctx, spec)
		if !errors.Is(err, ErrLoaderLib) || !errors.Is(err, train.ErrInvalidSpec) {
			t.Errorf("error %v, want ErrLoaderLib and ErrInvalidSpec", err)
		}
	})
	if n := e.fake.Calls("CreateTrainingJob"); n != 0 {
		t.Errorf("%d CreateTrainingJob calls for rejected specs", n)
	}
}

func TestGLIBCTooNewIsRefused(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.Image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/old-neuron:ubuntu20.04"
		o.ImageGLIBC = "2.31"
	})
	_, err := e.l.Submit(context.Background(), e.spec("old/seg-0000"))
	var ge *GLIBCError
	if !errors.As(err, &ge) || !errors.Is(err, ErrLoaderLib) || !errors.Is(err, train.ErrInvalidSpec) {
		t.Fatalf("error %v, want a *GLIBCError wrapping ErrLoaderLib and ErrInvalidSpec", err)
	}
	if ge.Has != "2.31" || !strings.HasPrefix(ge.Needs, "GLIBC_2.3") || !strings.Contains(err.Error(), "old-neuron") {
		t.Errorf("glibc error %+v", ge)
	}
	if n := e.fake.Calls("CreateTrainingJob"); n != 0 {
		t.Errorf("%d CreateTrainingJob calls, want none", n)
	}
}
