package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"errors"

	"github.com/supplyline/supplyline/workflows"
)

// TestControlPauseResumeAbort drives a real run's training workflow through
// `supplyline control`: pause shows in its progress, resume continues, and
// abort stops the running job (its process group is gone) and ends the run
// as aborted.
func TestControlPauseResumeAbort(t *testing.T) {
	srv := startTestServer(t)
	jobs := filepath.Join(t.TempDir(), "jobs")
	startTestWorkerAt(t, srv, jobs)
	run := startTrainingRun(t, srv, "control", 9, 100000)
	ctx := context.Background()
	c := srv.Client()
	ctl := func(action string) {
		t.Helper()
		var out bytes.Buffer
		if err := Run(ctx, []string{"control", "--address", srv.FrontendHostPort(), "control", action}, &out); err != nil {
			t.Fatalf("control %s: %v", action, err)
		}
	}
	trainingProgress := func() workflows.TrainingProgress {
		t.Helper()
		v, err := c.QueryWorkflow(ctx, workflows.TrainingWorkflowID("control"), "", workflows.ProgressQuery)
		if err != nil {
			t.Fatal(err)
		}
		var p workflows.TrainingProgress
		if err := v.Get(&p); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// Wait for the job to train, then pause and resume.
	logPath := waitForTrainingJob(t, jobs)
	ctl("pause")
	if p := trainingProgress(); !p.Paused {
		t.Errorf("after pause, progress %+v", p)
	}
	ctl("resume")
	if p := trainingProgress(); p.Paused {
		t.Errorf("after resume, progress %+v", p)
	}
	ctl("abort")
	err := run.Get(ctx, nil)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != workflows.ErrTypeAborted {
		t.Fatalf("run ended with %v, want %s", err, workflows.ErrTypeAborted)
	}
	jobDir := filepath.Dir(logPath)
	if _, err := os.Stat(filepath.Join(jobDir, "stopped")); err != nil {
		t.Errorf("the aborted segment's job was not stopped: %v", err)
	}
	if b, _ := os.ReadFile(logPath); strings.Contains(string(b), `"done": true`) || strings.Contains(string(b), `"done":true`) {
		t.Error("the job ran to its end instead of being stopped")
	}
	v, err := c.QueryWorkflow(ctx, "control", "", workflows.ProgressQuery)
	if err != nil {
		t.Fatal(err)
	}
	var p workflows.Progress
	if err := v.Get(&p); err != nil {
		t.Fatal(err)
	}
	if p.Stage != "aborted" {
		t.Errorf("pipeline progress %+v, want stage aborted", p)
	}
}
