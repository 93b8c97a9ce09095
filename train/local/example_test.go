package local_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/supplyline/supplyline/train"
	"github.com/supplyline/supplyline/train/local"
)

// A worker submits a segment, then watches it. Were the worker to crash and
// restart, the same Submit (or Reattach) would find the running job again.
func Example() {
	l, err := local.New(local.Options{}) // torchrun, 2 CPU ranks, ~/.local/state/supplyline/jobs
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	id, err := l.Submit(ctx, train.JobSpec{
		IdempotencyKey: "nightly-2026-11-25/seg-0001",
		ShardManifest:  "file:///data/shards/manifest.json",
		Model:          train.ModelConfig{VocabSize: 4096}.WithDefaults(),
		CheckpointDir:  "/data/checkpoints/nightly",
		TargetStep:     200,
	})
	if err != nil {
		log.Fatal(err) // errors.Is(err, train.ErrNoCapacity): try the next backend
	}
	for {
		st, err := l.Describe(ctx, id)
		if err != nil {
			log.Fatal(err)
		}
		if st.State.Final() {
			fmt.Println(st.State, st.Progress.Step, st.Message)
			return
		}
		time.Sleep(5 * time.Second)
	}
}
