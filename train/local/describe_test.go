package local

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/supplyline/supplyline/train"
)

func TestScanProgress(t *testing.T) {
	p := func(step int) string {
		return train.ProgressPrefix + `{"step":` + string(rune('0'+step)) + `,"loss":1.5}` + "\n"
	}
	tests := []struct {
		name         string
		log          string
		partialFirst bool
		want         int // step; 0 means none
	}{
		{"empty", "", false, 0},
		{"no progress", "hello\nworld\n", false, 0},
		{"last of several", p(1) + "noise\n" + p(2) + "more noise\n", false, 2},
		{"torn last line", p(1) + p(2) + train.ProgressPrefix + `{"step":3,"lo`, false, 2},
		{"complete last line without newline", p(1) + strings.TrimSuffix(p(2), "\n"), false, 2},
		{"line torn by another rank", p(1) + train.ProgressPrefix + `{"step":2rank 1 says hi` + "\n", false, 1},
		{"prefix inside a line", p(1) + "rank 1: " + p(2), false, 1},
		{"partial first line skipped", `{"step":9}` + "\n" + "x\n", true, 0},
		{"first line kept from the start", p(5) + "x\n", false, 5},
		{"CRLF", strings.ReplaceAll(p(4), "\n", "\r\n"), false, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := scanProgress([]byte(tt.log), tt.partialFirst)
			if ok != (tt.want != 0) || got.Step != tt.want {
				t.Fatalf("scanProgress = %+v, %v; want step %d", got, ok, tt.want)
			}
		})
	}
}

func TestLastProgressLongLog(t *testing.T) {
	// The progress line sits far before the end: lastProgress must widen its
	// window past the first 64 KiB.
	path := filepath.Join(t.TempDir(), "log")
	log := train.ProgressPrefix + `{"step":7,"loss":0.25,"checkpoint":"file:///c/step-0000007"}` + "\n" +
		strings.Repeat("a line of rank output that is not progress\n", 10000)
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	got, ok, err := lastProgress(path)
	want := train.Progress{Step: 7, Loss: 0.25, Checkpoint: "file:///c/step-0000007"}
	if err != nil || !ok || got != want {
		t.Fatalf("lastProgress = %+v, %v, %v; want %+v", got, ok, err, want)
	}
	if _, ok, err := lastProgress(filepath.Join(t.TempDir(), "missing")); ok || err != nil {
		t.Fatalf("lastProgress of a missing log = %v, %v", ok, err)
	}
}

func TestFailure(t *testing.T) {
	// testdata/torchrun_failure.log is what torch 1.13's torchrun wrote when
	// both ranks of fake_trainer.py exited 3.
	b, err := os.ReadFile(filepath.Join("testdata", "torchrun_failure.log"))
	if err != nil {
		t.Fatal(err)
	}
	real := string(b)
	rootCause := real[strings.Index(real, "Root Cause"):]
	signalled := strings.Replace(real, rootCause, strings.Replace(rootCause, "exitcode  : 3", "exitcode  : -9", 1), 1)

	tests := []struct {
		name     string
		status   int
		log      string
		wantCode int
		want     []string
		dontWant []string
	}{
		{
			name: "rank exit code", status: 1, log: real, wantCode: 3,
			want:     []string{"torchrun exited with status 1", "rank 0 exited with code 3", "rank 0: fake trainer failing on purpose"},
			dontWant: []string{"Traceback", "ChildFailedError"},
		},
		{
			name: "rank killed", status: 1, log: signalled, wantCode: 137,
			want: []string{"rank 0 was killed by signal 9"},
		},
		{
			name: "no torchrun report", status: 2, log: "usage: torchrun ...\ntorchrun: error: unrecognized arguments\n", wantCode: 2,
			want: []string{"status 2", "unrecognized arguments"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := failure(tt.status, tt.log)
			if code != tt.wantCode {
				t.Errorf("code %d, want %d", code, tt.wantCode)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message lacks %q:\n%s", w, msg)
				}
			}
			for _, w := range tt.dontWant {
				if strings.Contains(msg, w) {
					t.Errorf("message has %q:\n%s", w, msg)
				}
			}
			if len(msg) > maxMessage+3 {
				t.Errorf("message is %d bytes", len(msg))
			}
		})
	}
}

func TestJobID(t *testing.T) {
	a, b := jobID("wf/seg-0001"), jobID("wf/seg-0002")
	if a == b || !validID(a) || !validID(b) || jobID("wf/seg-0001") != a {
		t.Fatalf("jobID: %s, %s", a, b)
	}
	for _, id := range []train.JobID{"", "..", "0123456789ABCDEF", "0123456789abcde", "0123456789abcdef0", "../0123456789abc"} {
		if validID(id) {
			t.Errorf("validID(%q) = true", id)
		}
	}
}
