package pytrainer_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/supplyline/supplyline/train"
	"github.com/supplyline/supplyline/train/loader"
	"github.com/supplyline/supplyline/train/loader/loadertest"
	"github.com/supplyline/supplyline/train/pytrainer"
)

const torchrun = "/usr/bin/torchrun"

// The loader library is built once for all tests, in a directory TestMain removes.
var (
	libOnce sync.Once
	libDir  string
	libPath string
	libErr  error
)

func sharedLib(t *testing.T) string {
	t.Helper()
	libOnce.Do(func() {
		if libDir, libErr = os.MkdirTemp("", "pytrainer-test-"); libErr == nil {
			libPath, libErr = loadertest.BuildLib(libDir)
		}
	})
	if libErr != nil {
		t.Fatal(libErr)
	}
	return libPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if libDir != "" {
		os.RemoveAll(libDir)
	}
	os.Exit(code)
}

// fixture is what every trainer run of a test shares: the loader library,
// the shards and a job directory holding the embedded trainer package.
type fixture struct {
	lib, manifest, jobDir string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	if _, err := os.Stat(torchrun); err != nil && os.Getenv("CI") == "" {
		t.Skipf("%s is absent and CI is unset: skipping the trainer tests", torchrun)
	}
	lib := sharedLib(t)
	dir := t.TempDir()
	// 400 documents of 40 tokens: 499 windows of 32+1, 31 global batches of
	// 2x8 an epoch, so 60 steps cross an epoch boundary.
	manifest, err := loadertest.Write(filepath.Join(dir, "shards"), loadertest.Dataset{VocabSize: 64, Train: [][][]uint32{
		loadertest.PatternDocs(1, 250, 40, 64), loadertest.PatternDocs(2, 150, 40, 64),
	}})
	if err != nil {
		t.Fatal(err)
	}
	jobDir := filepath.Join(dir, "job")
	if err := os.CopyFS(jobDir, pytrainer.FS); err != nil {
		t.Fatal(err)
	}
	return fixture{lib: lib, manifest: manifest, jobDir: jobDir}
}

func (f fixture) spec(ckptDir string, target int) train.JobSpec {
	return train.JobSpec{
		IdempotencyKey: "test/seg-0000",
		ShardManifest:  f.manifest,
		Model:          train.ModelConfig{VocabSize: 64, ContextLen: 32, Layers: 2, Heads: 4, Dim: 32},
		Hyper:          train.Hyper{BatchSize: 8, LR: 1e-2, WarmupSteps: 10, TotalSteps: 60, LogEvery: 10},
		Seed:           1234,
		WorldSize:      2,
		CheckpointDir:  ckptDir,
		TargetStep:     target,
		LoaderLib:      f.lib,
	}
}

// run starts the trainer as a launcher does and returns its progress lines.
func (f fixture) run(t *testing.T, spec train.JobSpec) []train.Progress {
	t.Helper()
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	specPath := filepath.Join(t.TempDir(), "job.json")
	if err := os.WriteFile(specPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	// As train/local starts it; see train.py's docstring for --redirects and --tee.
	cmd := exec.Command(torchrun, "--rdzv_backend=c10d", "--rdzv_endpoint=localhost:0", "--nnodes=1",
		fmt.Sprintf("--nproc_per_node=%d", spec.WorldSize), "--redirects=9:1", "--tee=9:1",
		"-m", "supplyline_trainer.train", "--spec", specPath)
	cmd.Dir = f.jobDir
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1", "OPENBLAS_NUM_THREADS=1", "OMP_NUM_THREADS=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("trainer: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	var ps []train.Progress
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), train.ProgressPrefix)
		if !ok {
			continue
		}
		var p train.Progress
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatalf("progress line %q: %v", line, err)
		}
		ps = append(ps, p)
	}
	if len(ps) == 0 {
		t.Fatalf("trainer printed no progress lines\nstdout:\n%s\nstderr:\n%s", out, stderr.String())
	}
	return ps
}

// contractTensors lists model.safetensors' names and shapes per train/model.go.
func contractTensors(c train.ModelConfig) map[string][]int {
	d := c.Dim
	m := map[string][]int{
		"wte.weight": {c.VocabSize, d}, "wpe.weight": {c.ContextLen, d},
		"ln_f.weight": {d}, "ln_f.bias": {d},
	}
	for i := range c.Layers {
		p := fmt.Sprintf("h.%d.", i)
		m[p+"ln_1.weight"], m[p+"ln_1.bias"] = []int{d}, []int{d}
		m[p+"attn.c_attn.weight"], m[p+"attn.c_attn.bias"] = []int{3 * d, d}, []int{3 * d}
		m[p+"attn.c_proj.weight"], m[p+"attn.c_proj.bias"] = []int{d, d}, []int{d}
		m[p+"ln_2.weight"], m[p+"ln_2.bias"] = []int{d}, []int{d}
		m[p+"mlp.c_fc.weight"], m[p+"mlp.c_fc.bias"] = []int{4 * d, d}, []int{4 * d}
		m[p+"mlp.c_proj.weight"], m[p+"mlp.c_proj.bias"] = []int{d, 4 * d}, []int{d}
	}
	return m
}

// wantLoader is where the Go loader is after steps global batches.
func wantLoader(t *testing.T, f fixture, spec train.JobSpec, steps int) train.LoaderState {
	t.Helper()
	l, err := loader.Open(f.manifest, loader.Options{SeqLen: spec.Model.ContextLen, BatchSize: spec.Hyper.BatchSize,
		WorldSize: spec.WorldSize, State: train.LoaderState{Seed: spec.Seed}})
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]int64, l.BatchTokens())
	for range steps {
		if err := l.Next(dst); err != nil {
			t.Fatal(err)
		}
	}
	return l.State()
}

func TestTrainer(t *testing.T) {
	f := newFixture(t)
	straightDir := t.TempDir()
	spec := f.spec(straightDir, 60)
	ps := f.run(t, spec)

	t.Run("learns", func(t *testing.T) {
		steps := make([]int, len(ps))
		for i, p := range ps {
			steps[i] = p.Step
		}
		if want := []int{10, 20, 30, 40, 50, 60}; !slices.Equal(steps, want) {
			t.Fatalf("progress at steps %v, want %v", steps, want)
		}
		last := ps[len(ps)-1]
		if !last.Done || last.Checkpoint != filepath.Join(straightDir, "step-0000060") {
			t.Fatalf("last progress line %+v: want done with checkpoint %s", last, filepath.Join(straightDir, "step-0000060"))
		}
		if start := math.Log(64); last.Loss > start/2 {
			t.Fatalf("loss %.3f after 60 steps, want below half of log(64) = %.3f", last.Loss, start/2)
		}
		if want := int64(60 * 2 * 8 * 32); last.TokensSeen != want {
			t.Fatalf("tokens_seen %d, want %d", last.TokensSeen, want)
		}
		var tps []string
		for _, p := range ps {
			tps = append(tps, fmt.Sprintf("%.0f", p.TokensPerSec))
		}
		t.Logf("loss %.3f -> %.3f; tokens/s per interval of 10 steps: %s", ps[0].Loss, last.Loss, strings.Join(tps, " "))
	})

	t.Run("checkpoint", func(t *testing.T) {
		latest, err := train.LatestCheckpoint(straightDir)
		if err != nil || latest != filepath.Join(straightDir, "step-0000060") {
			t.Fatalf("LatestCheckpoint = %q, %v", latest, err)
		}
		for _, name := range []string{train.ModelFile, train.OptimizerFile, train.StateFile} {
			if _, err := os.Stat(filepath.Join(latest, name)); err != nil {
				t.Error(err)
			}
		}
		entries, _ := os.ReadDir(straightDir)
		for _, e := range entries {
			if strings.Contains(e.Name(), "tmp") {
				t.Errorf("temporary %s left in the checkpoint directory", e.Name())
			}
		}
		st, err := train.ReadState(latest)
		if err != nil {
			t.Fatal(err)
		}
		if st.Step != 60 || st.TokensSeen != 60*2*8*32 {
			t.Errorf("state step %d tokens %d", st.Step, st.TokensSeen)
		}
		if want := wantLoader(t, f, spec, 60); st.Loader != want {
			t.Errorf("state loader %+v, the Go loader after 60 batches is at %+v", st.Loader, want)
		}
		if st.Model != spec.Model || st.Hyper != spec.Hyper.WithDefaults() {
			t.Errorf("state model %+v hyper %+v, spec %+v %+v", st.Model, st.Hyper, spec.Model, spec.Hyper.WithDefaults())
		}
		if st.RNG["torch"] == "" || st.RNG["python"] == "" {
			t.Errorf("state rng %v: want torch and python", st.RNG)
		}
		lin := st.Lineage
		if lin.ShardManifest != f.manifest || lin.InputHash != "loadertest-input" || len(lin.TokenizerHash) != 64 || !strings.HasPrefix(lin.Cutoff, "2024-06-01T00:00:00") {
			t.Errorf("state lineage %+v", lin)
		}
		tensors, err := train.ReadSafetensors(filepath.Join(latest, train.ModelFile))
		if err != nil {
			t.Fatal(err)
		}
		want := contractTensors(spec.Model)
		for name, shape := range want {
			got, ok := tensors[name]
			if !ok {
				t.Errorf("tensor %s missing", name)
			} else if !slices.Equal(got.Shape, shape) {
				t.Errorf("tensor %s has shape %v, want %v", name, got.Shape, shape)
			}
		}
		for name := range tensors {
			if _, ok := want[name]; !ok {
				t.Errorf("unexpected tensor %s", name)
			}
		}
	})

	t.Run("resume", func(t *testing.T) {
		dir := t.TempDir()
		first := f.run(t, f.spec(dir, 40))
		if last := first[len(first)-1]; last.Step != 40 || !last.Done {
			t.Fatalf("first segment ended with %+v", last)
		}
		second := f.spec(dir, 60)
		second.ResumeFrom = filepath.Join(dir, "step-0000040")
		ps2 := f.run(t, second)
		if steps := []int{ps2[0].Step, ps2[len(ps2)-1].Step}; !slices.Equal(steps, []int{50, 60}) {
			t.Fatalf("resumed segment logged steps %v", steps)
		}
		a, err := train.ReadState(filepath.Join(straightDir, "step-0000060"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := train.ReadState(filepath.Join(dir, "step-0000060"))
		if err != nil {
			t.Fatal(err)
		}
		if a.Loader != b.Loader || a.Step != b.Step || a.TokensSeen != b.TokensSeen {
			t.Fatalf("straight run state %+v, resumed %+v", a, b)
		}
		wa, err := train.ReadSafetensors(filepath.Join(straightDir, "step-0000060", train.ModelFile))
		if err != nil {
			t.Fatal(err)
		}
		wb, err := train.ReadSafetensors(filepath.Join(dir, "step-0000060", train.ModelFile))
		if err != nil {
			t.Fatal(err)
		}
		var maxDiff float64
		for name, ta := range wa {
			for i, v := range ta.Data {
				maxDiff = max(maxDiff, math.Abs(float64(v-wb[name].Data[i])))
			}
		}
		// Two gloo ranks sum gradients as a+b, which is exact and
		// order-free, and every other operation is repeated identically, so
		// the resumed weights must be the very same bits.
		if maxDiff != 0 {
			t.Fatalf("resumed weights differ from the straight run's by up to %g", maxDiff)
		}
		if a.Loss != b.Loss {
			t.Fatalf("straight loss %v, resumed %v", a.Loss, b.Loss)
		}
	})
}

// freePort returns a TCP port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// TestTrainerErrors runs one rank without torchrun (its environment set by
// hand), which is enough to see that failures end the process with a message.
func TestTrainerErrors(t *testing.T) {
	f := newFixture(t)
	corrupt := filepath.Join(filepath.Dir(f.manifest), "train-00001.bin")
	for _, tc := range []struct {
		name   string
		spec   func(train.JobSpec) train.JobSpec
		break_ func(t *testing.T)
		want   string
	}{
		{"invalid spec", func(s train.JobSpec) train.JobSpec { s.TargetStep = 0; s.CheckpointDir = ""; return s }, nil,
			"checkpoint_dir: required; target_step: must be positive"},
		{"world mismatch", func(s train.JobSpec) train.JobSpec { s.WorldSize = 3; return s }, nil,
			"job spec asks for world_size 3, torchrun started 1 ranks"},
		{"no loader library", func(s train.JobSpec) train.JobSpec { s.WorldSize = 1; s.LoaderLib = "/nonexistent.so"; return s }, nil,
			"loader library /nonexistent.so does not exist"},
		{"corrupt shard", func(s train.JobSpec) train.JobSpec { s.WorldSize = 1; return s },
			func(t *testing.T) {
				b, err := os.ReadFile(corrupt)
				if err != nil {
					t.Fatal(err)
				}
				b[0] ^= 1
				if err := os.WriteFile(corrupt, b, 0o644); err != nil {
					t.Fatal(err)
				}
			},
			"train-00001.bin: sha256 of .bin+.idx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.break_ != nil {
				tc.break_(t)
			}
			b, _ := json.Marshal(tc.spec(f.spec(t.TempDir(), 5)))
			specPath := filepath.Join(t.TempDir(), "job.json")
			if err := os.WriteFile(specPath, b, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("/usr/bin/python3", "-m", "supplyline_trainer.train", "--spec", specPath)
			cmd.Dir = f.jobDir
			cmd.Env = append(os.Environ(), "GOMAXPROCS=1", "OMP_NUM_THREADS=1", "RANK=0", "LOCAL_RANK=0", "WORLD_SIZE=1",
				"MASTER_ADDR=127.0.0.1", "MASTER_PORT="+freePort(t))
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("trainer succeeded, want a failure\n%s", out)
			}
			if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), tc.want) {
				t.Fatalf("exit %d, output does not say %q:\n%s", cmd.ProcessState.ExitCode(), tc.want, out)
			}
		})
	}
}

// The embedded package must carry every module the entry point imports.
func TestEmbeddedPackage(t *testing.T) {
	var names []string
	err := fs.WalkDir(pytrainer.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"__init__.py", "train.py", "loader.py", "model.py", "safetensors.py"} {
		if !slices.Contains(names, "supplyline_trainer/"+want) {
			t.Errorf("supplyline_trainer/%s is not embedded (have %v)", want, names)
		}
	}
}
