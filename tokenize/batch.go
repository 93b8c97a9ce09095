package tokenize

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Batch holds the ids of a batch of texts encoded by EncodeBatchInto. Its
// buffers are reused by the next EncodeBatchInto on it, so encoding batch
// after batch into one Batch allocates nothing once the buffers have grown
// to the batches' size. The zero value is ready to use; a Batch is not safe
// for concurrent use.
type Batch struct {
	// Docs[i] holds the ids of texts[i] of the last EncodeBatchInto, valid
	// until the next one (the ids live in buffers that call reuses).
	Docs [][]int

	bounds []int   // texts[bounds[c]:bounds[c+1]] is chunk c
	chunks [][]int // chunk c's ids, back to back
	ends   []int   // per text: the end of its ids in its chunk
}

// batchChunkBytes is the text a goroutine claims at a time: large enough
// that claiming costs nothing, small enough to spread a batch over cores.
const batchChunkBytes = 16 << 10

// EncodeBatch returns Encode of each text: out[i] holds the ids of
// texts[i]. It is EncodeBatchInto a fresh Batch, so it allocates the result
// but not once per text.
func (t *Tokenizer) EncodeBatch(texts []string) [][]int {
	var b Batch
	t.EncodeBatchInto(&b, texts)
	return b.Docs
}

// EncodeBatchInto encodes texts into b on GOMAXPROCS goroutines; then
// b.Docs[i] holds the ids of texts[i], as Encode gives them. The goroutines
// claim chunks of about batchChunkBytes of text in turn and append each
// chunk's ids to that chunk's buffer in b, so the work balances across
// cores, nothing is shared between goroutines but the chunk counter and the
// word cache (read without locks), and b's buffers are reused from one call
// to the next.
func (t *Tokenizer) EncodeBatchInto(b *Batch, texts []string) {
	b.bounds = b.bounds[:0]
	for i, n := 0, 0; i < len(texts); i++ {
		if n == 0 {
			b.bounds = append(b.bounds, i)
		}
		if n += len(texts[i]) + 1; n >= batchChunkBytes {
			n = 0
		}
	}
	b.bounds = append(b.bounds, len(texts))
	nChunks := len(b.bounds) - 1
	for len(b.chunks) < nChunks {
		b.chunks = append(b.chunks, nil)
	}
	b.ends = grow(b.ends, len(texts))
	b.Docs = grow(b.Docs, len(texts))

	var next atomic.Int64
	work := func() {
		for {
			c := int(next.Add(1)) - 1
			if c >= nChunks {
				return
			}
			lo, hi := b.bounds[c], b.bounds[c+1]
			ids := b.chunks[c][:0]
			if cap(ids) == 0 {
				n := 0
				for _, x := range texts[lo:hi] {
					n += len(x)
				}
				ids = make([]int, 0, n/2+4*(hi-lo)) // rendered text runs at about 0.4 ids a byte
			}
			for i := lo; i < hi; i++ {
				ids = t.AppendEncode(ids, texts[i])
				b.ends[i] = len(ids)
			}
			b.chunks[c] = ids
			start := 0
			for i := lo; i < hi; i++ {
				b.Docs[i] = ids[start:b.ends[i]:b.ends[i]]
				start = b.ends[i]
			}
		}
	}
	workers := min(runtime.GOMAXPROCS(0), nChunks)
	if workers <= 1 {
		work()
		return
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(work)
	}
	wg.Wait()
}

// grow returns s resized to n elements, reusing its array when it can.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
