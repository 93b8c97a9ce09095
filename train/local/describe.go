package local

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/supplyline/supplyline/train"
)

// Describe reports the job's state, read from its directory: exit_code once
// torchrun ended, the process group while it runs, the stopped marker for a
// stopped job, and the last progress line of the log.
//
// A failed job's ExitCode is the exit code of the rank torchrun names as the
// root cause (torchrun itself always exits 1), 128+n for a rank killed by
// signal n, and torchrun's own status when the log names no rank. Its Message
// has that reason and the last lines the ranks wrote before torchrun's
// failure report.
func (l *Launcher) Describe(ctx context.Context, id train.JobID) (train.JobStatus, error) {
	st := train.JobStatus{ID: id, ExitCode: -1}
	dir, err := l.existing(id)
	if err != nil {
		return st, err
	}
	stoppedAt, stopped := modTime(filepath.Join(dir, stoppedFile))
	r, err := readRecord(dir)
	if errors.Is(err, os.ErrNotExist) {
		// Submit is between mkdir and start, or died there.
		st.State = train.StatePending
		if stopped {
			st.State, st.EndedAt, st.Message = train.StateStopped, stoppedAt, "stopped before it started"
		}
		return st, nil
	} else if err != nil {
		return st, err
	}
	st.StartedAt = r.StartedAt
	logPath := filepath.Join(dir, logFile)
	if p, ok, err := lastProgress(logPath); err != nil {
		return st, fmt.Errorf("local: describe %s: %w", id, err)
	} else if ok {
		st.Progress = p
	}

	code, endedAt, ended, err := readExitCode(dir)
	if err != nil {
		return st, fmt.Errorf("local: describe %s: %w", id, err)
	}
	if !ended {
		if groupAlive(r) {
			st.State = train.StateRunning
			return st, nil
		}
		// The shell writes exit_code just before it ends: look again now
		// that it has.
		if code, endedAt, ended, err = readExitCode(dir); err != nil {
			return st, fmt.Errorf("local: describe %s: %w", id, err)
		}
	}
	switch {
	case ended && code == 0:
		// Even after a Stop: the trainer reached its target step.
		st.State, st.ExitCode, st.EndedAt = train.StateSucceeded, 0, endedAt
	case stopped:
		st.State, st.EndedAt, st.Message = train.StateStopped, endedAt, "stopped on request"
		if ended {
			st.ExitCode = code
		} else {
			st.EndedAt = stoppedAt
		}
	case ended:
		tail, err := readTail(logPath, tailBytes)
		if err != nil {
			return st, fmt.Errorf("local: describe %s: %w", id, err)
		}
		st.State, st.EndedAt = train.StateFailed, endedAt
		st.ExitCode, st.Message = failure(code, tail)
	default:
		tail, _ := readTail(logPath, tailBytes)
		st.State = train.StateFailed
		st.Message = "job process vanished without an exit status"
		if lines := lastLines(tail, messageLines); lines != "" {
			st.Message += "; log ends:\n" + lines
		}
	}
	return st, nil
}

func modTime(path string) (time.Time, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}, false
	}
	return fi.ModTime().UTC(), true
}

// readExitCode reads exit_code; ended is false while there is none.
func readExitCode(dir string) (code int, at time.Time, ended bool, err error) {
	path := filepath.Join(dir, exitCodeFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return -1, time.Time{}, false, nil
	} else if err != nil {
		return -1, time.Time{}, false, err
	}
	code, err = strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return -1, time.Time{}, false, fmt.Errorf("%s: %w", path, err)
	}
	at, _ = modTime(path)
	return code, at, true, nil
}

// Sizes for reading the log's end.
const (
	tailBytes       = 64 << 10 // read for a failure message
	maxProgressScan = 16 << 20 // how far back lastProgress looks
	messageLines    = 20       // of rank output in a failure message
	maxMessage      = 4 << 10
)

// lastProgress returns the last line of the log at path that starts with
// train.ProgressPrefix and parses. A line that does not parse (torn by a
// crash, or by another rank writing into the middle of it) is passed over
// for the one before it.
func lastProgress(path string) (train.Progress, bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return train.Progress{}, false, nil
	} else if err != nil {
		return train.Progress{}, false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return train.Progress{}, false, err
	}
	size := fi.Size()
	for window := int64(64 << 10); ; window *= 4 {
		start := max(size-window, 0)
		buf := make([]byte, size-start)
		if _, err := f.ReadAt(buf, start); err != nil && err != io.EOF {
			return train.Progress{}, false, err
		}
		if p, ok := scanProgress(buf, start > 0); ok {
			return p, true, nil
		}
		if start == 0 || window >= maxProgressScan {
			return train.Progress{}, false, nil
		}
	}
}

// scanProgress finds the last progress line in buf. When partialFirst is
// set, buf starts inside a line, which is skipped.
func scanProgress(buf []byte, partialFirst bool) (train.Progress, bool) {
	prefix := []byte(train.ProgressPrefix)
	for len(buf) > 0 {
		i := bytes.LastIndexByte(buf[:len(buf)-1], '\n')
		line := bytes.TrimRight(buf[i+1:], "\r\n")
		if i < 0 && partialFirst {
			break
		}
		buf = buf[:i+1]
		if !bytes.HasPrefix(line, prefix) {
			continue
		}
		var p train.Progress
		if json.Unmarshal(line[len(prefix):], &p) == nil {
			return p, true
		}
	}
	return train.Progress{}, false
}

// readTail returns at most n bytes from the end of the file at path, starting
// at a line boundary.
func readTail(path string, n int64) (string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	start := max(fi.Size()-n, 0)
	buf := make([]byte, fi.Size()-start)
	if _, err := f.ReadAt(buf, start); err != nil && err != io.EOF {
		return "", err
	}
	if start > 0 {
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	return string(buf), nil
}

// torchrun's failure report: the agent's one-line error, then a traceback
// and a summary whose "Root Cause" section names the first rank to fail.
var (
	reportStart = regexp.MustCompile(`(?m)^ERROR:torch\.distributed\.elastic\.multiprocessing\.api:failed`)
	rootCause   = regexp.MustCompile(`Root Cause \(first observed failure\):\s*\n\[\d+\]:\s*\n(?:.*\n)*?\s*rank\s*:\s*(\d+)[^\n]*\n\s*exitcode\s*:\s*(-?\d+)`)
)

// failure turns torchrun's exit status and the end of its log into
// JobStatus.ExitCode and Message.
func failure(code int, tail string) (int, string) {
	var b strings.Builder
	fmt.Fprintf(&b, "torchrun exited with status %d", code)
	ranks := tail
	if loc := lastMatch(reportStart, tail); loc != nil {
		ranks = tail[:loc[0]]
	}
	if m := rootCause.FindStringSubmatch(tail); m != nil {
		rc, _ := strconv.Atoi(m[2])
		if rc < 0 {
			fmt.Fprintf(&b, "; rank %s was killed by signal %d", m[1], -rc)
			rc = 128 - rc
		} else {
			fmt.Fprintf(&b, "; rank %s exited with code %d", m[1], rc)
		}
		if rc != 0 {
			code = rc
		}
	}
	if lines := lastLines(ranks, messageLines); lines != "" {
		b.WriteString("; output ends:\n")
		b.WriteString(lines)
	}
	msg := b.String()
	if len(msg) > maxMessage {
		msg = "..." + msg[len(msg)-maxMessage:]
	}
	return code, msg
}

func lastMatch(re *regexp.Regexp, s string) []int {
	all := re.FindAllStringIndex(s, -1)
	if len(all) == 0 {
		return nil
	}
	return all[len(all)-1]
}

// lastLines returns the last n non-blank lines of s.
func lastLines(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 0, 64<<10), len(s)+1)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			lines = append(lines, sc.Text())
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
