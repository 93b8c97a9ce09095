package local

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/supplyline/supplyline/train"
)

func TestDetectGPUs(t *testing.T) {
	// A fake /dev: two GPU nodes among NVIDIA's other nodes and unrelated ones.
	dev := t.TempDir()
	for _, name := range []string{"nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-caps", "null", "nvme0"} {
		if err := os.WriteFile(filepath.Join(dev, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	empty := t.TempDir()
	noSMI := func() ([]byte, error) {
		return nil, errors.New(`exec: "nvidia-smi": executable file not found in $PATH`)
	}
	smi := func(out string) func() ([]byte, error) { return func() ([]byte, error) { return []byte(out), nil } }
	fourGPUs := "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-a)\nGPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-b)\n" +
		"GPU 2: NVIDIA H100 80GB HBM3 (UUID: GPU-c)\nGPU 3: NVIDIA H100 80GB HBM3 (UUID: GPU-d)\n"
	for _, tc := range []struct {
		name   string
		devDir string
		smi    func() ([]byte, error)
		want   int
	}{
		{"no smi, no nodes", empty, noSMI, 0},
		{"nil smi, no /dev", filepath.Join(empty, "missing"), nil, 0},
		{"no smi, nodes", dev, noSMI, 2},
		{"smi lists GPUs", empty, smi(fourGPUs), 4},
		{"smi wins over nodes", dev, smi(fourGPUs), 4},
		{"smi with MIG lines", empty, smi("GPU 0: NVIDIA A100 (UUID: GPU-a)\n  MIG 1g.10gb Device 0: (UUID: MIG-x)\n"), 1},
		{"smi lists none, nodes", dev, smi("No devices found.\n"), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := detectGPUs(tc.devDir, tc.smi); got != tc.want {
				t.Errorf("detectGPUs = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestVisibleGPUs(t *testing.T) {
	lookup := func(v string, set bool) func(string) (string, bool) {
		return func(k string) (string, bool) {
			if k != "CUDA_VISIBLE_DEVICES" {
				return "", false
			}
			return v, set
		}
	}
	for _, tc := range []struct {
		v    string
		set  bool
		n    int
		want int
	}{
		{"", false, 4, 4},
		{"", true, 4, 0},
		{"0,1", true, 4, 2},
		{"2", true, 4, 1},
		{"0,1,-1,3", true, 4, 2},
		{"0,1,2,3,4,5", true, 4, 4},
		{"0", true, 0, 0},
	} {
		if got := visibleGPUs(tc.n, lookup(tc.v, tc.set)); got != tc.want {
			t.Errorf("visibleGPUs(%d, CUDA_VISIBLE_DEVICES=%q set=%v) = %d, want %d", tc.n, tc.v, tc.set, got, tc.want)
		}
	}
}

func TestRankPlan(t *testing.T) {
	for _, tc := range []struct {
		name            string
		opt, spec, gpus int
		workerDevice    string
		wantN           int
		wantEnv         []string
	}{
		{"cpu defaults", 0, 0, 0, "", DefaultNProcPerNode, nil},
		{"cpu spec world", 0, 3, 0, "", 3, nil},
		{"cpu option", 4, 3, 0, "", 4, nil},
		{"gpus", 0, 2, 8, "", 8, []string{"SUPPLYLINE_DEVICE=cuda"}},
		{"gpus, option wins", 1, 2, 8, "", 1, []string{"SUPPLYLINE_DEVICE=cuda"}},
		{"gpus, worker says cpu", 0, 2, 8, "cpu", 8, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, env := rankPlan(tc.opt, tc.spec, tc.gpus, tc.workerDevice)
			if n != tc.wantN || !slices.Equal(env, tc.wantEnv) {
				t.Errorf("rankPlan = %d, %q; want %d, %q", n, env, tc.wantN, tc.wantEnv)
			}
		})
	}
}

// TestLauncherWithGPUs pretends the host has two GPUs: the job gets two
// ranks whatever the spec says, and they see SUPPLYLINE_DEVICE=cuda (the fake
// trainer itself stays on gloo).
func TestLauncherWithGPUs(t *testing.T) {
	requireTorchrun(t)
	old := hostGPUs
	hostGPUs = func() int { return 2 }
	t.Cleanup(func() { hostGPUs = old })
	t.Setenv(DeviceEnv, "")
	os.Unsetenv(DeviceEnv)
	ctx := testContext(t)
	l := newTestLauncher(t, t.TempDir(), "ok", 1)
	spec := testSpec(t, "wf-gpu/seg-0001")
	spec.WorldSize = 1
	id, err := l.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, l, id)
	st := poll(ctx, t, l, id, final)
	logs := readLogs(t, l, id, 0)
	if st.State != train.StateSucceeded {
		t.Fatalf("job ended %s: %s\n%s", st.State, st.Message, logs)
	}
	rec, err := readRecord(l.Dir(id))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(rec.Cmd, "--nproc_per_node=2") {
		t.Errorf("argv %q lacks --nproc_per_node=2", rec.Cmd)
	}
	for _, rank := range []string{"rank 0/2: rendezvous ok", "rank 1/2: rendezvous ok"} {
		if !strings.Contains(logs, rank) {
			t.Errorf("log lacks %q:\n%s", rank, logs)
		}
	}
	if n := strings.Count(logs, "device cuda"); n != 2 {
		t.Errorf("%d ranks saw SUPPLYLINE_DEVICE=cuda, want 2:\n%s", n, logs)
	}
}
