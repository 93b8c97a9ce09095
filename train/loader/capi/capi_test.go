package main

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/supplyline/supplyline/train"
	"github.com/supplyline/supplyline/train/loader"
	"github.com/supplyline/supplyline/train/loader/loadertest"
)

const python = "/usr/bin/python3"

// pyScript drives the library through supplyline_trainer.loader, as the
// trainer does, and prints what it saw as one JSON object.
const pyScript = `
import json, sys
from supplyline_trainer.loader import Loader, LoaderError, permutation, _lib
lib, manifest, bad = sys.argv[1], sys.argv[2], sys.argv[3]
out = {"worlds": {}}
for world in (1, 2):
    batches = []
    ranks = [Loader(lib, manifest, 8, 6 // world, r, world, 9, 0, 0) for r in range(world)]
    for step in range(25):
        for l in ranks:
            batches.append(l.next().flatten().tolist())
    out["worlds"][str(world)] = {"batches": batches, "state": ranks[-1].state()}
    for l in ranks:
        l.close()
resumed = Loader(lib, manifest, 8, 3, 1, 2, 9, 1, 12)
out["resumed"] = [resumed.next().flatten().tolist() for _ in range(3)]
try:
    Loader(lib, bad, 8, 3, 0, 2, 9, 0, 0)
    out["bad"] = ""
except LoaderError as e:
    out["bad"] = str(e)
out["bad_handle"] = _lib(lib).sl_next(12345, None, 0)
out["perm"] = permutation(42, 1, 10)
print(json.dumps(out))
`

func TestPythonDrivesLibrary(t *testing.T) {
	if _, err := os.Stat(python); err != nil && os.Getenv("CI") == "" {
		t.Skipf("%s is absent and CI is unset: skipping the ctypes test", python)
	}
	dir := t.TempDir()
	lib, err := loadertest.BuildLib(dir)
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := loadertest.Write(filepath.Join(dir, "good"), loadertest.Dataset{VocabSize: 64, Train: [][][]uint32{
		loadertest.PatternDocs(1, 30, 20, 64), loadertest.PatternDocs(2, 17, 13, 64),
	}})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := loadertest.Write(filepath.Join(dir, "bad"), loadertest.Dataset{VocabSize: 64, Train: [][][]uint32{loadertest.PatternDocs(1, 30, 20, 64)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad", "train-00000.idx"), make([]byte, 31*8), 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(python, "-c", pyScript, lib, manifest, bad)
	cmd.Dir = "../../pytrainer" // holds the supplyline_trainer package
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1", "OPENBLAS_NUM_THREADS=1", "OMP_NUM_THREADS=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	var got struct {
		Worlds map[string]struct {
			Batches [][]int64
			State   map[string]int64
		}
		Resumed   [][]int64
		Bad       string
		BadHandle int `json:"bad_handle"`
		Perm      []int64
	}
	if err := json.Unmarshal(stdout, &got); err != nil {
		t.Fatalf("python output: %v\n%s", err, stdout)
	}

	// The Go loader's view of the same runs.
	goBatches := func(world, rank int, st train.LoaderState, n int) [][]int64 {
		l, err := loader.Open(manifest, loader.Options{SeqLen: 8, BatchSize: 6 / world, Rank: rank, WorldSize: world, State: st})
		if err != nil {
			t.Fatal(err)
		}
		out := make([][]int64, n)
		for i := range out {
			out[i] = make([]int64, l.BatchTokens())
			if err := l.Next(out[i]); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	for _, world := range []int{1, 2} {
		var want [][]int64
		ranks := make([][][]int64, world)
		for r := range ranks {
			ranks[r] = goBatches(world, r, train.LoaderState{Seed: 9}, 25)
		}
		for step := range 25 {
			for r := range ranks {
				want = append(want, ranks[r][step])
			}
		}
		w := got.Worlds[strconv.Itoa(world)]
		if !slices.EqualFunc(w.Batches, want, slices.Equal) {
			t.Errorf("world %d: Python's batches differ from the Go loader's", world)
		}
		// 821 tokens make 102 windows of 8+1, 17 global batches of 6 an epoch:
		// 25 batches end at epoch 1, position 8*6.
		wantState := map[string]int64{"seed": 9, "epoch": 1, "position": 48, "world_size": int64(world)}
		if !maps.Equal(w.State, wantState) {
			t.Errorf("world %d: state %v, want %v", world, w.State, wantState)
		}
	}
	if want := goBatches(2, 1, train.LoaderState{Seed: 9, Epoch: 1, Position: 12}, 3); !slices.EqualFunc(got.Resumed, want, slices.Equal) {
		t.Errorf("resumed batches differ from the Go loader's")
	}
	if !strings.Contains(got.Bad, "train-00000.bin") || !strings.Contains(got.Bad, "sha256") {
		t.Errorf("opening a corrupt shard: error %q does not name the shard and its checksum", got.Bad)
	}
	if got.BadHandle != -1 {
		t.Errorf("sl_next on an unknown handle returned %d, want -1", got.BadHandle)
	}
	if want := loader.Permutation(42, 1, 10); !slices.Equal(got.Perm, want) {
		t.Errorf("Python's reference permutation %v, Go's %v", got.Perm, want)
	}
}
