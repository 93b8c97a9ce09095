package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/supplyline/supplyline/worker"
	"github.com/supplyline/supplyline/workflows"
)

// TestWorkerRestartReattaches stops the worker while a training segment
// runs and starts another one: the segment's job keeps running (it is
// detached from the worker), the retried activity reattaches to it by its
// idempotency key, and the run finishes with one job for the segment.
func TestWorkerRestartReattaches(t *testing.T) {
	srv := startTestServer(t)
	dir := t.TempDir()
	jobs := filepath.Join(dir, "jobs")
	newWorker := func() func() {
		w, err := worker.New(srv.Client(), worker.Config{JobsRoot: jobs, LoaderLib: loaderLib})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		return w.Stop
	}
	stopA := newWorker()

	ctx := context.Background()
	c := srv.Client()
	run := startTrainingRun(t, srv, "restart", 5, 1000)

	// Wait until the segment's job prints progress, then stop worker A.
	jobID := filepath.Base(filepath.Dir(waitForTrainingJob(t, jobs)))
	hb := struct{ JobID string }{jobID}
	jobBefore := readJob(t, filepath.Join(jobs, hb.JobID))
	t.Logf("stopping worker A while job %s trains", hb.JobID)
	stopA()
	stopB := newWorker()
	defer stopB()

	var res workflows.PipelineOutput
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("run failed after the worker restart: %v", err)
	}
	if res.Train.Step != 1000 || res.Train.JobID != hb.JobID {
		t.Errorf("segment ended at step %d in job %s, want step 1000 in the job worker A started (%s)", res.Train.Step, res.Train.JobID, hb.JobID)
	}
	entries, err := os.ReadDir(jobs)
	if err != nil {
		t.Fatal(err)
	}
	var dirs int
	for _, e := range entries {
		if e.IsDir() {
			dirs++
		}
	}
	if dirs != 1 {
		t.Errorf("%d job directories, want 1: the retry must reattach, not start another job", dirs)
	}
	if after := readJob(t, filepath.Join(jobs, hb.JobID)); after["pid"] != jobBefore["pid"] {
		t.Errorf("job pid changed from %v to %v", jobBefore["pid"], after["pid"])
	}
	// The training workflow's history shows the segment's activity ran more than once.
	attempts := 0
	it := c.GetWorkflowHistory(ctx, workflows.TrainingWorkflowID("restart"), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := e.GetActivityTaskStartedEventAttributes(); a != nil && a.GetAttempt() > int32(attempts) {
			attempts = int(a.GetAttempt())
		}
	}
	if attempts < 2 {
		t.Errorf("the training activity ran %d time(s); the restart should have made it retry", attempts)
	}
}

func readJob(t *testing.T, dir string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "job.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
