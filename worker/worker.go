package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/supplyline/supplyline/activities"
	"github.com/supplyline/supplyline/train"
	"github.com/supplyline/supplyline/train/local"
	"github.com/supplyline/supplyline/train/sagemaker"
	"github.com/supplyline/supplyline/workflows"
)

// Config configures a worker. The zero value dials localhost:7233.
type Config struct {
	// HostPort of the Temporal frontend. Empty means $TEMPORAL_ADDRESS or localhost:7233.
	HostPort string
	// Namespace. Empty means "default".
	Namespace string
	// TaskQueue. Empty means workflows.TaskQueue.
	TaskQueue string
	// JobsRoot is where local training jobs live. Empty means .run/jobs.
	JobsRoot string
	// LoaderLib is the Go loader's C shared library. Empty means FindLoaderLib.
	LoaderLib string
	// Logger for the SDK and the worker. Nil means slog.Default().
	Logger *slog.Logger
	// SageMaker configures SageMaker backends, one per entry (for example a
	// trn1 and a p5 launcher); runs name them in their backend preference
	// list. Empty means none.
	SageMaker []sagemaker.Options
}

func (c Config) withDefaults() Config {
	if c.HostPort == "" {
		c.HostPort = os.Getenv("TEMPORAL_ADDRESS")
	}
	if c.HostPort == "" {
		c.HostPort = client.DefaultHostPort
	}
	if c.Namespace == "" {
		c.Namespace = client.DefaultNamespace
	}
	if c.TaskQueue == "" {
		c.TaskQueue = workflows.TaskQueue
	}
	if c.JobsRoot == "" {
		c.JobsRoot = filepath.Join(".run", "jobs")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Dial connects a client with cfg's address, namespace and logger.
func Dial(ctx context.Context, cfg Config) (client.Client, error) {
	cfg = cfg.withDefaults()
	c, err := client.DialContext(ctx, client.Options{HostPort: cfg.HostPort, Namespace: cfg.Namespace, Logger: log.NewStructuredLogger(cfg.Logger)})
	if err != nil {
		return nil, fmt.Errorf("dialing Temporal at %s: %w", cfg.HostPort, err)
	}
	return c, nil
}

// New builds a worker on c with every workflow and activity registered.
func New(c client.Client, cfg Config) (sdkworker.Worker, error) {
	cfg = cfg.withDefaults()
	lib := cfg.LoaderLib
	if lib == "" {
		var err error
		if lib, err = FindLoaderLib(); err != nil {
			return nil, err
		}
	}
	root, err := filepath.Abs(cfg.JobsRoot)
	if err != nil {
		return nil, err
	}
	acts := &activities.Activities{Launchers: map[string]train.Launcher{}, LoaderLib: lib, Client: c}
	// A worker without torchrun still runs workflows and the other
	// activities; runs whose backends it lacks fail with UnknownBackend.
	switch l, err := local.New(local.Options{Root: root, LoaderLib: lib, Logger: cfg.Logger}); {
	case errors.Is(err, local.ErrUnavailable):
		cfg.Logger.Warn("local training backend unavailable", "error", err)
	case err != nil:
		return nil, fmt.Errorf("local launcher: %w", err)
	default:
		acts.Launchers[l.Name()] = l
	}
	for _, o := range cfg.SageMaker {
		if o.LoaderLib == "" {
			o.LoaderLib = lib
		}
		if o.Logger == nil {
			o.Logger = cfg.Logger
		}
		l, err := sagemaker.New(context.Background(), o)
		if err != nil {
			return nil, fmt.Errorf("sagemaker launcher %s: %w", o.Backend, err)
		}
		acts.Launchers[l.Name()] = l
	}
	// WorkerStopTimeout gives activities time to report before the worker
	// exits; training segments leave their jobs running for the next worker.
	w := sdkworker.New(c, cfg.TaskQueue, sdkworker.Options{WorkerStopTimeout: 5 * time.Second})
	Register(w, acts)
	return w, nil
}

// Register puts every workflow and the activities of acts on w.
func Register(w sdkworker.Registry, acts *activities.Activities) {
	w.RegisterWorkflow(workflows.Pipeline)
	w.RegisterWorkflow(workflows.Champion)
	w.RegisterWorkflow(workflows.Training)
	w.RegisterActivity(acts)
}

// Run dials Temporal and runs a worker until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	cfg = cfg.withDefaults()
	c, err := Dial(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	w, err := New(c, cfg)
	if err != nil {
		return err
	}
	if err := w.Start(); err != nil {
		return err
	}
	cfg.Logger.Info("worker started", "address", cfg.HostPort, "namespace", cfg.Namespace, "task_queue", cfg.TaskQueue)
	<-ctx.Done()
	w.Stop()
	if errors.Is(ctx.Err(), context.Canceled) {
		return nil
	}
	return ctx.Err()
}
