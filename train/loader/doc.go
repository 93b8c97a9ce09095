// Package loader is Supplyline's training data loader: it reads the train
// split of a token shard directory (see tokenize.Manifest), verifies it, and
// hands out batches of fixed-length windows in a global order that a handful
// of integers (train.LoaderState) reproduce bit for bit.
//
// # Sample order
//
// The train shards are concatenated, in manifest order, into one token
// stream of N tokens (documents run into one another; the tokenizer's special
// tokens mark their boundaries). Window i is tokens [i*S, i*S+S+1), S being
// Options.SeqLen, so consecutive windows overlap by one token (the last
// target of one is the first input of the next) and there are (N-1)/S of
// them.
//
// Each epoch e visits the windows in the order of a permutation of
// 0..nWindows-1 drawn from (Seed, e) by a Fisher-Yates shuffle driven by
// splitmix64 (see Permutation for the exact recipe, so that it can be
// reimplemented in any language). Global batch g of an epoch is windows
// order[g*B*W : (g+1)*B*W] (B = Options.BatchSize per rank, W = WorldSize),
// and rank r takes the contiguous slice [r*B, (r+1)*B) of it. Concatenating
// the ranks' batches in rank order therefore gives the same window sequence
// whatever W is, as long as B*W is the same.
//
// LoaderState.Position counts the windows of the current epoch that have been
// consumed by all ranks together. When fewer than B*W windows are left in an
// epoch, they are dropped (the tail) and the next batch is the first of
// epoch+1. The rollover happens lazily, in Next, so a state saved after the
// last full batch of an epoch still names that epoch; resuming from it gives
// the same batches either way. Note that where an epoch ends depends on B*W:
// resuming with another global batch size keeps the order but may drop a
// different tail.
//
// # This implementation
//
// This body is deliberately thin: Open reads every train shard into memory
// through tokenize.OpenShards, which verifies it, and Next copies windows sequentially on the calling
// goroutine. The interface (Open, Options, Next, State) is the contract; a
// faster body (memory-mapped shards, prefetching) can replace this one
// without changing it.
//
// The errors Open and Next return are listed in errors.go.
package loader
