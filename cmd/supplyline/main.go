// Command supplyline is the Supplyline CLI: dev, worker, run, status,
// schedule, gen and demo. See `supplyline help`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "supplyline:", err)
		os.Exit(1)
	}
}
