package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/supplyline/supplyline/worker"
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string, out io.Writer) error
}

var commands = map[string]command{
	"control":  {"pause, resume or abort a run's training (signals to its training workflow)", runControl},
	"dev":      {"start the Temporal dev server (UI on :8233) and a worker; Ctrl-C stops both", runDev},
	"worker":   {"run a worker against an existing Temporal server", runWorker},
	"run":      {"start a pipeline run from a run-config file; prints the workflow ID and UI link", runRun},
	"status":   {"show a run: state, stage, step, loss, pending activities", runStatus},
	"schedule": {"manage the nightly retraining Schedule (create)", runSchedule},
	"gen":      {"generate a synthetic retail and logistics event dataset as Parquet", runGen},
	"import":   {"import a real dataset as canonical events: olist, or a CSV/Parquet table with a column mapping", runImport},
	"demo":     {"the whole job: dev server, worker, dataset, pipeline run, scorecard", runDemo},
	"eval":     {"score one checkpoint on the evaluation tasks; writes scorecard.json and scorecard.md", runEval},
	"promote":  {"offer a scorecard to the champion workflow (validated Update), roll back, or show the champion", runPromote},
}

// Run is the CLI: args are the arguments after the program name.
func Run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(out)
		return nil
	}
	c, ok := commands[args[0]]
	if !ok {
		usage(os.Stderr)
		return fmt.Errorf("unknown command %q", args[0])
	}
	return c.run(ctx, args[1:], out)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: supplyline <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun `supplyline <command> -h` for a command's flags.")
}

// temporalFlags are the connection flags every client command shares.
type temporalFlags struct {
	address   string
	namespace string
	uiURL     string
}

func (t *temporalFlags) register(fs *flag.FlagSet) {
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		addr = "localhost:7233"
	}
	fs.StringVar(&t.address, "address", addr, "Temporal frontend host:port ($TEMPORAL_ADDRESS)")
	fs.StringVar(&t.namespace, "namespace", "default", "Temporal namespace")
	fs.StringVar(&t.uiURL, "ui", "http://localhost:8233", "base URL of the Temporal Web UI, for links")
}

func (t *temporalFlags) workerConfig() worker.Config {
	return worker.Config{HostPort: t.address, Namespace: t.namespace}
}

// runLink is the Web UI address of one run.
func (t *temporalFlags) runLink(workflowID, runID string) string {
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history", strings.TrimRight(t.uiURL, "/"), t.namespace, workflowID, runID)
}

// logLevelFlag registers --log-level and returns a function that installs
// the chosen level as slog's default (the worker and the SDK log through it).
func logLevelFlag(fs *flag.FlagSet, def string) func() error {
	lvl := fs.String("log-level", def, "log level of the worker and the Temporal SDK: debug, info, warn or error")
	return func() error {
		var l slog.Level
		if err := l.UnmarshalText([]byte(*lvl)); err != nil {
			return fmt.Errorf("--log-level: %w", err)
		}
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})))
		return nil
	}
}
