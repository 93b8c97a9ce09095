package pytrainer_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/supplyline/supplyline/train"
	"github.com/supplyline/supplyline/train/loader/loadertest"
	"github.com/supplyline/supplyline/train/pytrainer"
)

// BenchmarkDataStall runs the real trainer (torchrun, 2 CPU ranks, the
// demo's model shape: ctx 128, d 64, 2 layers, batch 8 per rank) twice with
// the Go loader and twice with --synthetic (8 batches held in memory),
// alternating, and reports the median step time of each (rank 0's
// SUPPLYLINE_DEBUG_DIR log, first 10 steps left out, the better of the two
// runs) and their ratio, the data stall. The loop runs once; the trainer
// runs are the measurement.
func BenchmarkDataStall(b *testing.B) {
	if _, err := os.Stat(torchrun); err != nil {
		b.Skipf("%s is absent", torchrun)
	}
	dir := b.TempDir()
	lib, err := loadertest.BuildLib(dir)
	if err != nil {
		b.Fatal(err)
	}
	manifest, err := loadertest.Write(filepath.Join(dir, "shards"), loadertest.Dataset{VocabSize: 410, Train: [][][]uint32{
		loadertest.PatternDocs(1, 2000, 200, 410)}})
	if err != nil {
		b.Fatal(err)
	}
	jobDir := filepath.Join(dir, "job")
	if err := os.CopyFS(jobDir, pytrainer.FS); err != nil {
		b.Fatal(err)
	}
	const steps = 100
	run := func(synthetic bool) (step, next time.Duration) {
		spec := train.JobSpec{IdempotencyKey: "bench/seg-0", ShardManifest: manifest,
			Model: train.ModelConfig{VocabSize: 410, ContextLen: 128, Layers: 2, Heads: 4, Dim: 64},
			Hyper: train.Hyper{BatchSize: 8, LogEvery: 50}, Seed: 1, WorldSize: 2,
			CheckpointDir: filepath.Join(dir, "ckpt"), TargetStep: steps, LoaderLib: lib}
		js, _ := json.Marshal(spec)
		specPath := filepath.Join(dir, "job.json")
		if err := os.WriteFile(specPath, js, 0o644); err != nil {
			b.Fatal(err)
		}
		logDir, err := os.MkdirTemp(dir, "log-")
		if err != nil {
			b.Fatal(err)
		}
		args := []string{"--rdzv_backend=c10d", "--rdzv_endpoint=localhost:0", "--nnodes=1", "--nproc_per_node=2",
			"--redirects=9:1", "--tee=9:1", "-m", "supplyline_trainer.train", "--spec", specPath}
		if synthetic {
			args = append(args, "--synthetic")
		}
		cmd := exec.Command(torchrun, args...)
		cmd.Dir = jobDir
		cmd.Env = append(os.Environ(), "GOMAXPROCS=1", "OPENBLAS_NUM_THREADS=1", "OMP_NUM_THREADS=1", "SUPPLYLINE_DEBUG_DIR="+logDir)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("trainer: %v\n%s", err, out)
		}
		f, err := os.Open(filepath.Join(logDir, "rank-0.jsonl"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		var stepS, nextS []float64
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var l struct {
				Step  int     `json:"step"`
				NextS float64 `json:"next_s"`
				StepS float64 `json:"step_s"`
			}
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				b.Fatal(err)
			}
			if l.Step > 10 {
				stepS, nextS = append(stepS, l.StepS), append(nextS, l.NextS)
			}
		}
		return median(stepS), median(nextS)
	}
	best := map[bool]time.Duration{}
	var nextLoader time.Duration
	for b.Loop() {
		for range 2 {
			for _, synthetic := range []bool{false, true} {
				s, n := run(synthetic)
				if old, ok := best[synthetic]; !ok || s < old {
					best[synthetic] = s
				}
				if !synthetic {
					nextLoader = n
				}
			}
		}
	}
	b.ReportMetric(float64(best[false].Microseconds())/1e3, "loader-step-ms")
	b.ReportMetric(float64(best[true].Microseconds())/1e3, "synthetic-step-ms")
	b.ReportMetric(float64(nextLoader.Microseconds()), "next-µs")
	b.ReportMetric(float64(best[false])/float64(best[true]), "stall-ratio")
	fmt.Fprintf(os.Stderr, "data stall: loader %v/step, synthetic %v/step, loader.next %v\n", best[false], best[true], nextLoader)
}

func median(xs []float64) time.Duration {
	slices.Sort(xs)
	return time.Duration(xs[len(xs)/2] * float64(time.Second))
}
