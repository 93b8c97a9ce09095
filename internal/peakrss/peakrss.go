// Package peakrss measures the peak resident set size of one piece of
// benchmark work in a child process: the benchmark process itself holds the
// framework and earlier iterations' garbage, so its own high-water mark says
// little. A benchmark calls Report, which re-runs the test binary with only
// a helper test selected; the helper does the work once and calls Print.
package peakrss

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

const prefix = "VmHWM-kB: "

// Report runs the test named helper in a child copy of the test binary,
// with env added (and GOMAXPROCS=procs when procs > 0), and reports the
// child's peak RSS as the metric "peak-RSS-MiB". Off Linux it logs and
// returns, since it reads /proc/self/status.
func Report(b *testing.B, helper string, procs int, env ...string) {
	b.Helper()
	if runtime.GOOS != "linux" {
		b.Log("peak RSS: needs /proc/self/status; skipped")
		return
	}
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^"+helper+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	if procs > 0 {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(procs))
	}
	cmd.Stderr = os.Stderr
	stdout, err := cmd.Output()
	if err != nil {
		b.Fatalf("peak RSS helper %s: %v\n%s", helper, err, stdout)
	}
	for line := range strings.Lines(string(stdout)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
			kb, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatalf("peak RSS helper %s: %q: %v", helper, line, err)
			}
			b.ReportMetric(kb/1024, "peak-RSS-MiB")
			return
		}
	}
	b.Fatalf("peak RSS helper %s printed no VmHWM:\n%s", helper, stdout)
}

// Print writes this process's peak RSS in the line format Report reads.
// The helper test calls it after doing the work once.
func Print() error {
	kb, err := VmHWM()
	if err != nil {
		return err
	}
	fmt.Printf("%s%d\n", prefix, kb)
	return nil
}

// VmHWM returns this process's peak resident set size in kB.
func VmHWM() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("peakrss: no VmHWM in /proc/self/status")
}
