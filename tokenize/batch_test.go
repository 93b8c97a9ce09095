package tokenize

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestEncodeBatchInto: a Batch reused across batches of different sizes
// and texts holds each batch's ids, equal to Encode's, and stops
// allocating once its buffers have grown.
func TestEncodeBatchInto(t *testing.T) {
	dir, docs := trainedTokenizer(t, 512)
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	texts := make([]string, len(docs))
	for i, d := range docs {
		texts[i] = d.Text
	}
	var b Batch
	for _, batch := range [][]string{texts, texts[:7], append(slices.Clone(edgeTexts), texts[100:900]...), nil, texts} {
		tok.EncodeBatchInto(&b, batch)
		if len(b.Docs) != len(batch) {
			t.Fatalf("%d results for %d texts", len(b.Docs), len(batch))
		}
		for i, x := range batch {
			if !slices.Equal(b.Docs[i], tok.Encode(x)) {
				t.Fatalf("text %d of %d: batch ids differ from Encode's", i, len(batch))
			}
		}
	}
	if n := testing.AllocsPerRun(5, func() { tok.EncodeBatchInto(&b, texts) }); n > 20 {
		t.Errorf("EncodeBatchInto into a grown Batch: %.0f allocations a call, want a few (goroutines), not one per text", n)
	}
}

// TestWordCacheFills: more distinct words than the cache holds, encoded
// on all cores from a cold cache (publishing snapshots as it goes, then
// full), give the ids of BPE on each word.
func TestWordCacheFills(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes 400k distinct words")
	}
	dir, _ := trainedTokenizer(t, 512)
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var texts []string
	var words [][]string
	for range 4000 {
		var ws []string
		for range 100 {
			ws = append(ws, fmt.Sprintf(" %d", rng.IntN(1e9)), " oh=")
		}
		words = append(words, ws)
		texts = append(texts, strings.Join(ws, ""))
	}
	got := tok.EncodeBatch(texts)
	for i := range texts {
		if !slices.Equal(got[i], encodeWords(tok, words[i])) {
			t.Fatalf("text %d: ids differ from BPE word by word", i)
		}
	}
	if !tok.cache.full.Load() || tok.cache.load().len() < maxCacheWords {
		t.Fatalf("cache holds %d words (full %v), want it full at %d", tok.cache.load().len(), tok.cache.full.Load(), maxCacheWords)
	}
	for i := range texts { // now from the full cache and BPE for the rest
		if !slices.Equal(tok.Encode(texts[i]), got[i]) {
			t.Fatalf("text %d: ids differ once the cache is full", i)
		}
	}
}
