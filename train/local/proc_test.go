package local

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestReadProcStat(t *testing.T) {
	st, err := readProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.pgrp != syscall.Getpgrp() || st.startTicks == 0 || st.state == 'Z' {
		t.Fatalf("readProcStat(self) = %+v", st)
	}
	if _, err := readProcStat(-1); err == nil {
		t.Fatal("readProcStat(-1) succeeded")
	}
}

func TestGroupAlive(t *testing.T) {
	// A session of its own, as launch makes one; cat waits on a pipe we hold.
	cmd := exec.Command("/bin/cat")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	st, err := readProcStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	r := record{PID: pid, PGID: pid, StartTicks: st.startTicks, BootID: bootID()}

	tests := []struct {
		name string
		r    record
		want bool
	}{
		{"running", r, true},
		{"start time differs: PID reused", record{PID: pid, PGID: pid, StartTicks: st.startTicks + 1}, false},
		{"other boot", record{PID: pid, PGID: pid, StartTicks: st.startTicks, BootID: "another-boot"}, false},
		{"no group", record{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := groupAlive(tt.r); got != tt.want {
				t.Fatalf("groupAlive = %v, want %v", got, tt.want)
			}
		})
	}

	// Ended but not reaped: a zombie is not alive, though kill still finds it.
	stdin.Close()
	waitState(t, pid, 'Z')
	if syscall.Kill(-pid, 0) != nil {
		t.Fatal("kill no longer finds the zombie's group")
	}
	if groupAlive(r) {
		t.Fatal("groupAlive counts a zombie")
	}
	cmd.Wait()
	if groupAlive(r) {
		t.Fatal("groupAlive after the group was reaped")
	}
}

// waitState spins until pid is in state s. The child's exit is certain once
// its stdin is closed, so this ends without a deadline of its own.
func waitState(t *testing.T, pid int, s byte) {
	t.Helper()
	for {
		st, err := readProcStat(pid)
		if err != nil {
			t.Fatal(err)
		}
		if st.state == s {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
