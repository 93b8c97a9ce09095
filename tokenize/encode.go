package tokenize

import (
	"context"
	"io"
	"sync"
)

// Batches of consecutive documents are the unit of parallel encoding: a
// batch closes at batchDocs documents or batchBytes bytes of text.
const (
	batchDocs  = 64
	batchBytes = 256 << 10
)

// encodeBatch is a run of documents and, once done is closed, their ids.
type encodeBatch struct {
	docs []Document
	ids  []int // every document's ids, DocStart and DocEnd included, back to back
	ends []int // ids[ends[i-1]:ends[i]] is document i
	done chan struct{}
}

// encodeOrdered encodes the documents next returns (until io.EOF) as
// DocStart + text + DocEnd on workers goroutines and calls write with each
// document's ids in document order, from the calling goroutine, so the
// output does not depend on workers. write must not keep ids.
//
// Memory: a dispatcher reads documents, hands batches of them to the
// workers and queues them, in order, for the writer. The queue holds at
// most 2×workers batches, and the writer one more, so at most
// (2×workers+1)×batchDocs documents, read or encoded, exist at any time; a
// writer that falls behind (a slow store) stops the dispatcher instead of
// letting documents pile up. The writer hands written batches back to the
// dispatcher, which reuses their buffers.
//
// On an error from next or write, or when ctx ends, the workers stop and
// the first error is returned.
func encodeOrdered(ctx context.Context, tok *Tokenizer, next func() (Document, error), docStart, docEnd, workers int, write func([]int) error) error {
	workers = max(workers, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan *encodeBatch, workers)
	order := make(chan *encodeBatch, 2*workers)
	free := make(chan *encodeBatch, 2*workers+2)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for b := range jobs {
				if ctx.Err() == nil {
					b.encode(tok, docStart, docEnd)
				}
				close(b.done)
			}
		})
	}
	var readErr error // set by the dispatcher before it closes order
	go func() {
		defer close(order)
		defer close(jobs)
		for eof := false; !eof; {
			var b *encodeBatch
			select {
			case b = <-free:
				b.docs = b.docs[:0]
			default:
				b = &encodeBatch{}
			}
			n := 0
			for len(b.docs) < batchDocs && n < batchBytes {
				d, err := next()
				if err == io.EOF {
					eof = true
					break
				}
				if err != nil {
					readErr = err
					cancel()
					return
				}
				b.docs = append(b.docs, d)
				n += len(d.Text)
			}
			if len(b.docs) == 0 {
				return
			}
			b.done = make(chan struct{})
			select {
			case order <- b:
			case <-ctx.Done():
				return
			}
			jobs <- b // never blocks for long: the workers drain jobs until it closes
		}
	}()
	var err error
	for b := range order {
		<-b.done
		if err == nil {
			err = ctx.Err()
		}
		for i := 0; err == nil && i < len(b.ends); i++ {
			lo := 0
			if i > 0 {
				lo = b.ends[i-1]
			}
			err = write(b.ids[lo:b.ends[i]])
		}
		if err != nil {
			cancel() // the dispatcher stops; the loop drains what it queued
		}
		clear(b.docs) // let the texts go
		select {
		case free <- b:
		default:
		}
	}
	wg.Wait()
	if readErr != nil {
		return readErr
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

func (b *encodeBatch) encode(tok *Tokenizer, docStart, docEnd int) {
	n := 0
	for _, d := range b.docs {
		n += len(d.Text)
	}
	if want := n/2 + 2*len(b.docs); cap(b.ids) < want {
		b.ids = make([]int, 0, want)
	}
	b.ids, b.ends = b.ids[:0], b.ends[:0]
	for _, d := range b.docs {
		b.ids = append(b.ids, docStart)
		b.ids = tok.AppendEncode(b.ids, d.Text)
		b.ids = append(b.ids, docEnd)
		b.ends = append(b.ends, len(b.ids))
	}
}
