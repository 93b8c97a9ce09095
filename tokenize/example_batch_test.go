package tokenize_test

import (
	"fmt"
	"os"
	"slices"

	"github.com/supplyline/supplyline/tokenize"
)

func ExampleTokenizer_EncodeBatchInto() {
	dir, _ := os.MkdirTemp("", "tokenizer-")
	defer os.RemoveAll(dir)
	texts := []string{"w=3 oh=12 dem=5 ord=8\n", "w=4 oh=7 dem=2 ord=0\n"}
	merges, _ := tokenize.Train(slices.Values(texts), tokenize.TrainConfig{VocabSize: 270})
	if err := tokenize.WriteTokenizer(dir, merges); err != nil {
		panic(err)
	}
	tok, _ := tokenize.Load(dir)
	var b tokenize.Batch
	for range 3 { // every batch after the first reuses b's buffers
		tok.EncodeBatchInto(&b, texts)
	}
	fmt.Println(len(b.Docs), tok.Decode(b.Docs[1]) == texts[1], slices.Equal(b.Docs[0], tok.Encode(texts[0])))
	// Output: 2 true true
}
