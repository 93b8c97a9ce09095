package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/supplyline/supplyline/train"
	"github.com/supplyline/supplyline/train/loader"
	"github.com/supplyline/supplyline/train/loader/loadertest"
)

// benchScript measures, in one Python process over the same shard, the C
// ABI loader (through supplyline_trainer.loader, as the trainer reads) and
// a nanoGPT-style loader: a fresh np.memmap of the .bin per batch, random
// window starts from torch.randint, one astype(int64) per row for inputs and
// one for targets, torch.stack. Both yield one batch of the same shape; each
// runs for about a second after a warm-up. It prints one JSON object.
const benchScript = `
import json, sys, time
import numpy as np, torch
from supplyline_trainer.loader import Loader
lib, manifest, binpath = sys.argv[1], sys.argv[2], sys.argv[3]
seq, batch = int(sys.argv[4]), int(sys.argv[5])
torch.manual_seed(0)

def nanogpt():
    data = np.memmap(binpath, dtype=np.uint16, mode="r")
    ix = torch.randint(len(data) - seq - 1, (batch,))
    x = torch.stack([torch.from_numpy(data[i:i + seq].astype(np.int64)) for i in ix])
    y = torch.stack([torch.from_numpy(data[i + 1:i + 1 + seq].astype(np.int64)) for i in ix])
    return x, y

loader = Loader(lib, manifest, seq, batch, 0, 1, 1)
def capi():
    rows = loader.next()
    return rows[:, :-1], rows[:, 1:]

def measure(fn):
    for _ in range(20):
        fn()
    lat, t0 = [], time.perf_counter()
    while time.perf_counter() - t0 < 1.0:
        t = time.perf_counter_ns()
        fn()
        lat.append(time.perf_counter_ns() - t)
    el = time.perf_counter() - t0
    lat.sort()
    return {"batches_per_s": len(lat) / el, "p99_us": lat[len(lat) * 99 // 100] / 1e3}

out = {"nanogpt": measure(nanogpt), "capi": measure(capi)}
loader.close()
print(json.dumps(out))
`

// BenchmarkVersusNanoGPT is the C ABI's benchmark against its Python peer,
// in one run: the Go loader's Next (the timed loop), the same loader
// through ctypes from /usr/bin/python3, and a nanoGPT-style numpy memmap
// loader in that same Python process, all on one 8M-token uint16 shard with
// batches of 16 windows of 1024+1. It reports each one's batches/s and p99
// latency and the ratios go/nanogpt and capi/nanogpt.
func BenchmarkVersusNanoGPT(b *testing.B) {
	if _, err := os.Stat(python); err != nil {
		b.Skipf("%s is absent", python)
	}
	const seq, batch = 1024, 16
	dir := b.TempDir()
	lib, err := loadertest.BuildLib(dir)
	if err != nil {
		b.Fatal(err)
	}
	manifest, err := loadertest.Write(filepath.Join(dir, "shards"), loadertest.Dataset{VocabSize: 50304,
		Train: [][][]uint32{loadertest.PatternDocs(1, 8192, 1024, 50304)}})
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(python, "-c", benchScript, lib, manifest, filepath.Join(dir, "shards", "train-00000.bin"),
		strconv.Itoa(seq), strconv.Itoa(batch))
	cmd.Dir = "../../pytrainer"
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1", "OPENBLAS_NUM_THREADS=1", "OMP_NUM_THREADS=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		b.Fatalf("python: %v\n%s", err, stderr.String())
	}
	var py map[string]struct {
		BatchesPerS float64 `json:"batches_per_s"`
		P99us       float64 `json:"p99_us"`
	}
	if err := json.Unmarshal(stdout, &py); err != nil {
		b.Fatalf("python output %q: %v", stdout, err)
	}

	l, err := loader.Open(manifest, loader.Options{SeqLen: seq, BatchSize: batch, State: train.LoaderState{Seed: 1}})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	dst := make([]int64, l.BatchTokens())
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Next(dst); err != nil {
			b.Fatal(err)
		}
	}
	goRate := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(goRate, "go-batch/s")
	b.ReportMetric(py["capi"].BatchesPerS, "capi-batch/s")
	b.ReportMetric(py["nanogpt"].BatchesPerS, "nanogpt-batch/s")
	b.ReportMetric(py["capi"].P99us, "capi-p99-µs")
	b.ReportMetric(py["nanogpt"].P99us, "nanogpt-p99-µs")
	b.ReportMetric(goRate/py["nanogpt"].BatchesPerS, "go/nanogpt")
	b.ReportMetric(py["capi"].BatchesPerS/py["nanogpt"].BatchesPerS, "capi/nanogpt")
}
