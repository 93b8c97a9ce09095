package local

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// procStat is what the launcher reads from /proc/<pid>/stat.
type procStat struct {
	state      byte   // R, S, D, Z, ...
	pgrp       int    // process group
	startTicks uint64 // start time in clock ticks after boot
}

// readProcStat parses /proc/<pid>/stat. The command name (field 2) may hold
// spaces and parentheses, so the fields are counted from its last ')'.
func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("local: /proc/%d/stat: no command name", pid)
	}
	// After ")": state(3) ppid(4) pgrp(5) ... starttime(22).
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("local: /proc/%d/stat: %d fields", pid, len(f)+2)
	}
	pgrp, err := strconv.Atoi(f[2])
	if err != nil {
		return procStat{}, fmt.Errorf("local: /proc/%d/stat: pgrp: %w", pid, err)
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("local: /proc/%d/stat: starttime: %w", pid, err)
	}
	return procStat{state: f[0][0], pgrp: pgrp, startTicks: start}, nil
}

func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// groupAlive reports whether any process of the job's process group is
// still running (zombies do not count).
//
// A process group's number stays taken while any member lives, so it cannot
// be handed to a stranger then. It can be reused once the group is empty,
// which is what the boot ID and the leader's start time rule out: a leader
// PID that now names another process means the group emptied long ago.
func groupAlive(r record) bool {
	if r.PGID <= 0 {
		return false
	}
	if r.BootID != "" && r.BootID != bootID() {
		return false
	}
	switch err := syscall.Kill(-r.PGID, 0); {
	case errors.Is(err, syscall.ESRCH):
		return false
	case err != nil && !errors.Is(err, syscall.EPERM):
		return false
	}
	if st, err := readProcStat(r.PID); err == nil {
		if r.StartTicks != 0 && st.startTicks != r.StartTicks {
			return false // the PID was reused: our group is long gone
		}
		if st.state != 'Z' && st.pgrp == r.PGID {
			return true
		}
	}
	// The leader (the shell) is gone or a zombie not yet reaped, but kill
	// found the group: look for a member that still runs.
	return groupHasLiveMember(r.PGID)
}

func groupHasLiveMember(pgid int) bool {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return true // cannot tell; kill said the group exists
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readProcStat(pid)
		if err == nil && st.pgrp == pgid && st.state != 'Z' {
			return true
		}
	}
	return false
}
