package local

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Options configure a Launcher. The zero value runs the embedded trainer with
// Debian's torchrun on two CPU processes, or one process per GPU on a host
// with NVIDIA GPUs.
type Options struct {
	// Root is the directory that holds one directory per job. Empty means
	// $XDG_STATE_HOME/supplyline/jobs, or ~/.local/state/supplyline/jobs when
	// XDG_STATE_HOME is unset. Launchers that share a Root share its jobs and
	// its capacity.
	Root string
	// Torchrun is the torchrun console script. Empty means /usr/bin/torchrun.
	// It is run by Python rather than through its #! line, because torchrun
	// starts the ranks with its own interpreter: Python therefore decides
	// which interpreter (and which torch) the ranks get.
	Torchrun string
	// Python is the interpreter that runs torchrun and so every rank. Empty
	// means /usr/bin/python3.
	Python string
	// Entry is what torchrun runs, placed after torchrun's own flags: a
	// script path and its arguments, or "-m", a module and its arguments.
	// Empty means the embedded trainer:
	//
	//	-m supplyline_trainer.train --spec <jobdir>/spec.json
	//
	// Every rank starts in the job directory, with SUPPLYLINE_SPEC set to the
	// spec's path, so a custom entry can find the spec too.
	Entry []string
	// NProcPerNode is the number of ranks. Zero means one per GPU when New
	// finds NVIDIA GPUs (nvidia-smi -L, else /dev/nvidiaN, narrowed by
	// CUDA_VISIBLE_DEVICES), and the ranks then get SUPPLYLINE_DEVICE=cuda
	// unless the worker's environment sets it; without GPUs it means the
	// spec's WorldSize, or 2 when that is zero too. The spec.json the trainer
	// reads carries the number actually used as its world_size (so on a GPU
	// host, set the spec's hyper.global_batch to keep the global batch of a
	// run whose segments may run elsewhere).
	NProcPerNode int
	// LoaderLib is the path of libsupplyline_loader.so, passed to every rank
	// as SUPPLYLINE_LOADER_LIB. A spec's own LoaderLib wins over it. Empty
	// means the worker's SUPPLYLINE_LOADER_LIB environment variable.
	LoaderLib string
	// ExtraEnv holds "KEY=value" entries added to every rank's environment
	// after the launcher's own, so they can override them.
	ExtraEnv []string
	// MaxConcurrent is the number of jobs that may run at once under Root;
	// Submit returns a *train.CapacityError beyond it. Zero means 2: two
	// jobs of two ranks each already fill a small machine.
	MaxConcurrent int
	// StopGrace is how long Stop waits after SIGTERM before it sends SIGKILL
	// to the job's process group. Zero means 10s.
	StopGrace time.Duration
	// Logger receives the launcher's structured logs. Nil means slog.Default().
	Logger *slog.Logger
}

// Defaults for the zero values of Options.
const (
	DefaultTorchrun      = "/usr/bin/torchrun"
	DefaultPython        = "/usr/bin/python3"
	DefaultNProcPerNode  = 2
	DefaultMaxConcurrent = 2
	DefaultStopGrace     = 10 * time.Second
)

// LoaderLibEnv names the environment variable that carries the loader
// library's path, to the launcher (as a default) and to every rank.
const LoaderLibEnv = "SUPPLYLINE_LOADER_LIB"

// Validate reports every problem with o at once.
func (o Options) Validate() error {
	var errs []error
	if o.NProcPerNode < 0 {
		errs = append(errs, fmt.Errorf("nproc_per_node: must not be negative, got %d", o.NProcPerNode))
	}
	if o.MaxConcurrent < 0 {
		errs = append(errs, fmt.Errorf("max_concurrent: must not be negative, got %d", o.MaxConcurrent))
	}
	if o.StopGrace < 0 {
		errs = append(errs, fmt.Errorf("stop_grace: must not be negative, got %s", o.StopGrace))
	}
	for _, kv := range o.ExtraEnv {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			errs = append(errs, fmt.Errorf("extra_env: %q is not KEY=value", kv))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("local: options: %w", err)
	}
	return nil
}

// withDefaults returns o with its zero fields filled in.
func (o Options) withDefaults() (Options, error) {
	if o.Root == "" {
		state := os.Getenv("XDG_STATE_HOME")
		if state == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return o, fmt.Errorf("local: default root: %w", err)
			}
			state = filepath.Join(home, ".local", "state")
		}
		o.Root = filepath.Join(state, "supplyline", "jobs")
	}
	root, err := filepath.Abs(o.Root)
	if err != nil {
		return o, fmt.Errorf("local: root: %w", err)
	}
	o.Root = root
	if o.Torchrun == "" {
		o.Torchrun = DefaultTorchrun
	}
	if o.Python == "" {
		o.Python = DefaultPython
	}
	if o.LoaderLib == "" {
		o.LoaderLib = os.Getenv(LoaderLibEnv)
	}
	if o.MaxConcurrent == 0 {
		o.MaxConcurrent = DefaultMaxConcurrent
	}
	if o.StopGrace == 0 {
		o.StopGrace = DefaultStopGrace
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Entry = append([]string(nil), o.Entry...)
	o.ExtraEnv = append([]string(nil), o.ExtraEnv...)
	return o, nil
}
