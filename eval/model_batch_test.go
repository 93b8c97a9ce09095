package eval

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/supplyline/supplyline/train"
)

func TestLogitsBatchMatchesLogits(t *testing.T) {
	m := randomModel(t, train.ModelConfig{VocabSize: 37, ContextLen: 24, Layers: 2, Heads: 4, Dim: 16}, 5)
	rng := rand.New(rand.NewPCG(11, 2))
	// Lengths cover the 4-row blocks, their remainders, empty and full context.
	lengths := []int{0, 1, 2, 3, 4, 5, 7, 8, 13, 24, 24, 9}
	seqs := make([][]int, len(lengths))
	for i, n := range lengths {
		for range n {
			seqs[i] = append(seqs[i], rng.IntN(37))
		}
	}
	for _, procs := range []int{1, 3, 8} {
		prev := runtime.GOMAXPROCS(procs)
		got := m.LogitsBatch(seqs)
		runtime.GOMAXPROCS(prev)
		if len(got) != len(seqs) {
			t.Fatalf("GOMAXPROCS %d: %d results for %d sequences", procs, len(got), len(seqs))
		}
		for i, seq := range seqs {
			want := m.Logits(seq)
			if len(got[i]) != len(want) {
				t.Fatalf("GOMAXPROCS %d sequence %d: %d positions, want %d", procs, i, len(got[i]), len(want))
			}
			for p := range want {
				for j := range want[p] {
					if got[i][p][j] != want[p][j] {
						t.Fatalf("GOMAXPROCS %d sequence %d position %d token %d: batch %g, Logits %g",
							procs, i, p, j, got[i][p][j], want[p][j])
					}
				}
			}
		}
	}
}

func TestLogitsBatchPanicsOnBadID(t *testing.T) {
	m := randomModel(t, train.ModelConfig{VocabSize: 5, ContextLen: 4, Layers: 1, Heads: 1, Dim: 4}, 2)
	defer func() {
		if r := recover(); r == nil {
			t.Error("no panic for id 5 of 5")
		}
	}()
	m.LogitsBatch([][]int{{1, 2}, {0, 5}, {3}})
}

// BenchmarkVersusTorch times the same batch of sequences through PyTorch's CPU
// forward (testdata/bench_torch.py, torch.set_num_threads(GOMAXPROCS), timed
// inside Python after warm-up, over 64 batches, once before and once after
// Go, the better run kept) and through LogitsBatch, on one checkpoint written
// by testdata/parity.py, and reports tokens/s for both and their ratio.
//
//	go test -run '^$' -bench VersusTorch -cpu 1,$(nproc) ./eval
func BenchmarkVersusTorch(b *testing.B) {
	const vocab, ctxLen, layers, heads, dim, batch = 2048, 128, 2, 4, 64, 8
	dir := pyCheckpoint(b, "--vocab", strconv.Itoa(vocab), "--context", strconv.Itoa(ctxLen),
		"--layers", strconv.Itoa(layers), "--heads", strconv.Itoa(heads), "--dim", strconv.Itoa(dim), "--n-ids", "1")
	m, err := LoadModel(dir)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	seqs := make([][]int, batch)
	for i := range seqs {
		seqs[i] = make([]int, ctxLen)
		for j := range seqs[i] {
			seqs[i][j] = rng.IntN(vocab)
		}
	}
	idsJSON, err := json.Marshal(seqs)
	if err != nil {
		b.Fatal(err)
	}
	idsPath := filepath.Join(dir, "bench_ids.json")
	if err := os.WriteFile(idsPath, idsJSON, 0o644); err != nil {
		b.Fatal(err)
	}
	procs := runtime.GOMAXPROCS(0)
	torchTPS := func() float64 {
		// 64 timed batches: about half a second of PyTorch at 1.0x, so that
		// both sides are timed over a similar span of a machine that may be noisy.
		cmd := exec.Command(python, filepath.Join("testdata", "bench_torch.py"),
			"--ckpt", dir, "--ids", idsPath, "--threads", strconv.Itoa(procs), "--iters", "64")
		// OpenMP reads its pool size at start-up; without this it sizes the pool
		// to every core and its idle threads spin against the timed one.
		cmd.Env = append(os.Environ(), "OMP_NUM_THREADS="+strconv.Itoa(procs))
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("bench_torch.py: %v", err)
		}
		var torch struct {
			TokensPerS float64 `json:"tokens_per_s"`
			Threads    int     `json:"threads"`
		}
		if err := json.Unmarshal(out, &torch); err != nil {
			b.Fatalf("bench_torch.py output %q: %v", out, err)
		}
		if torch.Threads != procs {
			b.Fatalf("torch ran %d threads, want %d", torch.Threads, procs)
		}
		return torch.TokensPerS
	}
	torchBefore := torchTPS()
	m.LogitsBatch(seqs) // warm-up, like Python's
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m.LogitsBatch(seqs)
	}
	goTPS := float64(b.N*batch*ctxLen) / b.Elapsed().Seconds()
	// PyTorch is timed before and after Go and keeps its better run, so that
	// a burst of load elsewhere on the machine does not flatter the ratio.
	torchAfter := torchTPS()
	b.Logf("PyTorch tokens/s: %.0f before Go, %.0f after", torchBefore, torchAfter)
	torch := max(torchBefore, torchAfter)
	b.ReportMetric(goTPS, "go-tokens/s")
	b.ReportMetric(torch, "torch-tokens/s")
	b.ReportMetric(goTPS/torch, "go/torch")
}
