package activities

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/supplyline/supplyline/train"
)

// memLauncher is an in-process train.Launcher for the activity's own logic:
// idempotent submit, polling, failure mapping and stop on cancel. The real
// launcher (train/local) is tested in its package and end to end.
type memLauncher struct {
	mu        sync.Mutex
	submits   int
	jobs      map[string]*memJob
	noCap     bool
	finishDir string // where a succeeding job writes its checkpoint
}

type memJob struct {
	key      string
	polls    int
	failAt   int // Describe call at which the job fails (0: never)
	doneAt   int // Describe call at which it succeeds
	stopped  bool
	progress train.Progress
}

func (m *memLauncher) Name() string { return "mem" }

func (m *memLauncher) Submit(_ context.Context, s train.JobSpec) (train.JobID, error) {
	if err := s.Validate(); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.noCap {
		return "", &train.CapacityError{Backend: "mem", Reason: "full"}
	}
	m.submits++
	if _, ok := m.jobs[s.IdempotencyKey]; !ok {
		m.jobs[s.IdempotencyKey] = &memJob{key: s.IdempotencyKey, doneAt: 3}
	}
	return train.JobID(s.IdempotencyKey), nil
}

func (m *memLauncher) Reattach(_ context.Context, key string) (train.JobID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.jobs[key]; !ok {
		return "", train.ErrJobNotFound
	}
	return train.JobID(key), nil
}

func (m *memLauncher) Describe(_ context.Context, id train.JobID) (train.JobStatus, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.jobs[string(id)]
	if !ok {
		return train.JobStatus{}, train.ErrJobNotFound
	}
	j.polls++
	st := train.JobStatus{ID: id, State: train.StateRunning, Progress: train.Progress{Step: j.polls * 10, Loss: 5.0 / float64(j.polls)}}
	switch {
	case j.stopped:
		st.State = train.StateStopped
	case j.failAt > 0 && j.polls >= j.failAt:
		st.State, st.ExitCode, st.Message = train.StateFailed, 3, "rank 0 exited 3; last lines:\nTraceback: boom"
	case j.polls >= j.doneAt:
		st.State, st.ExitCode = train.StateSucceeded, 0
		writeCheckpoint(m.finishDir, 100)
	}
	return st, nil
}

func (m *memLauncher) Stop(_ context.Context, id train.JobID) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if j, ok := m.jobs[string(id)]; ok {
		j.stopped = true
	}
	return nil
}

func (m *memLauncher) Logs(context.Context, train.JobID, int64) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader("line 1\nTraceback: boom\n")), nil
}

func writeCheckpoint(dir string, step int) {
	name := train.CheckpointName(step)
	os.MkdirAll(filepath.Join(dir, name), 0o755)
	b, _ := json.Marshal(train.State{Step: step, Loss: 1.25})
	os.WriteFile(filepath.Join(dir, name, train.StateFile), b, 0o644)
	os.WriteFile(filepath.Join(dir, train.LatestFile), []byte(name+"\n"), 0o644)
}

func spec(dir string, target int) train.JobSpec {
	return train.JobSpec{IdempotencyKey: "wf/seg-0000", ShardManifest: "m.json", CheckpointDir: dir, TargetStep: target,
		Model: train.ModelConfig{VocabSize: 300}.WithDefaults()}
}

// runTrain runs the TrainSegment activity against l in the SDK's activity test environment.
func runTrain(l *memLauncher, in TrainSegmentInput) (converter.EncodedValue, error) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	a := &Activities{Launchers: map[string]train.Launcher{"mem": l}, PollInterval: time.Millisecond}
	env.RegisterActivity(a)
	return env.ExecuteActivity(a.TrainSegment, in)
}

func TestTrainSegment(t *testing.T) {
	t.Run("succeeds and reads the checkpoint", func(t *testing.T) {
		dir := t.TempDir()
		l := &memLauncher{jobs: map[string]*memJob{}, finishDir: dir}
		v, err := runTrain(l, TrainSegmentInput{Backend: "mem", Spec: spec(dir, 100)})
		if err != nil {
			t.Fatal(err)
		}
		var out TrainSegmentOutput
		if err := v.Get(&out); err != nil {
			t.Fatal(err)
		}
		if out.Step != 100 || out.Loss != 1.25 || out.Checkpoint != filepath.Join(dir, train.CheckpointName(100)) {
			t.Errorf("output %+v", out)
		}
	})
	t.Run("a retry reattaches instead of starting a second job", func(t *testing.T) {
		dir := t.TempDir()
		l := &memLauncher{jobs: map[string]*memJob{}, finishDir: dir}
		for range 2 {
			if _, err := runTrain(l, TrainSegmentInput{Backend: "mem", Spec: spec(dir, 100)}); err != nil {
				t.Fatal(err)
			}
		}
		if len(l.jobs) != 1 || l.submits != 2 {
			t.Errorf("%d jobs after %d submits, want 1 job", len(l.jobs), l.submits)
		}
	})
	t.Run("a checkpoint at the wrong step is an error", func(t *testing.T) {
		dir := t.TempDir()
		l := &memLauncher{jobs: map[string]*memJob{}, finishDir: dir}
		_, err := runTrain(l, TrainSegmentInput{Backend: "mem", Spec: spec(dir, 200)})
		assertAppErr(t, err, ErrTypeTrainJobFailed, "step 100, want 200")
	})
	t.Run("a failed job is permanent and carries its message", func(t *testing.T) {
		dir := t.TempDir()
		l := &memLauncher{jobs: map[string]*memJob{"wf/seg-0000": {doneAt: 99, failAt: 2}}, finishDir: dir}
		_, err := runTrain(l, TrainSegmentInput{Backend: "mem", Spec: spec(dir, 100)})
		assertAppErr(t, err, ErrTypeTrainJobFailed, "Traceback: boom")
	})
	t.Run("no capacity is typed for failover", func(t *testing.T) {
		l := &memLauncher{jobs: map[string]*memJob{}, noCap: true}
		_, err := runTrain(l, TrainSegmentInput{Backend: "mem", Spec: spec(t.TempDir(), 100)})
		assertAppErr(t, err, ErrTypeNoCapacity, "no capacity")
	})
	t.Run("an invalid spec is permanent", func(t *testing.T) {
		l := &memLauncher{jobs: map[string]*memJob{}}
		_, err := runTrain(l, TrainSegmentInput{Backend: "mem", Spec: train.JobSpec{}})
		assertAppErr(t, err, ErrTypeInvalidConfig, "idempotency_key")
	})
	t.Run("an unknown backend is permanent", func(t *testing.T) {
		l := &memLauncher{jobs: map[string]*memJob{}}
		_, err := runTrain(l, TrainSegmentInput{Backend: "trn9", Spec: spec(t.TempDir(), 100)})
		assertAppErr(t, err, ErrTypeUnknownBackend, "trn9")
	})
}

func assertAppErr(t *testing.T, err error, typ, substr string) {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("error %v is not an application error", err)
	}
	if appErr.Type() != typ || !appErr.NonRetryable() {
		t.Errorf("error type %q (non-retryable %v), want non-retryable %q", appErr.Type(), appErr.NonRetryable(), typ)
	}
	if !strings.Contains(err.Error(), substr) {
		t.Errorf("error %q does not contain %q", err.Error(), substr)
	}
}
