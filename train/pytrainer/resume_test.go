package pytrainer_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/supplyline/supplyline/train"
	"github.com/supplyline/supplyline/train/loader"
)

// stepLog is one line of the trainer's SUPPLYLINE_DEBUG_DIR log.
type stepLog struct {
	Step  int      `json:"step"`
	Rows  []string `json:"rows"`
	Batch string   `json:"batch"`
	Loss  string   `json:"loss"` // float.hex(), exact
}

// readStepLogs reads rank-<r>.jsonl of every rank in dir, indexed [rank][step].
// A last line cut short by a kill is ignored.
func readStepLogs(t *testing.T, dir string, world int) []map[int]stepLog {
	t.Helper()
	out := make([]map[int]stepLog, world)
	for r := range world {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("rank-%d.jsonl", r)))
		if err != nil {
			t.Fatal(err)
		}
		out[r] = map[int]stepLog{}
		lines := strings.SplitAfter(string(b), "\n")
		for _, line := range lines {
			if !strings.HasSuffix(line, "\n") {
				continue // cut short by SIGKILL
			}
			var l stepLog
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatalf("rank %d log line %q: %v", r, line, err)
			}
			out[r][l.Step] = l
		}
	}
	return out
}

// loss parses a float.hex() string.
func loss(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("loss %q: %v", s, err)
	}
	return v
}

// startKillable starts the trainer in its own process group and returns the
// command and its progress lines, as they are printed.
func (f fixture) startKillable(t *testing.T, spec train.JobSpec, env ...string) (*exec.Cmd, <-chan train.Progress, *bytes.Buffer) {
	t.Helper()
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	specPath := filepath.Join(t.TempDir(), "job.json")
	if err := os.WriteFile(specPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(torchrun, "--rdzv_backend=c10d", "--rdzv_endpoint=localhost:0", "--nnodes=1",
		fmt.Sprintf("--nproc_per_node=%d", spec.WorldSize), "--redirects=9:1", "--tee=9:1",
		"-m", "supplyline_trainer.train", "--spec", specPath)
	cmd.Dir = f.jobDir
	cmd.Env = append(append(os.Environ(), "GOMAXPROCS=1", "OPENBLAS_NUM_THREADS=1", "OMP_NUM_THREADS=1"), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	ch := make(chan train.Progress)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), train.ProgressPrefix); ok {
				var p train.Progress
				if json.Unmarshal([]byte(line), &p) == nil {
					ch <- p
				}
			}
		}
	}()
	return cmd, ch, &stderr
}

// TestExactResume kills a two-rank job with SIGKILL part-way, resumes it
// from its last checkpoint, and checks that the batches and the losses are
// those of a straight run, bit for bit, across an epoch boundary.
func TestExactResume(t *testing.T) {
	f := newFixture(t)
	// 499 windows of 32+1 make 31 global batches of 2x8 an epoch. The
	// checkpoint at step 30 is the epoch's last; the resumed steps roll over.
	const target, every, killAt = 40, 6, 33
	spec := func(ckpt string) train.JobSpec {
		s := f.spec(ckpt, target)
		s.Hyper.CheckpointEvery, s.Hyper.LogEvery, s.Hyper.TotalSteps = every, 3, target
		return s
	}
	straightLog := t.TempDir()
	f.runEnv(t, spec(t.TempDir()), "SUPPLYLINE_DEBUG_DIR="+straightLog)

	ckpt, killedLog := t.TempDir(), t.TempDir()
	cmd, ps, stderr := f.startKillable(t, spec(ckpt), "SUPPLYLINE_DEBUG_DIR="+killedLog,
		fmt.Sprintf("SUPPLYLINE_DEBUG_HANG_AFTER_STEP=%d", killAt))
	killed := false
	for p := range ps {
		if p.Step >= killAt {
			if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
			break
		}
	}
	go func() {
		for range ps {
		}
	}()
	err := cmd.Wait()
	if !killed {
		t.Fatalf("the trainer ended (%v) before step %d\nstderr:\n%s", err, killAt, stderr)
	}
	waitGroupGone(t, cmd.Process.Pid)

	latest, err := train.LatestCheckpoint(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(ckpt, train.CheckpointName(30)); latest != want {
		t.Fatalf("latest checkpoint after the kill is %q, want %q", latest, want)
	}
	st, err := train.ReadState(latest)
	if err != nil {
		t.Fatal(err)
	}
	if st.Loader.Epoch != 0 || st.Loader.Position != 480 || st.GlobalBatch != 16 {
		t.Fatalf("checkpoint at step 30: loader %+v, global batch %d; want epoch 0 position 480, 16", st.Loader, st.GlobalBatch)
	}

	resumedLog := t.TempDir()
	rs := spec(ckpt)
	rs.ResumeFrom = latest
	f.runEnv(t, rs, "SUPPLYLINE_DEBUG_DIR="+resumedLog)

	straight := readStepLogs(t, straightLog, 2)
	killedRun := readStepLogs(t, killedLog, 2)
	resumed := readStepLogs(t, resumedLog, 2)
	for r := range 2 {
		if len(straight[r]) != target {
			t.Fatalf("rank %d: straight run logged %d steps, want %d", r, len(straight[r]), target)
		}
		if _, ok := killedRun[r][30]; !ok {
			t.Fatalf("rank %d: the killed run did not log step 30", r)
		}
		for step, l := range killedRun[r] {
			if want := straight[r][step]; l.Batch != want.Batch || l.Loss != want.Loss {
				t.Errorf("rank %d step %d before the kill: batch %s loss %s, straight run %s %s", r, step, l.Batch, l.Loss, want.Batch, want.Loss)
			}
		}
		for step := 31; step <= target; step++ {
			l, ok := resumed[r][step]
			if want := straight[r][step]; !ok || l.Batch != want.Batch || l.Loss != want.Loss {
				t.Errorf("rank %d step %d after the resume: batch %s loss %s, straight run %s %s", r, step, l.Batch, l.Loss, want.Batch, want.Loss)
			}
		}
		if len(resumed[r]) != target-30 {
			t.Errorf("rank %d: the resumed run logged %d steps, want %d", r, len(resumed[r]), target-30)
		}
	}
	// The loss curve is a real one: it falls.
	if first, last := loss(t, straight[0][1].Loss), loss(t, straight[0][target].Loss); !(last < first/2) {
		t.Errorf("loss %v at step 1, %v at step %d: the model did not learn", first, last, target)
	}
}

// runEnv is run with extra environment variables.
func (f fixture) runEnv(t *testing.T, spec train.JobSpec, env ...string) {
	t.Helper()
	cmd, ps, stderr := f.startKillable(t, spec, env...)
	var last train.Progress
	for p := range ps {
		last = p
	}
	if err := cmd.Wait(); err != nil || !last.Done {
		t.Fatalf("trainer: %v, last progress %+v\nstderr:\n%s", err, last, stderr)
	}
}

// waitGroupGone waits until no process of group pgid is left: the kill must
// have reached the ranks, not only torchrun.
func waitGroupGone(t *testing.T, pgid int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
	}
	t.Fatalf("processes of group %d are still alive after SIGKILL", pgid)
}

// TestElasticResume trains 8 steps on 2 ranks and resumes on 1, and the
// reverse, with a global batch of 8 windows fixed by gradient accumulation
// (2 ranks x 4, or 1 rank x 4 x 2 micro-batches). Every step of every run
// must take exactly the windows of the Go loader's global order, and the
// two runs' losses must agree (to float tolerance: the sums differ in order).
func TestElasticResume(t *testing.T) {
	f := newFixture(t)
	const half, target, global = 8, 16, 8
	spec := func(ckpt string, world, target int) train.JobSpec {
		s := f.spec(ckpt, target)
		s.WorldSize = world
		s.Hyper.BatchSize, s.Hyper.GlobalBatch, s.Hyper.TotalSteps, s.Hyper.LogEvery = 4, global, target, 4
		return s
	}
	want := globalRows(t, f, target)
	curves := map[string][]float64{}
	for _, worlds := range [][2]int{{2, 1}, {1, 2}} {
		name := fmt.Sprintf("%d then %d ranks", worlds[0], worlds[1])
		ckpt := t.TempDir()
		var curve []float64
		for seg, world := range worlds {
			s := spec(ckpt, world, half*(seg+1))
			if seg == 1 {
				s.ResumeFrom = filepath.Join(ckpt, train.CheckpointName(half))
			}
			logDir := t.TempDir()
			f.runEnv(t, s, "SUPPLYLINE_DEBUG_DIR="+logDir)
			logs := readStepLogs(t, logDir, world)
			for step := seg*half + 1; step <= (seg+1)*half; step++ {
				var rows []string
				var sum float64
				for r := range world {
					rows = append(rows, logs[r][step].Rows...)
					sum += loss(t, logs[r][step].Loss)
				}
				if !slices.Equal(rows, want[step-1]) {
					t.Errorf("%s: step %d (%d ranks) took windows %v, the global order has %v", name, step, world, rows, want[step-1])
				}
				curve = append(curve, sum/float64(world))
			}
		}
		st, err := train.ReadState(filepath.Join(ckpt, train.CheckpointName(target)))
		if err != nil {
			t.Fatal(err)
		}
		if st.GlobalBatch != global || st.Loader.Position != target*global || st.Loader.WorldSize != int64(worlds[1]) {
			t.Errorf("%s: final state global batch %d, loader %+v", name, st.GlobalBatch, st.Loader)
		}
		curves[name] = curve
	}
	a, b := curves["2 then 1 ranks"], curves["1 then 2 ranks"]
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-4*max(1, math.Abs(a[i])) {
			t.Errorf("step %d: loss %v on 2 then 1 ranks, %v on 1 then 2", i+1, a[i], b[i])
		}
	}
	t.Logf("loss curve (2 then 1 ranks): %.4f", a)
}

// globalRows is the Go loader's global order in the trainer's row hashes:
// for each step, the hash of each window of the global batch, in order.
func globalRows(t *testing.T, f fixture, steps int) [][]string {
	t.Helper()
	l, err := loader.Open(f.manifest, loader.Options{SeqLen: 32, BatchSize: 8, State: train.LoaderState{Seed: 1234}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dst := make([]int64, l.BatchTokens())
	out := make([][]string, steps)
	for s := range out {
		if err := l.Next(dst); err != nil {
			t.Fatal(err)
		}
		for row := range 8 {
			b := binary.LittleEndian.AppendUint64(nil, 0)[:0]
			for _, v := range dst[row*33 : (row+1)*33] {
				b = binary.LittleEndian.AppendUint64(b, uint64(v))
			}
			sum := sha256.Sum256(b)
			out[s] = append(out[s], hex.EncodeToString(sum[:])[:16])
		}
	}
	return out
}
