package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// findTemporal locates the Temporal CLI: $TEMPORAL_CLI, PATH, then $GOPATH/bin.
func findTemporal() (string, error) {
	if p := os.Getenv("TEMPORAL_CLI"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		home, _ := os.UserHomeDir()
		gopath = filepath.Join(home, "go")
	}
	p := filepath.Join(gopath, "bin", "temporal")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", errors.New("the Temporal CLI was not found ($TEMPORAL_CLI, PATH, $GOPATH/bin): run `make tools`")
}

// devServer is a `temporal server start-dev` child process.
type devServer struct {
	cmd  *exec.Cmd
	done chan error
}

// startDevServer starts the dev server on address with its UI on uiPort and
// its state in dbFile (so runs survive a restart), and waits until it accepts connections.
func startDevServer(ctx context.Context, address string, uiPort int, dbFile string, logw io.Writer) (*devServer, error) {
	bin, err := findTemporal()
	if err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", address, err)
	}
	if err := os.MkdirAll(filepath.Dir(dbFile), 0o755); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "server", "start-dev", "--ip", host, "--port", port,
		"--ui-port", fmt.Sprint(uiPort), "--db-filename", dbFile, "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = logw, logw
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	s := &devServer{cmd: cmd, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", address, time.Second); err == nil {
			c.Close()
			return s, nil
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("temporal dev server exited during start-up: %v", err)
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("temporal dev server did not listen on %s within 60s", address)
		}
	}
}

func (s *devServer) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// listening reports whether something accepts TCP connections at address.
func listening(address string) bool {
	c, err := net.DialTimeout("tcp", address, 500*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
