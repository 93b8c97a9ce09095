package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/train"
	"github.com/supplyline/supplyline/workflows"
)

// TestCancelStopsTheJob cancels a running pipeline on a real dev server:
// the cancellation reaches the training child workflow and its segment
// activity, which stops the torchrun job (its stopped marker is written and
// it never reaches its target step).
func TestCancelStopsTheJob(t *testing.T) {
	srv := startTestServer(t)
	dir := t.TempDir()
	jobs := filepath.Join(t.TempDir(), "jobs")
	startTestWorkerAt(t, srv, jobs)
	events := filepath.Join(dir, "events")
	if _, err := dataset.Generate(context.Background(), dataset.GenConfig{Seed: 11, Days: 40, Stores: 2, SKUs: 3}, events); err != nil {
		t.Fatal(err)
	}
	cfg, err := finishRunConfig(workflows.RunConfig{Inputs: []string{events}, WorkDir: filepath.Join(dir, "runs"),
		Steps: 100000, SegmentSteps: 100000, VocabSize: 300, Model: train.ModelConfig{ContextLen: 64}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := srv.Client()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "cancel", TaskQueue: workflows.TaskQueue}, workflows.Pipeline, workflows.PipelineInput{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	var logPath string
	for deadline := time.Now().Add(3 * time.Minute); logPath == ""; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no training job printed progress within 3 minutes")
		}
		logs, _ := filepath.Glob(filepath.Join(jobs, "*", "log"))
		for _, l := range logs {
			if b, _ := os.ReadFile(l); strings.Contains(string(b), train.ProgressPrefix) {
				logPath = l
			}
		}
	}
	if err := c.CancelWorkflow(ctx, "cancel", ""); err != nil {
		t.Fatal(err)
	}
	err = run.Get(ctx, nil)
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
