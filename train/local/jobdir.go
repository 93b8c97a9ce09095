package local

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/supplyline/supplyline/train"
	"github.com/supplyline/supplyline/train/pytrainer"
)

// Names of the files in a job directory (see the package doc).
const (
	specFile     = "spec.json"
	recordFile   = "job.json"
	logFile      = "log"
	exitCodeFile = "exit_code"
	stoppedFile  = "stopped"
	lockFile     = ".submit.lock"
)

// idLen is the number of hex digits of the key's SHA-256 in a job ID: 64
// bits, so that keys collide only by malice.
const idLen = 16

// jobID derives the job's ID, which is also its directory's name, from the
// idempotency key.
func jobID(key string) train.JobID {
	sum := sha256.Sum256([]byte(key))
	return train.JobID(hex.EncodeToString(sum[:])[:idLen])
}

// validID reports whether id could have come from jobID. It keeps callers'
// IDs from naming paths outside Root.
func validID(id train.JobID) bool {
	if len(id) != idLen {
		return false
	}
	for _, c := range []byte(id) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// record is job.json: what the launcher needs to find the job's processes
// again after a restart.
type record struct {
	Key  string `json:"key"`
	PID  int    `json:"pid"`
	PGID int    `json:"pgid"`
	// StartTicks is field 22 of /proc/<pid>/stat at launch (clock ticks after
	// boot); a process with that PID and another start time is a stranger.
	StartTicks uint64 `json:"start_ticks,omitempty"`
	// BootID is /proc/sys/kernel/random/boot_id at launch: after a reboot no
	// process of the job can be alive, whatever the PIDs say.
	BootID    string    `json:"boot_id,omitempty"`
	StartedAt time.Time `json:"started_at"`
	Cmd       []string  `json:"cmd"`
}

func readRecord(dir string) (record, error) {
	var r record
	b, err := os.ReadFile(filepath.Join(dir, recordFile))
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("local: %s: %w", filepath.Join(dir, recordFile), err)
	}
	return r, nil
}

// writeFileAtomic writes name in dir through a temporary file and a rename,
// so that readers see all of it or none.
func writeFileAtomic(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func writeJSON(dir, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(dir, name, append(b, '\n'))
}

// extractTrainer writes the embedded Python package into dir, where
// PYTHONPATH finds it. Each job gets its own copy, so a job keeps running
// the trainer it was started with when the worker is upgraded.
func extractTrainer(dir string) error {
	return fs.WalkDir(pytrainer.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(path))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := fs.ReadFile(pytrainer.FS, path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}
