// Package sagemakertest is a stand-in for the SageMaker API in tests: an
// HTTP server on loopback that speaks the AWS JSON 1.1 protocol (POST /,
// X-Amz-Target: SageMaker.<Operation>, application/x-amz-json-1.1) for the
// three operations train/sagemaker uses, CreateTrainingJob,
// DescribeTrainingJob and StopTrainingJob, so that tests drive the real
// aws-sdk-go-v2 client, serialisation, signing and error decoding included.
//
// Each created job walks through a script of phases, one step per
// DescribeTrainingJob, so a test decides what state the launcher sees next
// without any clock. The server checks the constraints of the real API that
// a launcher can get wrong (name syntax, required members, spot wait time,
// unique names) and answers errors the way SageMaker does, including a
// missing job as a ValidationException. OnComplete stands for what a job
// leaves behind when it completes (WriteCheckpoint: its checkpoint in the
// checkpoint S3 URI), since the launcher copies that home.
package sagemakertest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Phase is one step of a job's life.
type Phase struct {
	Status        string // TrainingJobStatus: InProgress, Completed, Failed, Stopping, Stopped
	Secondary     string // SecondaryStatus: Starting, Training, ...
	FailureReason string
	// Metrics become FinalMetricDataList.
	Metrics map[string]float64
}

// Scripts for the common walks.
var (
	Completes = []Phase{
		{Status: "InProgress", Secondary: "Starting"},
		{Status: "InProgress", Secondary: "Training"},
		{Status: "Completed", Secondary: "Completed", Metrics: map[string]float64{"step": 100, "loss": 2.5, "tokens_per_sec": 1000}},
	}
	Fails = []Phase{
		{Status: "InProgress", Secondary: "Starting"},
		{Status: "InProgress", Secondary: "Training"},
		{Status: "Failed", Secondary: "Failed", FailureReason: "AlgorithmError: ExecuteUserScriptError: Command \"torchrun ...\" exit code 1"},
	}
	// NoCapacity fails the way SageMaker does when the zone has no instances.
	NoCapacity = []Phase{
		{Status: "InProgress", Secondary: "Starting"},
		{Status: "Failed", Secondary: "Failed", FailureReason: "CapacityError: Unable to provision requested ML compute capacity. Please retry using a different ML instance type."},
	}
	// Runs stays in Training until stopped.
	Runs = []Phase{
		{Status: "InProgress", Secondary: "Starting"},
		{Status: "InProgress", Secondary: "Training"},
	}
)

// Server is a fake SageMaker endpoint.
type Server struct {
	URL string

	mu      sync.Mutex
	jobs    map[string]*job
	calls   map[string]int
	creates []json.RawMessage
	script  []Phase
	refuse  *apiError
	tick    int64
	// onComplete runs when a job first reaches a Completed phase.
	onComplete func(Job) error
}

type job struct {
	req     map[string]any
	phases  []Phase
	at      int // index into phases
	created time.Time
	done    bool // onComplete ran
}

type apiError struct {
	status  int
	code    string
	message string
}

// Epoch is the fake's clock: job times are Epoch plus one second per call.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Start runs a server for the duration of t. New jobs follow Completes until
// SetScript says otherwise.
func Start(t testing.TB) *Server {
	s := &Server{jobs: map[string]*job{}, calls: map[string]int{}, script: Completes}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// SetScript sets the phases that jobs created from now on walk through.
func (s *Server) SetScript(phases ...Phase) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append([]Phase(nil), phases...)
}

// Job is what a completion hook sees of a job: what the real job would
// know in its container.
type Job struct {
	Name string
	// CheckpointS3URI is CheckpointConfig.S3Uri, where SageMaker copies
	// /opt/ml/checkpoints; empty when the request had none.
	CheckpointS3URI string
	// TargetStep is the supplyline_target_step hyperparameter (0 when absent).
	TargetStep      int
	HyperParameters map[string]string
	Environment     map[string]string
}

// OnComplete makes fn run once per job, when a DescribeTrainingJob first
// finds it in a Completed phase and before that answer is sent: it stands
// for what the job left behind, such as the checkpoints SageMaker has
// uploaded by the time it reports Completed. An error from fn fails that
// DescribeTrainingJob (code FakeCompletionHookFailed, not retried by the
// SDK) and fn runs again on the next one. Nil removes the hook.
func (s *Server) OnComplete(fn func(Job) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onComplete = fn
}

// RefuseCreate makes CreateTrainingJob fail with the error code and message
// (ResourceLimitExceeded for a quota), until called with an empty code.
func (s *Server) RefuseCreate(code, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == "" {
		s.refuse = nil
		return
	}
	s.refuse = &apiError{http.StatusBadRequest, code, message}
}

// Calls returns how many requests of operation ("CreateTrainingJob") arrived.
func (s *Server) Calls(operation string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[operation]
}

// CreateRequests returns the body of every CreateTrainingJob request, refused or not.
func (s *Server) CreateRequests() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]json.RawMessage(nil), s.creates...)
}

// Jobs returns the names of the jobs created.
func (s *Server) Jobs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for n := range s.jobs {
		names = append(names, n)
	}
	return names
}

// Status returns a job's current TrainingJobStatus and SecondaryStatus
// without advancing it.
func (s *Server) Status(name string) (status, secondary string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[name]
	if !ok {
		return "", "", false
	}
	p := j.phase()
	return p.Status, p.Secondary, true
}

func (j *job) phase() Phase { return j.phases[j.at] }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "SageMaker.")
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/":
		writeError(w, &apiError{http.StatusNotFound, "UnknownOperationException", r.Method + " " + r.URL.Path})
		return
	case !ok:
		writeError(w, &apiError{http.StatusBadRequest, "UnknownOperationException", "missing X-Amz-Target SageMaker.*"})
		return
	case r.Header.Get("Content-Type") != "application/x-amz-json-1.1":
		writeError(w, &apiError{http.StatusBadRequest, "SerializationException", "content type " + r.Header.Get("Content-Type")})
		return
	case !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 "):
		writeError(w, &apiError{http.StatusForbidden, "MissingAuthenticationTokenException", "request is not SigV4-signed"})
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, &apiError{http.StatusBadRequest, "SerializationException", err.Error()})
		return
	}
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, &apiError{http.StatusBadRequest, "SerializationException", err.Error()})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
	s.tick++
	var out any
	var aerr *apiError
	switch op {
	case "CreateTrainingJob":
		s.creates = append(s.creates, json.RawMessage(body))
		out, aerr = s.create(req)
	case "DescribeTrainingJob":
		out, aerr = s.describe(req)
	case "StopTrainingJob":
		out, aerr = s.stop(req)
	default:
		aerr = &apiError{http.StatusBadRequest, "UnknownOperationException", op + " is not faked"}
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sagemaker#" + e.code, "message": e.message})
}

func validation(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "ValidationException", fmt.Sprintf(format, args...)}
}

var nameRe = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`)

func (s *Server) now() time.Time { return Epoch.Add(time.Duration(s.tick) * time.Second) }

func (s *Server) create(req map[string]any) (any, *apiError) {
	if s.refuse != nil {
		return nil, s.refuse
	}
	name, _ := req["TrainingJobName"].(string)
	if !nameRe.MatchString(name) {
		return nil, validation("1 validation error detected: Value '%s' at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name)
	}
	for _, m := range []string{"RoleArn", "AlgorithmSpecification", "OutputDataConfig", "ResourceConfig", "StoppingCondition"} {
		if _, ok := req[m]; !ok {
			return nil, validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", m)
		}
	}
	if spec, _ := req["AlgorithmSpecification"].(map[string]any); spec["TrainingImage"] == nil {
		return nil, validation("AlgorithmSpecification.TrainingImage is required")
	}
	stop, _ := req["StoppingCondition"].(map[string]any)
	if spot, _ := req["EnableManagedSpotTraining"].(bool); spot {
		wait, ok1 := stop["MaxWaitTimeInSeconds"].(float64)
		run, ok2 := stop["MaxRuntimeInSeconds"].(float64)
		if !ok1 || !ok2 || wait < run {
			return nil, validation("MaxWaitTimeInSeconds must be set and at least MaxRuntimeInSeconds for managed spot training")
		}
	} else if _, ok := stop["MaxWaitTimeInSeconds"]; ok {
		return nil, validation("MaxWaitTimeInSeconds is only valid with managed spot training")
	}
	if hp, _ := req["HyperParameters"].(map[string]any); len(hp) > 100 {
		return nil, validation("at most 100 hyperparameters")
	}
	if _, dup := s.jobs[name]; dup {
		return nil, &apiError{http.StatusBadRequest, "ResourceInUse", "Training job names must be unique within an AWS account and region, and a training job with this name already exists (arn:aws:sagemaker:us-east-1:000000000000:training-job/" + name + ")"}
	}
	s.jobs[name] = &job{req: req, phases: s.script, created: s.now()}
	return map[string]string{"TrainingJobArn": arn(name)}, nil
}

func arn(name string) string {
	return "arn:aws:sagemaker:us-east-1:000000000000:training-job/" + name
}

func (s *Server) describe(req map[string]any) (any, *apiError) {
	name, _ := req["TrainingJobName"].(string)
	j, ok := s.jobs[name]
	if !ok {
		return nil, validation("Requested resource not found.")
	}
	p := j.phase()
	if p.Status == "Completed" && !j.done && s.onComplete != nil {
		// Under the lock: no other call sees the job Completed before its
		// checkpoint is written.
		if err := s.onComplete(j.info(name)); err != nil {
			return nil, &apiError{http.StatusBadRequest, "FakeCompletionHookFailed", err.Error()}
		}
		j.done = true
	}
	out := map[string]any{}
	for _, k := range []string{"AlgorithmSpecification", "RoleArn", "HyperParameters", "Environment", "InputDataConfig",
		"OutputDataConfig", "ResourceConfig", "StoppingCondition", "CheckpointConfig", "EnableManagedSpotTraining", "RetryStrategy"} {
		if v, ok := j.req[k]; ok {
			out[k] = v
		}
	}
	out["TrainingJobName"] = name
	out["TrainingJobArn"] = arn(name)
	out["TrainingJobStatus"] = p.Status
	out["SecondaryStatus"] = p.Secondary
	out["CreationTime"] = epoch(j.created)
	out["LastModifiedTime"] = epoch(s.now())
	if p.FailureReason != "" {
		out["FailureReason"] = p.FailureReason
	}
	if p.Secondary != "Starting" && p.Secondary != "Pending" {
		out["TrainingStartTime"] = epoch(j.created.Add(time.Second))
	}
	if p.Status == "Completed" || p.Status == "Failed" || p.Status == "Stopped" {
		out["TrainingEndTime"] = epoch(s.now())
	}
	var metrics []map[string]any
	for _, k := range slices.Sorted(maps.Keys(p.Metrics)) {
		metrics = append(metrics, map[string]any{"MetricName": k, "Value": p.Metrics[k], "Timestamp": epoch(s.now())})
	}
	if metrics != nil {
		out["FinalMetricDataList"] = metrics
	}
	if j.at < len(j.phases)-1 {
		j.at++
	}
	return out, nil
}

func (j *job) info(name string) Job {
	info := Job{Name: name, HyperParameters: stringMap(j.req["HyperParameters"]), Environment: stringMap(j.req["Environment"])}
	if c, ok := j.req["CheckpointConfig"].(map[string]any); ok {
		info.CheckpointS3URI, _ = c["S3Uri"].(string)
	}
	info.TargetStep, _ = strconv.Atoi(info.HyperParameters["supplyline_target_step"])
	return info
}

func stringMap(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k], _ = v.(string)
	}
	return out
}

func (s *Server) stop(req map[string]any) (any, *apiError) {
	name, _ := req["TrainingJobName"].(string)
	j, ok := s.jobs[name]
	if !ok {
		return nil, validation("Requested resource not found.")
	}
	if p := j.phase(); p.Status != "InProgress" {
		return nil, validation("The request was rejected because the training job is in status %s.", p.Status)
	}
	// Stopping for one Describe, then Stopped.
	j.phases = append(j.phases[:j.at:j.at], Phase{Status: "Stopping", Secondary: "Stopping"}, Phase{Status: "Stopped", Secondary: "Stopped"})
	return map[string]any{}, nil
}

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }
