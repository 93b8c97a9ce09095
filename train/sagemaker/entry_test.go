package sagemaker

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/supplyline/supplyline/train"
)

// TestEntryPointInArchive unpacks a real source archive the way the
// training toolkit does and runs the entry point's spec mapping and progress
// tee with the system Python (no torch needed for these parts).
func TestEntryPointInArchive(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed: the trainer runs on it")
	}
	spec := train.JobSpec{
		IdempotencyKey: "wf/seg-0001", ShardManifest: "s3://b/runs/wf/shards/manifest.json",
		CheckpointDir: "/runs/wf/checkpoints", ResumeFrom: "/runs/wf/checkpoints/step-0000100", TargetStep: 300,
		Model: train.ModelConfig{VocabSize: 300},
	}
	archive, _, err := buildArchive(spec, loaderLib)
	if err != nil {
		t.Fatal(err)
	}
	code := t.TempDir()
	for name, b := range untar(t, archive) {
		p := filepath.Join(code, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// /opt/ml/checkpoints as SageMaker restores it after a spot restart:
	// the segment's resume point and a newer checkpoint of this job.
	ckpts := t.TempDir()
	for step, name := range map[int]string{100: "step-0000100", 200: "step-0000200"} {
		os.MkdirAll(filepath.Join(ckpts, name), 0o755)
		b, _ := json.Marshal(map[string]int{"step": step})
		os.WriteFile(filepath.Join(ckpts, name, "state.json"), b, 0o644)
	}
	os.WriteFile(filepath.Join(ckpts, "latest"), []byte("step-0000200\n"), 0o644)

	script := `
import io, json, os, sys
sys.argv = ["sagemaker_entry.py"]
import sagemaker_entry as E
spec = json.load(open(os.path.join(E.ROOT, E.SPEC_FILE)))
env = {"SM_CHANNEL_SHARDS": "/opt/ml/input/data/shards", "WORLD_SIZE": "32"}
out = E.container_spec(spec, env, checkpoints=os.environ["CKPTS"])
buf = io.StringIO()
tee = E.ProgressTee(buf, os.path.join(os.environ["CKPTS"], "_progress", "job.json"))
tee.write('noise\nSUPPLYLINE_PROGRESS {"step": 210, "loss": 1.5}\nSUPPLYLINE_PROG')
tee.write('RESS {"step": 220, "loss": 1.25}\n')
print(json.dumps({"spec": out, "progress": json.load(open(os.path.join(os.environ["CKPTS"], "_progress", "job.json"))), "passed": buf.getvalue().count("\n")}))
`
	cmd := exec.Command(py, "-c", script)
	cmd.Dir = code
	cmd.Env = append(os.Environ(), "CKPTS="+ckpts, "PYTHONPATH="+code, "PYTHONDONTWRITEBYTECODE=1")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	var got struct {
		Spec     map[string]any
		Progress map[string]float64
		Passed   int
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	for k, want := range map[string]any{
		"shard_manifest": "/opt/ml/input/data/shards/manifest.json",
		"checkpoint_dir": ckpts,
		"resume_from":    filepath.Join(ckpts, "step-0000200"), // the newer one, from before the restart
		"world_size":     float64(32),
		"loader_lib":     filepath.Join(code, "lib", "libsupplyline_loader.so"),
	} {
		if got.Spec[k] != want {
			t.Errorf("%s = %v, want %v", k, got.Spec[k], want)
		}
	}
	if got.Progress["step"] != 220 || got.Passed != 3 {
		t.Errorf("progress object %v, %d lines passed through; want step 220 and 3", got.Progress, got.Passed)
	}
	if strings.Contains(string(b), "Traceback") {
		t.Error(string(b))
	}
}
