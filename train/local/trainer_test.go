package local

import (
	"path/filepath"
	"testing"

	"github.com/supplyline/supplyline/train"
	"github.com/supplyline/supplyline/train/loader/loadertest"
)

// TestRealTrainer runs the embedded trainer with the zero Entry, the real Go
// loader library and a small shard set: the launcher's whole path from
// Submit to a checkpoint. Building the library with a cold build cache takes
// minutes, hence the -short skip.
func TestRealTrainer(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the build of the loader library")
	}
	requireTorchrun(t)
	t.Parallel()
	ctx := testContext(t)
	dir := t.TempDir()
	lib, err := loadertest.BuildLib(dir)
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := loadertest.Write(filepath.Join(dir, "shards"), loadertest.Dataset{VocabSize: 64, Train: [][][]uint32{
		loadertest.PatternDocs(1, 100, 40, 64),
	}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(Options{Root: filepath.Join(dir, "jobs"), LoaderLib: lib, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(dir, "checkpoints")
	id, err := l.Submit(ctx, train.JobSpec{
		IdempotencyKey: "wf-real/seg-0001",
		ShardManifest:  manifest,
		Model:          train.ModelConfig{VocabSize: 64, ContextLen: 32, Layers: 1, Heads: 2, Dim: 16},
		Hyper:          train.Hyper{BatchSize: 4, LogEvery: 4}.WithDefaults(),
		Seed:           7,
		CheckpointDir:  ckpt,
		TargetStep:     8,
	})
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, l, id)
	st := poll(ctx, t, l, id, final)
	if st.State != train.StateSucceeded {
		t.Fatalf("ended %s (exit %d): %s\nlog:\n%s", st.State, st.ExitCode, st.Message, readLogs(t, l, id, 0))
	}
	if !st.Progress.Done || st.Progress.Step != 8 || st.Progress.Checkpoint == "" {
		t.Fatalf("last progress %+v, want step 8, done, with a checkpoint", st.Progress)
	}
	latest, err := train.LatestCheckpoint(ckpt)
	if err != nil || latest == "" {
		t.Fatalf("LatestCheckpoint = %q, %v", latest, err)
	}
	state, err := train.ReadState(latest)
	if err != nil || state.Step != 8 || state.Loader.WorldSize != 2 {
		t.Fatalf("state.json = %+v, %v; want step 8 from 2 ranks", state, err)
	}
}
