package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/supplyline/supplyline/worker"
	"github.com/supplyline/supplyline/workflows"
)

func runDev(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	var tf temporalFlags
	tf.register(fs)
	uiPort := fs.Int("ui-port", 8233, "port of the Temporal Web UI")
	state := fs.String("state", ".run", "directory for the dev server's database, server log and local jobs")
	setLog := logLevelFlag(fs, "info")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := setLog(); err != nil {
		return err
	}
	stop, err := startLocalStack(ctx, &tf, *uiPort, *state, out)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintln(out, "dev stack running; Ctrl-C stops the worker and the server")
	<-ctx.Done()
	return nil
}

// startLocalStack starts the Temporal dev server (unless one already listens
// at tf.address) and a worker, and returns a function that stops both.
func startLocalStack(ctx context.Context, tf *temporalFlags, uiPort int, state string, out io.Writer) (func(), error) {
	if err := os.MkdirAll(state, 0o755); err != nil {
		return nil, err
	}
	var srv *devServer
	if listening(tf.address) {
		fmt.Fprintf(out, "using the Temporal server already at %s\n", tf.address)
	} else {
		logf, err := os.OpenFile(filepath.Join(state, "temporal.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		defer logf.Close()
		fmt.Fprintf(out, "starting the Temporal dev server at %s, Web UI at http://localhost:%d (state in %s)\n", tf.address, uiPort, state)
		if srv, err = startDevServer(ctx, tf.address, uiPort, filepath.Join(state, "temporal.db"), logf); err != nil {
			return nil, err
		}
		tf.uiURL = fmt.Sprintf("http://localhost:%d", uiPort)
	}
	stopServer := func() {
		if srv != nil {
			srv.stop()
		}
	}
	cfg := tf.workerConfig()
	cfg.JobsRoot = filepath.Join(state, "jobs")
	c, err := worker.Dial(ctx, cfg)
	if err != nil {
		stopServer()
		return nil, err
	}
	w, err := worker.New(c, cfg)
	if err == nil {
		err = w.Start()
	}
	if err != nil {
		c.Close()
		stopServer()
		return nil, fmt.Errorf("starting the worker: %w", err)
	}
	fmt.Fprintf(out, "worker polling task queue %q\n", workflows.TaskQueue)
	stop := func() {
		w.Stop()
		c.Close()
		stopServer()
	}
	return stop, nil
}
