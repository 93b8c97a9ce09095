package local

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/supplyline/supplyline/train"
)

// These tests run the real torchrun with testdata/fake_trainer.py as the
// entry, two ranks over gloo.

func requireTorchrun(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(DefaultTorchrun); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("no torchrun: %v", err)
		}
		t.Fatalf("CI is set but torchrun is missing: %v", err)
	}
}

// newTestLauncher returns a Launcher on root that runs the fake trainer in mode.
func newTestLauncher(t *testing.T, root, mode string, maxConcurrent int) *Launcher {
	t.Helper()
	return newTestLauncherGrace(t, root, mode, maxConcurrent, 5*time.Second)
}

func newTestLauncherGrace(t *testing.T, root, mode string, maxConcurrent int, grace time.Duration) *Launcher {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("testdata", "fake_trainer.py"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(Options{
		Root:          root,
		Entry:         []string{script, mode},
		MaxConcurrent: maxConcurrent,
		StopGrace:     grace,
		Logger:        testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

func testSpec(t *testing.T, key string) train.JobSpec {
	return train.JobSpec{
		IdempotencyKey: key,
		ShardManifest:  "file:///nonexistent/manifest.json",
		Model:          train.ModelConfig{VocabSize: 64}.WithDefaults(),
		Seed:           1,
		CheckpointDir:  t.TempDir(),
		TargetStep:     4,
	}
}

// testContext ends a little before the test's deadline, so that a stuck job
// fails the test with a message instead of a panic.
func testContext(t *testing.T) context.Context {
	ctx := context.Background()
	if dl, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-5*time.Second))
		t.Cleanup(cancel)
	}
	return ctx
}

// poll calls Describe until done accepts the status or ctx ends.
func poll(ctx context.Context, t *testing.T, l *Launcher, id train.JobID, done func(train.JobStatus) bool) train.JobStatus {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := l.Describe(ctx, id)
		if err != nil {
			t.Fatalf("Describe(%s): %v", id, err)
		}
		if done(st) {
			return st
		}
		select {
		case <-ctx.Done():
			logs := readLogs(t, l, id, 0)
			t.Fatalf("job %s still %s when the test ran out of time; log:\n%s", id, st.State, logs)
		case <-tick.C:
		}
	}
}

func final(st train.JobStatus) bool { return st.State.Final() }

func readLogs(t *testing.T, l *Launcher, id train.JobID, from int64) string {
	t.Helper()
	rc, err := l.Logs(context.Background(), id, from)
	if err != nil {
		t.Fatalf("Logs: %v", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// stopOnCleanup makes sure no job of a failed test outlives it.
func stopOnCleanup(t *testing.T, l *Launcher, id train.JobID) {
	t.Cleanup(func() { l.Stop(context.Background(), id) })
}

func jobDirs(t *testing.T, root string) []string {
	t.Helper()
	ents, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range ents {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	return dirs
}

func TestLauncher(t *testing.T) {
	requireTorchrun(t)

	t.Run("succeeds", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		root := t.TempDir()
		l := newTestLauncher(t, root, "ok", 2)

		// Eight racing Submits of one key and one Submit of another: two
		// jobs, on two rendezvous ports.
		const racers = 8
		ids := make([]train.JobID, racers)
		errs := make([]error, racers)
		var other train.JobID
		var otherErr error
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() { ids[i], errs[i] = l.Submit(ctx, testSpec(t, "wf-1/seg-0001")) })
		}
		wg.Go(func() { other, otherErr = l.Submit(ctx, testSpec(t, "wf-2/seg-0001")) })
		wg.Wait()
		for i := range racers {
			if errs[i] != nil {
				t.Fatalf("Submit %d: %v", i, errs[i])
			}
			if ids[i] != ids[0] {
				t.Fatalf("Submit %d returned %s, Submit 0 %s", i, ids[i], ids[0])
			}
			stopOnCleanup(t, l, ids[i])
		}
		if otherErr != nil {
			t.Fatalf("Submit of the second key: %v", otherErr)
		}
		stopOnCleanup(t, l, other)
		id := ids[0]
		if id == other {
			t.Fatalf("two keys got one ID %s", id)
		}
		if dirs := jobDirs(t, root); len(dirs) != 2 {
			t.Fatalf("job directories %v, want 2", dirs)
		}
		rec, err := readRecord(l.Dir(id))
		if err != nil {
			t.Fatal(err)
		}
		// A later Submit starts nothing either.
		if again, err := l.Submit(ctx, testSpec(t, "wf-1/seg-0001")); err != nil || again != id {
			t.Fatalf("Submit again = %s, %v; want %s", again, err, id)
		}
		if rec2, _ := readRecord(l.Dir(id)); rec2.PID != rec.PID {
			t.Fatalf("job.json pid changed from %d to %d", rec.PID, rec2.PID)
		}

		for _, id := range []train.JobID{id, other} {
			st := poll(ctx, t, l, id, final)
			if st.State != train.StateSucceeded || st.ExitCode != 0 {
				t.Fatalf("job %s ended %s (exit %d): %s\nlog:\n%s", id, st.State, st.ExitCode, st.Message, readLogs(t, l, id, 0))
			}
			want := train.Progress{Step: 4, Loss: 0.5, TokensSeen: 2048, Done: true}
			if st.Progress != want {
				t.Errorf("job %s progress %+v, want %+v", id, st.Progress, want)
			}
			if st.StartedAt.IsZero() || st.EndedAt.Before(st.StartedAt) {
				t.Errorf("job %s started %v, ended %v", id, st.StartedAt, st.EndedAt)
			}
			logs := readLogs(t, l, id, 0)
			for _, rank := range []string{"rank 0/2: rendezvous ok", "rank 1/2: rendezvous ok"} {
				if !strings.Contains(logs, rank) {
					t.Errorf("job %s log lacks %q:\n%s", id, rank, logs)
				}
			}
			if got := readLogs(t, l, id, 10); got != logs[10:] {
				t.Errorf("Logs from 10 = %q, want %q", got, logs[10:])
			}
			if got := readLogs(t, l, id, int64(len(logs)+100)); got != "" {
				t.Errorf("Logs past the end = %q", got)
			}
		}

		spec, err := os.ReadFile(filepath.Join(l.Dir(id), specFile))
		if err != nil || !strings.Contains(string(spec), `"world_size": 2`) {
			t.Errorf("spec.json = %s, %v; want world_size 2", spec, err)
		}
		if _, err := os.Stat(filepath.Join(l.Dir(id), "supplyline_trainer", "__init__.py")); err != nil {
			t.Errorf("trainer not extracted: %v", err)
		}
	})

	t.Run("fails", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		l := newTestLauncher(t, t.TempDir(), "fail", 0)
		id, err := l.Submit(ctx, testSpec(t, "wf-fail/seg-0001"))
		if err != nil {
			t.Fatal(err)
		}
		stopOnCleanup(t, l, id)
		st := poll(ctx, t, l, id, final)
		if st.State != train.StateFailed || st.ExitCode != 3 {
			t.Fatalf("ended %s with exit code %d, want failed with 3: %s", st.State, st.ExitCode, st.Message)
		}
		for _, want := range []string{"fake trainer failing on purpose", "exited with code 3"} {
			if !strings.Contains(st.Message, want) {
				t.Errorf("message lacks %q:\n%s", want, st.Message)
			}
		}
		if st.Progress.Step != 3 {
			t.Errorf("progress %+v, want step 3", st.Progress)
		}
	})

	t.Run("stop, capacity and reattach", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		root := t.TempDir()
		l := newTestLauncher(t, root, "sleep", 1)
		key := "wf-sleep/seg-0001"
		id, err := l.Submit(ctx, testSpec(t, key))
		if err != nil {
			t.Fatal(err)
		}
		stopOnCleanup(t, l, id)
		poll(ctx, t, l, id, func(st train.JobStatus) bool {
			if st.State.Final() {
				t.Fatalf("sleeper ended %s: %s", st.State, st.Message)
			}
			return st.Progress.Step == 3
		})

		// One job fills a MaxConcurrent of 1 ...
		_, err = l.Submit(ctx, testSpec(t, "wf-other/seg-0001"))
		var ce *train.CapacityError
		if !errors.Is(err, train.ErrNoCapacity) || !errors.As(err, &ce) || ce.Backend != "local" {
			t.Fatalf("Submit beyond capacity: %v, want a local CapacityError", err)
		}
		// ... but a retried Submit of the running job reattaches.
		if again, err := l.Submit(ctx, testSpec(t, key)); err != nil || again != id {
			t.Fatalf("Submit again = %s, %v; want %s", again, err, id)
		}

		// A restarted worker: a new Launcher on the same root.
		l2 := newTestLauncher(t, root, "sleep", 1)
		got, err := l2.Reattach(ctx, key)
		if err != nil || got != id {
			t.Fatalf("Reattach = %s, %v; want %s", got, err, id)
		}
		if _, err := l2.Reattach(ctx, "never-submitted"); !errors.Is(err, train.ErrJobNotFound) {
			t.Fatalf("Reattach of an unknown key: %v, want ErrJobNotFound", err)
		}
		st, err := l2.Describe(ctx, id)
		if err != nil || st.State != train.StateRunning || st.Progress.Step != 3 {
			t.Fatalf("Describe after reattach = %+v, %v; want running at step 3", st, err)
		}

		rec, err := readRecord(l.Dir(id))
		if err != nil {
			t.Fatal(err)
		}
		if err := l2.Stop(ctx, id); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		st, err = l2.Describe(ctx, id)
		if err != nil || st.State != train.StateStopped {
			t.Fatalf("Describe after Stop = %+v, %v; want stopped", st, err)
		}
		t.Logf("stopped: exit code %d, %q", st.ExitCode, st.Message)
		if err := l2.Stop(ctx, id); err != nil {
			t.Fatalf("second Stop: %v", err)
		}
		// The shell is this test's child and is reaped by l's goroutine;
		// until then kill sees its zombie.
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for syscall.Kill(-rec.PGID, 0) == nil {
			select {
			case <-ctx.Done():
				t.Fatalf("process group %d still exists after Stop", rec.PGID)
			case <-tick.C:
			}
		}
		if st, _ := l.Describe(ctx, id); st.State != train.StateStopped {
			t.Fatalf("Describe once the group is gone = %s", st.State)
		}
	})
}

// helperEnv names the root a re-executed test binary submits a job under
// (see TestSubmitterExits).
const helperEnv = "SUPPLYLINE_LOCAL_TEST_SUBMIT_ROOT"

// TestSubmitterExits submits a job from another process that exits at once,
// as a worker that crashes right after Submit would, and then finds, watches
// and stops the job from this one.
func TestSubmitterExits(t *testing.T) {
	if root := os.Getenv(helperEnv); root != "" {
		l := newTestLauncher(t, root, "sleep", 0)
		spec := testSpec(t, "wf-orphan/seg-0001")
		spec.CheckpointDir = filepath.Join(root, "checkpoints") // t.TempDir would outlive os.Exit
		if _, err := l.Submit(context.Background(), spec); err != nil {
			t.Fatal(err)
		}
		os.Exit(0) // no cleanup, no Wait: the job must live on without us
	}
	requireTorchrun(t)
	t.Parallel()
	ctx := testContext(t)
	root := t.TempDir()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSubmitterExits$")
	cmd.Env = append(os.Environ(), helperEnv+"="+root)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("submitting process: %v\n%s", err, out)
	}

	l := newTestLauncher(t, root, "sleep", 0)
	id, err := l.Reattach(ctx, "wf-orphan/seg-0001")
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, l, id)
	poll(ctx, t, l, id, func(st train.JobStatus) bool {
		if st.State != train.StateRunning {
			t.Fatalf("job of an exited submitter is %s: %s\nlog:\n%s", st.State, st.Message, readLogs(t, l, id, 0))
		}
		return st.Progress.Step == 3
	})
	rec, err := readRecord(l.Dir(id))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Stop(ctx, id); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if st, err := l.Describe(ctx, id); err != nil || st.State != train.StateStopped {
		t.Fatalf("Describe after Stop = %+v, %v; want stopped", st, err)
	}
	// The shell is no child of ours, and whether anyone reaps it depends on
	// this machine's init; groupAlive does not count zombies.
	if groupAlive(rec) {
		t.Fatalf("process group %d still has live members", rec.PGID)
	}
}

// TestStopKills stops a job whose ranks ignore SIGTERM: Stop must fall back
// to SIGKILL once the grace period is over.
func TestStopKills(t *testing.T) {
	requireTorchrun(t)
	t.Parallel()
	ctx := testContext(t)
	l := newTestLauncherGrace(t, t.TempDir(), "stubborn", 0, time.Second)
	id, err := l.Submit(ctx, testSpec(t, "wf-stubborn/seg-0001"))
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, l, id)
	poll(ctx, t, l, id, func(st train.JobStatus) bool { return st.Progress.Step == 3 })
	rec, err := readRecord(l.Dir(id))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Stop(ctx, id); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if groupAlive(rec) {
		t.Fatal("process group survived Stop")
	}
	if st, err := l.Describe(ctx, id); err != nil || st.State != train.StateStopped {
		t.Fatalf("Describe after Stop = %+v, %v; want stopped", st, err)
	}
}

func TestLauncherNotFound(t *testing.T) {
	l, err := New(Options{Root: t.TempDir(), Torchrun: "/bin/true", Python: "/bin/true"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, id := range []train.JobID{"0123456789abcdef", "../../etc", ""} {
		if _, err := l.Describe(ctx, id); !errors.Is(err, train.ErrJobNotFound) {
			t.Errorf("Describe(%q) = %v, want ErrJobNotFound", id, err)
		}
		if err := l.Stop(ctx, id); !errors.Is(err, train.ErrJobNotFound) {
			t.Errorf("Stop(%q) = %v, want ErrJobNotFound", id, err)
		}
		if _, err := l.Logs(ctx, id, 0); !errors.Is(err, train.ErrJobNotFound) {
			t.Errorf("Logs(%q) = %v, want ErrJobNotFound", id, err)
		}
	}
	if _, err := l.Logs(ctx, "0123456789abcdef", -1); !errors.Is(err, ErrBadOffset) {
		t.Errorf("Logs at -1 = %v, want ErrBadOffset", err)
	}
	if _, err := l.Submit(ctx, train.JobSpec{}); !errors.Is(err, train.ErrInvalidSpec) {
		t.Errorf("Submit of an empty spec = %v, want ErrInvalidSpec", err)
	}
	if _, err := New(Options{Root: t.TempDir(), Torchrun: "/nonexistent/torchrun"}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("New without torchrun = %v, want ErrUnavailable", err)
	}
}
