package loader_test

import (
	"fmt"
	"log"
	"os"

	"github.com/supplyline/supplyline/train"
	"github.com/supplyline/supplyline/train/loader"
	"github.com/supplyline/supplyline/train/loader/loadertest"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "loader-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	manifest, err := loadertest.Write(dir, loadertest.Dataset{VocabSize: 64, Train: [][][]uint32{loadertest.PatternDocs(1, 10, 20, 64)}})
	if err != nil {
		log.Fatal(err)
	}

	// Rank 1 of 2, resuming where a saved state.json left off.
	l, err := loader.Open(manifest, loader.Options{
		SeqLen: 8, BatchSize: 2, Rank: 1, WorldSize: 2,
		State: train.LoaderState{Seed: 42, Epoch: 0, Position: 4},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	batch := make([]int64, l.BatchTokens()) // 2 rows of 8+1 tokens
	if err := l.Next(batch); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(batch), l.Windows())
	fmt.Printf("%+v\n", l.State())
	// Output:
	// 18 24
	// {Seed:42 Epoch:0 Position:8 WorldSize:2}
}
