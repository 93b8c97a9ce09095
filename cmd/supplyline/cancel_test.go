package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
)

// TestCancelStopsTheJob cancels a running pipeline on a real dev server:
// the cancellation reaches the training child workflow and its segment
// activity, which stops the torchrun job (its stopped marker is written and
// it never reaches its target step).
func TestCancelStopsTheJob(t *testing.T) {
	srv := startTestServer(t)
	jobs := filepath.Join(t.TempDir(), "jobs")
	startTestWorkerAt(t, srv, jobs)
	run := startTrainingRun(t, srv, "cancel", 11, 100000)
	logPath := waitForTrainingJob(t, jobs)
	ctx := context.Background()
	c := srv.Client()
	if err := c.CancelWorkflow(ctx, "cancel", ""); err != nil {
		t.Fatal(err)
	}
	err := run.Get(ctx, nil)
	var canceled *temporal.CanceledError
	if !errors.As(err, &canceled) {
		t.Fatalf("run ended with %v, want a cancellation", err)
	}
	stopped := filepath.Join(filepath.Dir(logPath), "stopped")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if _, err := os.Stat(stopped); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cancelled run's training job was not stopped (no %s)", stopped)
		}
	}
	if b, _ := os.ReadFile(logPath); strings.Contains(string(b), `"done": true`) || strings.Contains(string(b), `"done":true`) {
		t.Error("the job ran to its end instead of being stopped")
	}
}
