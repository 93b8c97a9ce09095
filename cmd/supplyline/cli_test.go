package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/supplyline/supplyline/workflows"
)

// TestScheduleCreate creates the nightly Schedule through the CLI on a real
// dev server, checks its spec and overlap policy, triggers it, and checks
// that the run it started got the scheduled time as its logical date.
func TestScheduleCreate(t *testing.T) {
	srv := startTestServer(t)
	startTestWorker(t, srv)
	ctx := context.Background()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "run.json")
	// An input that does not exist: the triggered run fails fast in Ingest,
	// which is all this test needs of it.
	writeJSON(t, cfgPath, map[string]any{"inputs": []string{filepath.Join(dir, "missing")}, "work_dir": filepath.Join(dir, "runs")})

	var out bytes.Buffer
	if err := Run(ctx, []string{"schedule", "create", "--address", srv.FrontendHostPort(), "--config", cfgPath, "--id", "nightly-test"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "schedule nightly-test") {
		t.Errorf("output %q does not name the schedule", out.String())
	}
	h := srv.Client().ScheduleClient().GetHandle(ctx, "nightly-test")
	desc, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := desc.Schedule.Policy.Overlap; got != enumspb.SCHEDULE_OVERLAP_POLICY_SKIP {
		t.Errorf("overlap policy %v, want skip", got)
	}
	cal := desc.Schedule.Spec.Calendars
	if len(cal) != 1 || len(cal[0].Hour) != 1 || cal[0].Hour[0].Start != 2 || len(cal[0].Minute) != 1 || cal[0].Minute[0].Start != 0 {
		t.Errorf("schedule spec %+v, want every day at 02:00", desc.Schedule.Spec)
	}
	if next := desc.Info.NextActionTimes; len(next) == 0 || next[0].UTC().Hour() != 2 || next[0].UTC().Minute() != 0 {
		t.Errorf("next action times %v, want 02:00 UTC", next)
	}

	before := time.Now().Add(-time.Minute)
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	var wfID string
	for deadline := time.Now().Add(30 * time.Second); wfID == "" && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		d, err := h.Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Info.RecentActions) > 0 {
			wfID = d.Info.RecentActions[0].StartWorkflowResult.WorkflowID
		}
	}
	if wfID == "" {
		t.Fatal("the triggered schedule started no workflow within 30s")
	}
	err = srv.Client().GetWorkflow(ctx, wfID, "").Get(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("the scheduled run should fail naming its missing input, got %v", err)
	}
	v, err := srv.Client().QueryWorkflow(ctx, wfID, "", workflows.ProgressQuery)
	if err != nil {
		t.Fatal(err)
	}
	var p workflows.Progress
	if err := v.Get(&p); err != nil {
		t.Fatal(err)
	}
	if p.LogicalDate.Before(before) || p.LogicalDate.After(time.Now().Add(time.Minute)) {
		t.Errorf("logical date %s is not the trigger's scheduled time (~now)", p.LogicalDate)
	}
	if p.Stage != "failed" || !strings.Contains(p.Error, "missing") {
		t.Errorf("progress %+v, want stage failed with the missing input named", p)
	}
	if err := h.Delete(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestDev runs `supplyline dev` and checks that it brings up the server, the
// Web UI and a polling worker, and that cancelling it stops them.
func TestDev(t *testing.T) {
	addr, ui := freeAddr(t), freeAddr(t)
	_, uiPort, _ := net.SplitHostPort(ui)
	state := t.TempDir()
	t.Setenv("SUPPLYLINE_LOADER_LIB", loaderLib)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() {
		done <- Run(ctx, []string{"dev", "--address", addr, "--ui-port", uiPort, "--state", state}, &out)
		close(done)
	}()
	defer func() {
		cancel()
		for range done {
		}
	}()
	c, err := waitForClient(t, addr, done)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := http.Get("http://127.0.0.1:" + uiPort + "/")
	if err != nil {
		t.Fatalf("Web UI: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("Web UI answered %s", resp.Status)
	}
	var pollers int
	for deadline := time.Now().Add(30 * time.Second); pollers == 0 && time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		tq, err := c.DescribeTaskQueue(context.Background(), workflows.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err != nil {
			t.Fatal(err)
		}
		pollers = len(tq.GetPollers())
	}
	if pollers == 0 {
		t.Error("no worker polls the task queue")
	}
	if _, err := os.Stat(filepath.Join(state, "temporal.db")); err != nil {
		t.Errorf("the dev server keeps no state file: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("dev returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("dev did not stop within 30s of Ctrl-C")
	}
	if listening(addr) {
		t.Error("the dev server still listens after dev stopped")
	}
}

func waitForClient(t *testing.T, addr string, done <-chan error) (client.Client, error) {
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			return nil, fmt.Errorf("dev exited early: %v", err)
		default:
		}
		if listening(addr) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			c, err := client.DialContext(ctx, client.Options{HostPort: addr})
			cancel()
			if err == nil {
				return c, nil
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	return nil, errors.New("dev server did not come up within 90s")
}

// TestDockerCompose validates docker-compose.yml with Debian's docker-compose
// (no engine needed) and checks that it is the deployment the README describes.
func TestDockerCompose(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Fatal("docker-compose not found: run `make tools` (Debian package docker-compose)")
	}
	file, _ := filepath.Abs("../../docker-compose.yml")
	services := func(path string) ([]string, error) {
		out, err := exec.Command(bin, "-f", path, "config", "--services").CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("%v: %s", err, out)
		}
		s := strings.Fields(string(out))
		sort.Strings(s)
		return s, nil
	}
	got, err := services(file)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"postgresql", "s3", "temporal", "temporal-ui", "worker"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("services %v, want %v", got, want)
	}
	b, _ := os.ReadFile(file)
	broken := filepath.Join(t.TempDir(), "docker-compose.yml")
	os.WriteFile(broken, bytes.Replace(b, []byte("    image: postgres:16\n"), []byte("    image: [postgres\n"), 1), 0o644)
	if _, err := services(broken); err == nil {
		t.Error("a malformed compose file validated: the check cannot fail")
	}
	if _, err := os.Stat("../../Dockerfile"); err != nil {
		t.Errorf("the worker image's Dockerfile: %v", err)
	}
}
