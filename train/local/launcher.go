package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/supplyline/supplyline/train"
)

// Launcher runs train jobs with torchrun on this host. It keeps no state in
// memory: everything lives under Options.Root, so any number of Launchers,
// in one process or several, may share a Root, and a new one picks up the
// jobs of an old one.
type Launcher struct {
	opts Options
	log  *slog.Logger
	gpus int // NVIDIA GPUs found by New; zero runs the ranks on the CPU
}

var _ train.Launcher = (*Launcher)(nil)

// New returns a Launcher for opts, creating Options.Root. It returns an error
// wrapping ErrUnavailable when torchrun or Python cannot be found.
func New(opts Options) (*Launcher, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	// Resolve both now: torchrun is passed to Python as a script path, and a
	// job's argv should not depend on the PATH of the worker that started it.
	for _, p := range []*string{&o.Python, &o.Torchrun} {
		path, err := exec.LookPath(*p)
		if err == nil {
			path, err = filepath.Abs(path)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		*p = path
	}
	if err := os.MkdirAll(o.Root, 0o755); err != nil {
		return nil, fmt.Errorf("local: root: %w", err)
	}
	l := &Launcher{opts: o, log: o.Logger.With("launcher", "local"), gpus: hostGPUs()}
	if l.gpus > 0 {
		l.log.Info("GPUs found: ranks default to one per GPU on CUDA", "gpus", l.gpus)
	}
	return l, nil
}

// Name returns "local".
func (l *Launcher) Name() string { return "local" }

// Root returns the directory that holds the jobs.
func (l *Launcher) Root() string { return l.opts.Root }

// Dir returns the directory of job id, whether or not the job exists.
func (l *Launcher) Dir(id train.JobID) string { return filepath.Join(l.opts.Root, string(id)) }

// Submit starts spec as a detached torchrun job, or returns the ID of the job
// already started under spec.IdempotencyKey. Errors wrap train.ErrInvalidSpec
// for a bad spec and train.ErrNoCapacity (as *train.CapacityError) when
// Options.MaxConcurrent jobs already run under Root.
func (l *Launcher) Submit(ctx context.Context, spec train.JobSpec) (train.JobID, error) {
	if err := spec.Validate(); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	id := jobID(spec.IdempotencyKey)
	dir := l.Dir(id)
	log := l.log.With("job", string(id), "key", spec.IdempotencyKey)

	unlock, err := l.lock()
	if err != nil {
		return "", err
	}
	defer unlock()

	if r, err := readRecord(dir); err == nil {
		if r.Key != spec.IdempotencyKey {
			return "", fmt.Errorf("local: job %s belongs to key %q, not %q", id, r.Key, spec.IdempotencyKey)
		}
		log.Info("reattached to existing job")
		return id, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(dir, stoppedFile)); err == nil {
		return id, nil // interrupted, then stopped before it ever ran
	}
	if n, err := l.running(); err != nil {
		return "", err
	} else if n >= l.opts.MaxConcurrent {
		return "", &train.CapacityError{
			Backend: l.Name(),
			Reason:  fmt.Sprintf("%d of %d jobs running under %s", n, l.opts.MaxConcurrent, l.opts.Root),
		}
	}
	// The lock makes check-then-create atomic, so concurrent Submits of one
	// key start one job. Under it the directory can only exist without
	// job.json when an earlier Submit died between mkdir and writing it:
	// finish that Submit's work. (A death in the instant between starting
	// the job and writing job.json would start it twice.)
	switch err := os.Mkdir(dir, 0o755); {
	case errors.Is(err, os.ErrExist):
		log.Warn("job directory without job.json: finishing an interrupted submit")
	case err != nil:
		return "", fmt.Errorf("local: job directory: %w", err)
	}
	if err := l.launch(dir, id, spec, log); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("local: submit %s: %w", id, err)
	}
	return id, nil
}

// lock takes the Root's submit lock. flock locks belong to an open file, so
// the lock holds between goroutines of one process as well as between
// processes, and the kernel drops it when a holder dies.
func (l *Launcher) lock() (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(l.opts.Root, lockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("local: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("local: lock: %w", err)
	}
	return func() { f.Close() }, nil
}

// running counts the jobs under Root whose processes are alive.
func (l *Launcher) running() (int, error) {
	ents, err := os.ReadDir(l.opts.Root)
	if err != nil {
		return 0, fmt.Errorf("local: capacity: %w", err)
	}
	n := 0
	for _, e := range ents {
		if !e.IsDir() || !validID(train.JobID(e.Name())) {
			continue
		}
		dir := filepath.Join(l.opts.Root, e.Name())
		if _, err := os.Stat(filepath.Join(dir, exitCodeFile)); err == nil {
			continue
		}
		if r, err := readRecord(dir); err == nil && groupAlive(r) {
			n++
		}
	}
	return n, nil
}

// wrapper runs torchrun (its argv follows as "$@") and records its exit
// status. The shell traps SIGTERM so that it outlives a Stop long enough to
// record how torchrun ended; a caught signal is reset for the command it
// runs, so torchrun still gets SIGTERM's default meaning.
const wrapper = `trap 'true' TERM; "$@"; echo $? >` + exitCodeFile + `.tmp && mv ` + exitCodeFile + `.tmp ` + exitCodeFile

func (l *Launcher) launch(dir string, id train.JobID, spec train.JobSpec, log *slog.Logger) error {
	nproc, deviceEnv := rankPlan(l.opts.NProcPerNode, spec.WorldSize, l.gpus, os.Getenv(DeviceEnv))
	spec.WorldSize = nproc
	if spec.LoaderLib == "" {
		spec.LoaderLib = l.opts.LoaderLib
	}
	specPath := filepath.Join(dir, specFile)
	if err := writeJSON(dir, specFile, spec); err != nil {
		return fmt.Errorf("spec: %w", err)
	}
	if err := extractTrainer(dir); err != nil {
		return fmt.Errorf("trainer: %w", err)
	}

	argv := []string{
		l.opts.Python, l.opts.Torchrun,
		"--nnodes=1",
		"--nproc_per_node=" + strconv.Itoa(nproc),
		// Port 0: the rendezvous store takes a free port, so that
		// concurrent jobs never meet on torchrun's default 29400.
		"--rdzv_backend=c10d",
		"--rdzv_endpoint=localhost:0",
		"--rdzv_id=" + string(id),
		"--max_restarts=0",
		// Notice ended ranks within a second rather than five.
		"--monitor_interval=1",
	}
	if nproc <= 9 {
		// torch 1.13 under Python 3.11 cannot parse the defaults of these
		// flags (Std.from_str("0") returns None, as IntFlag no longer
		// iterates its zero member) and fails before starting any rank. A
		// mapping for a local rank that does not exist means "no redirect"
		// and parses everywhere; its syntax allows one digit.
		argv = append(argv, "--redirects=9:1", "--tee=9:1")
	}
	entry := l.opts.Entry
	if len(entry) == 0 {
		entry = []string{"-m", "supplyline_trainer.train", "--spec", specPath}
	}
	argv = append(argv, entry...)

	env := append(os.Environ(),
		"GOMAXPROCS=1",
		"OMP_NUM_THREADS=1",
		"OPENBLAS_NUM_THREADS=1",
		"MKL_NUM_THREADS=1",
		"PYTHONUNBUFFERED=1",
		"PYTHONPATH="+dir,
		LoaderLibEnv+"="+spec.LoaderLib,
		"SUPPLYLINE_SPEC="+specPath,
	)
	env = append(env, deviceEnv...)
	env = append(env, l.opts.ExtraEnv...) // os/exec keeps the last of duplicate keys

	logf, err := os.OpenFile(filepath.Join(dir, logFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("log: %w", err)
	}
	defer logf.Close()
	cmd := &exec.Cmd{
		Path:   "/bin/sh",
		Args:   append([]string{"sh", "-c", wrapper, "sh"}, argv...),
		Dir:    dir,
		Env:    env,
		Stdin:  nil, // /dev/null
		Stdout: logf,
		Stderr: logf,
		// A session of its own: no signal meant for the worker's terminal
		// or process group reaches the job, and the job's process group is
		// the shell's PID.
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	// Reap the shell when it ends so it leaves no zombie while this process
	// lives. Wait does not bind the job to this process: if the worker dies
	// first, init adopts and reaps the shell.
	go cmd.Wait()

	pid := cmd.Process.Pid
	r := record{
		Key:       spec.IdempotencyKey,
		PID:       pid,
		PGID:      pid,
		BootID:    bootID(),
		StartedAt: time.Now().UTC(),
		Cmd:       argv,
	}
	if st, err := readProcStat(pid); err == nil {
		r.StartTicks = st.startTicks
	}
	if err := writeJSON(dir, recordFile, r); err != nil {
		syscall.Kill(-pid, syscall.SIGKILL)
		return fmt.Errorf("record: %w", err)
	}
	log.Info("job started", "pid", pid, "nproc", nproc, "dir", dir)
	return nil
}

// Reattach returns the ID of the job submitted under idempotencyKey, or an
// error wrapping train.ErrJobNotFound.
func (l *Launcher) Reattach(ctx context.Context, idempotencyKey string) (train.JobID, error) {
	id := jobID(idempotencyKey)
	if _, err := l.existing(id); err != nil {
		return "", err
	}
	return id, nil
}

// existing returns the directory of job id, or an error wrapping
// train.ErrJobNotFound.
func (l *Launcher) existing(id train.JobID) (string, error) {
	if !validID(id) {
		return "", fmt.Errorf("%w: %q is not a local job ID", train.ErrJobNotFound, id)
	}
	dir := l.Dir(id)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%w: %s", train.ErrJobNotFound, id)
	} else if err != nil {
		return "", fmt.Errorf("local: %w", err)
	}
	return dir, nil
}

// Stop marks the job stopped, sends SIGTERM to its process group and, if the
// group outlives Options.StopGrace, SIGKILL. It returns once the processes
// are gone, so that Describe then reports train.StateStopped. Stopping an
// ended job changes nothing.
func (l *Launcher) Stop(ctx context.Context, id train.JobID) error {
	dir, err := l.existing(id)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, exitCodeFile)); err == nil {
		return nil
	}
	if err := writeFileAtomic(dir, stoppedFile, []byte(time.Now().UTC().Format(time.RFC3339Nano)+"\n")); err != nil {
		return fmt.Errorf("local: stop %s: %w", id, err)
	}
	r, err := readRecord(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil // never started; the marker keeps it that way
	} else if err != nil {
		return err
	}
	if !groupAlive(r) {
		return nil
	}
	log := l.log.With("job", string(id), "pgid", r.PGID)
	log.Info("stopping job", "grace", l.opts.StopGrace)
	if err := syscall.Kill(-r.PGID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("local: stop %s: %w", id, err)
	}
	grace := time.NewTimer(l.opts.StopGrace)
	defer grace.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	killed := false
	for groupAlive(r) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("local: stop %s: %w", id, ctx.Err())
		case <-grace.C:
			if !killed {
				log.Warn("job outlived its stop grace; killing it")
				syscall.Kill(-r.PGID, syscall.SIGKILL)
				killed = true
			}
		case <-tick.C:
		}
	}
	log.Info("job stopped")
	return nil
}

// Logs returns the job's combined output (torchrun and every rank) from
// byte offset from. An offset past the end reads nothing.
func (l *Launcher) Logs(ctx context.Context, id train.JobID, from int64) (io.ReadCloser, error) {
	if from < 0 {
		return nil, fmt.Errorf("%w: %d", ErrBadOffset, from)
	}
	dir, err := l.existing(id)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, logFile))
	if errors.Is(err, os.ErrNotExist) {
		return io.NopCloser(strings.NewReader("")), nil // not started yet
	} else if err != nil {
		return nil, fmt.Errorf("local: logs %s: %w", id, err)
	}
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("local: logs %s: %w", id, err)
	}
	return f, nil
}
