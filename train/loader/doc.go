// Package loader is Supplyline's training data loader: it maps the train
// split of a token shard directory (see tokenize.Manifest), verifies it, and
// hands out batches of fixed-length windows in a global order that a handful
// of integers (train.LoaderState) reproduce bit for bit.
//
// # Windows
//
// The train split's documents are packed, in manifest order (shard after
// shard, document after document within a shard), into one token stream of
// N tokens with nothing inserted and nothing dropped: every document
// already begins with the document-start token and ends with the
// end-of-document token (tokenize.DocStart and tokenize.DocEnd, written by
// tokenize.Build), so in the stream each document is separated from the
// next by its own end-of-document token.
// Window i is the stream's tokens [i*S, i*S+S+1), S being Options.SeqLen,
// so there are (N-1)/S windows, consecutive windows overlap by one token
// (the last target of one is the first input of the next), and the final
// (N-1) mod S tokens never start a target. Windows ignore document
// boundaries: a window may hold the end of one document and the start of
// the next, or a part of one long document; attention is not masked at the
// separator, as in GPT-2 and nanoGPT. A window may also span two shards.
//
// # Sample order
//
// Each epoch e visits the windows in the order of a permutation of
// 0..nWindows-1 drawn from (Seed, e) by a Fisher-Yates shuffle driven by
// splitmix64 (see Permutation for the exact recipe, so that it can be
// reimplemented in any language). Global batch g of an epoch is windows
// order[g*B*W : (g+1)*B*W] (B = Options.BatchSize per rank, W = WorldSize),
// and rank r takes the contiguous slice [r*B, (r+1)*B) of it. Concatenating
// the ranks' batches in rank order therefore gives the same window sequence
// whatever W is, as long as B*W is the same. A trainer that keeps its
// global batch fixed across world sizes through gradient accumulation opens
// the loader with B = per-rank micro-batch x accumulation steps, so that
// B*W is the global batch, and splits each batch into micro-batches.
//
// LoaderState.Position counts the windows of the current epoch that have been
// consumed by all ranks together. When fewer than B*W windows are left in an
// epoch, they are dropped (the tail) and the next batch is the first of
// epoch+1. The rollover happens lazily, when the next batch is made, so a
// state saved after the last full batch of an epoch still names that epoch;
// resuming from it gives the same batches either way. Note that where an
// epoch ends depends on B*W: resuming with another global batch size keeps
// the order but may drop a different tail.
//
// # This implementation
//
// Open maps every train shard's .bin read-only (mmap) and verifies it in
// place: the tokenizer hash, each shard's sha256 over the mapping and its
// .idx, sizes, offsets and token ids, with tokenize.OpenShards' checks and
// error types. The tokens are never copied into the heap; the shards must
// not change while a loader has them mapped (a truncated file would fault).
//
// A goroutine walks the rank's slice of the global order ahead of Next and
// fills a ring of Options.Prefetch batch buffers, converting each window's
// ids to int64 straight from the mapping. Next copies the oldest ready
// buffer into the caller's slice and hands the buffer back to the ring; no
// call allocates, the epoch's permutation being computed into one reused
// slice. State is the position after the last batch Next returned, not
// the prefetcher's, so a saved state resumes exactly at the first batch the
// trainer has not seen. Close (or, failing that, the garbage collector)
// stops the goroutine and unmaps the shards.
//
// The errors Open and Next return are listed in errors.go.
package loader
