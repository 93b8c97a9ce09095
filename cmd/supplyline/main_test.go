package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/train"
	"github.com/supplyline/supplyline/worker"
	"github.com/supplyline/supplyline/workflows"
)

// loaderLib is the loader's C library, built once for every test here.
var loaderLib string

// origDir is the package directory the tests start in.
var origDir, _ = os.Getwd()

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "supplyline-lib-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	loaderLib, err = worker.BuildLoaderLib(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startDevServer starts a real Temporal dev server on free ports from the
// locally built CLI (ExistingPath: the SDK's download cannot work here).
func startTestServer(t *testing.T) *testsuite.DevServer {
	t.Helper()
	bin, err := findTemporal()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(t.TempDir(), "temporal.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  bin,
		ClientOptions: &client.Options{HostPort: freeAddr(t)},
		LogLevel:      "error",
		Stdout:        logf,
		Stderr:        logf,
	})
	if err != nil {
		t.Fatalf("starting the Temporal dev server: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Logf("stopping dev server: %v", err)
		}
	})
	return srv
}

// startTestWorker runs a real worker against srv until the test ends.
func startTestWorker(t *testing.T, srv *testsuite.DevServer) {
	t.Helper()
	startTestWorkerAt(t, srv, filepath.Join(t.TempDir(), "jobs"))
}

// startTestWorkerAt is startTestWorker with its local jobs under jobs.
func startTestWorkerAt(t *testing.T, srv *testsuite.DevServer, jobs string) {
	t.Helper()
	w, err := worker.New(srv.Client(), worker.Config{JobsRoot: jobs, LoaderLib: loaderLib})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startTrainingRun generates a small world and starts a pipeline run with ID
// id on srv whose single training segment lasts steps steps: long enough
// for a test to act while the job trains.
func startTrainingRun(t *testing.T, srv *testsuite.DevServer, id string, seed uint64, steps int) client.WorkflowRun {
	t.Helper()
	dir := t.TempDir()
	events := filepath.Join(dir, "events")
	if _, err := dataset.Generate(context.Background(), dataset.GenConfig{Seed: seed, Days: 40, Stores: 2, SKUs: 3}, events); err != nil {
		t.Fatal(err)
	}
	cfg, err := finishRunConfig(workflows.RunConfig{Inputs: []string{events}, WorkDir: filepath.Join(dir, "runs"),
		Steps: steps, SegmentSteps: steps, Seed: int64(seed), VocabSize: 300, Model: train.ModelConfig{ContextLen: 64}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	run, err := srv.Client().ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue},
		workflows.Pipeline, workflows.PipelineInput{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// waitForTrainingJob waits until a job under jobs prints a progress line
// and returns the path of its log.
func waitForTrainingJob(t *testing.T, jobs string) string {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		logs, _ := filepath.Glob(filepath.Join(jobs, "*", "log"))
		for _, l := range logs {
			if b, _ := os.ReadFile(l); strings.Contains(string(b), train.ProgressPrefix) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no training job printed progress within 3 minutes")
		}
	}
}
