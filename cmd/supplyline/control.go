package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/supplyline/supplyline/worker"
	"github.com/supplyline/supplyline/workflows"
)

// runControl signals a run's training workflow: pause (after the running
// segment), resume, or abort (the running segment's job is stopped).
func runControl(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("control", flag.ContinueOnError)
	var tf temporalFlags
	tf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return errors.New("usage: supplyline control <workflow-id> pause|resume|abort")
	}
	id, action := fs.Arg(0), fs.Arg(1)
	signal := map[string]string{"pause": workflows.PauseSignal, "resume": workflows.ResumeSignal, "abort": workflows.AbortSignal}[action]
	if signal == "" {
		return fmt.Errorf("control: unknown action %q (pause, resume or abort)", action)
	}
	c, err := worker.Dial(ctx, tf.workerConfig())
	if err != nil {
		return err
	}
	defer c.Close()
	target := workflows.TrainingWorkflowID(id)
	if err := c.SignalWorkflow(ctx, target, "", signal, nil); err != nil {
		return fmt.Errorf("control %s: signalling %s: %w", action, target, err)
	}
	fmt.Fprintf(out, "sent %s to %s\n", signal, target)
	return nil
}
