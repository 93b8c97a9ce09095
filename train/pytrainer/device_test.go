package pytrainer_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/supplyline/supplyline/train/pytrainer"
)

const python = "/usr/bin/python3"

// deviceScript imports train.py's device selection and reports, as one JSON
// object, what each request gives on this machine: the kind, backend and
// torch device, or the error's type and message.
const deviceScript = `
import json, os, sys
import torch
from supplyline_trainer import train as T

def pick(req):
    try:
        d = T.select_device(req, local_rank=0)
        return {"kind": d.kind, "backend": d.backend, "torch": str(d.torch)}
    except Exception as e:
        return {"error": type(e).__name__, "message": str(e), "spec_error": isinstance(e, T.SpecError)}

out = {"cuda_available": torch.cuda.is_available()}
try:
    import torch_xla  # noqa: F401
    out["have_xla"] = True
except Exception:
    out["have_xla"] = False
os.environ.pop(T.DEVICE_ENV, None)
out["unset"] = pick(None)
for req in ("cpu", "CPU", "auto", "", "cuda", "xla", "tpu"):
    out["req:" + req] = pick(req)
os.environ[T.DEVICE_ENV] = "cpu"
out["env_cpu"] = pick(None)
out["torch_cpu"] = T.as_device(torch.device("cpu")).kind

# Checkpoint helpers keep CPU tensors as they are (no copy, same bytes).
m = torch.nn.Linear(3, 2)
opt = torch.optim.AdamW(m.parameters())
m(torch.ones(1, 3)).sum().backward()
opt.step()
sd = m.state_dict()
osd = opt.state_dict()
out["cpu_state_dict_same"] = all(T.cpu_state_dict(sd)[k].data_ptr() == v.data_ptr() for k, v in sd.items())
c = T.to_cpu(osd)
out["to_cpu_same"] = all(c["state"][i][k].data_ptr() == v.data_ptr() for i, s in osd["state"].items() for k, v in s.items()) \
    and c["param_groups"] == osd["param_groups"]
print(json.dumps(out))
`

type devicePick struct {
	Kind, Backend, Torch string
	Error, Message       string
	SpecError            bool `json:"spec_error"`
}

func trainerDir(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(torchrun); err != nil && os.Getenv("CI") == "" {
		t.Skipf("%s is absent and CI is unset: skipping the trainer tests", torchrun)
	}
	dir := filepath.Join(t.TempDir(), "job")
	if err := os.CopyFS(dir, pytrainer.FS); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestSelectDevice(t *testing.T) {
	dir := trainerDir(t)
	cmd := exec.Command(python, "-c", deviceScript)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PYTHONPATH="+dir, "PYTHONDONTWRITEBYTECODE=1", "OMP_NUM_THREADS=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, b, stderr.String())
	}
	var got struct {
		CUDA         bool   `json:"cuda_available"`
		XLA          bool   `json:"have_xla"`
		TorchCPU     string `json:"torch_cpu"`
		CPUStateDict bool   `json:"cpu_state_dict_same"`
		ToCPU        bool   `json:"to_cpu_same"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	pick := func(key string) devicePick {
		t.Helper()
		var p devicePick
		if err := json.Unmarshal(raw[key], &p); err != nil {
			t.Fatalf("%s: %v: %s", key, err, raw[key])
		}
		return p
	}
	wantKind(t, "SUPPLYLINE_DEVICE=cpu", pick("env_cpu"), "cpu", "gloo", "cpu")
	for _, k := range []string{"req:cpu", "req:CPU"} {
		wantKind(t, k, pick(k), "cpu", "gloo", "cpu")
	}
	auto, autoBackend, autoTorch := "cpu", "gloo", "cpu"
	if got.CUDA {
		auto, autoBackend, autoTorch = "cuda", "nccl", "cuda:0"
	}
	for _, k := range []string{"unset", "req:auto", "req:"} {
		wantKind(t, k, pick(k), auto, autoBackend, autoTorch)
	}
	if got.CUDA {
		wantKind(t, "req:cuda", pick("req:cuda"), "cuda", "nccl", "cuda:0")
	} else {
		wantError(t, "req:cuda", pick("req:cuda"), "SUPPLYLINE_DEVICE=cuda but CUDA is not available")
	}
	if got.XLA {
		t.Log("torch_xla is importable here: not checking the error for a missing torch_xla")
	} else {
		wantError(t, "req:xla", pick("req:xla"), "torch_xla cannot be imported")
	}
	wantError(t, "req:tpu", pick("req:tpu"), "want auto, cpu, cuda or xla")
	if got.TorchCPU != "cpu" {
		t.Errorf("as_device(torch.device('cpu')).kind = %q, want cpu", got.TorchCPU)
	}
	if !got.CPUStateDict || !got.ToCPU {
		t.Errorf("checkpoint helpers copied CPU tensors: cpu_state_dict same=%v, to_cpu same=%v", got.CPUStateDict, got.ToCPU)
	}
}

func wantKind(t *testing.T, name string, p devicePick, kind, backend, torch string) {
	t.Helper()
	if p.Error != "" || p.Kind != kind || p.Backend != backend || p.Torch != torch {
		t.Errorf("%s: got %+v, want %s device %s with backend %s", name, p, kind, torch, backend)
	}
}

func wantError(t *testing.T, name string, p devicePick, msg string) {
	t.Helper()
	if p.Error != "DeviceError" || !p.SpecError || !strings.Contains(p.Message, msg) {
		t.Errorf("%s: got %+v, want a DeviceError (a SpecError) saying %q", name, p, msg)
	}
}

// TestDeviceErrorExit runs the entry point as torchrun would start one rank
// and asks for devices this machine lacks: the process must end with status
// 1 and say why, before it touches the loader or the process group.
func TestDeviceErrorExit(t *testing.T) {
	dir := trainerDir(t)
	spec := map[string]any{
		"shard_manifest": "/nonexistent/manifest.json", "checkpoint_dir": t.TempDir(), "target_step": 1,
		"world_size": 1, "model": map[string]int{"vocab_size": 64},
	}
	b, _ := json.Marshal(spec)
	specPath := filepath.Join(t.TempDir(), "job.json")
	if err := os.WriteFile(specPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	probe := exec.Command(python, "-c", "import torch, importlib.util as u; "+
		"print(torch.cuda.is_available(), u.find_spec('torch_xla') is not None)")
	probe.Dir = dir
	b, err := probe.Output()
	if err != nil {
		t.Fatalf("probing torch: %v", err)
	}
	usable := map[string]bool{}
	if f := strings.Fields(string(b)); len(f) == 2 {
		usable["cuda"], usable["xla"] = f[0] == "True", f[1] == "True"
	}
	for device, want := range map[string]string{
		"xla":  "torch_xla cannot be imported",
		"cuda": "CUDA is not available",
		"gpu":  "want auto, cpu, cuda or xla",
	} {
		t.Run(device, func(t *testing.T) {
			if usable[device] {
				t.Skipf("SUPPLYLINE_DEVICE=%s is usable here", device)
			}
			cmd := exec.Command(python, "-m", "supplyline_trainer.train", "--spec", specPath)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "SUPPLYLINE_DEVICE="+device, "RANK=0", "LOCAL_RANK=0", "WORLD_SIZE=1",
				"MASTER_ADDR=127.0.0.1", "MASTER_PORT="+freePort(t), "OMP_NUM_THREADS=1", "PYTHONDONTWRITEBYTECODE=1")
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("trainer succeeded, want a failure\n%s", out)
			}
			if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(out), want) ||
				!strings.Contains(string(out), "supplyline_trainer: rank 0: error: SUPPLYLINE_DEVICE=") {
				t.Fatalf("exit %d, output does not say %q:\n%s", code, want, out)
			}
			if strings.Contains(string(out), "Traceback") {
				t.Errorf("a device error should be a message, not a traceback:\n%s", out)
			}
		})
	}
}
