package tokenize

import (
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"
)

// maxCacheWords bounds the word cache; past it new words are encoded but
// not remembered. Rendered documents have a few thousand distinct words.
const maxCacheWords = 1 << 18

// wordCache remembers the ids of pre-tokenized words so that BPE runs once
// per distinct word. Encoding on many goroutines reads it on every word, so
// reads take no lock and write nothing shared: they go to an immutable
// snapshot behind an atomic pointer. Words learnt since the snapshot wait
// in a pending table under a mutex, which only a miss in the snapshot
// touches, and are published as a new snapshot once they number half the
// snapshot (at least minPublish), so the copying is amortised O(1) per word
// and a warm cache is never written.
//
// Words of up to 7 bytes, almost all of them in rendered documents, are
// keyed by their bytes packed into a uint64 (a cheaper hash and compare
// than a string key); longer words by string.
type wordCache struct {
	snap atomic.Pointer[cacheSnap]
	full atomic.Bool // the snapshot holds maxCacheWords: stop learning

	mu      sync.Mutex
	pending cacheSnap // words not yet in snap; its arena is the shared one
}

// minPublish is the least number of pending words worth a new snapshot.
const minPublish = 64

// cacheSnap is one snapshot of the cache (or the pending table). The arena
// is shared between snapshots and only grows, under wordCache.mu: a
// snapshot reads arena[:len] of its own slice header, which later appends
// never change.
type cacheSnap struct {
	short map[uint64]span
	long  map[string]span
	arena []int
	// table holds short in open addressing for lookups (nil in the
	// pending table): a multiplicative hash and a linear probe over
	// packed keys beat a map's generic hashing on the hot path.
	table shortTable
}

type span struct{ off, n int32 }

func (s *cacheSnap) len() int { return len(s.short) + len(s.long) }

// shortTable is an immutable open-addressing hash table from packed words
// (never 0: the length byte is set) to spans, at most half full.
type shortTable struct {
	keys  []uint64
	vals  []span
	shift uint8
}

func newShortTable(m map[uint64]span) shortTable {
	size := 16
	for size < 2*len(m) {
		size *= 2
	}
	t := shortTable{keys: make([]uint64, size), vals: make([]span, size), shift: uint8(64 - bits.TrailingZeros(uint(size)))}
	mask := uint64(size - 1)
	for k, v := range m {
		i := (k * 0x9E3779B97F4A7C15) >> t.shift
		for t.keys[i] != 0 {
			i = (i + 1) & mask
		}
		t.keys[i], t.vals[i] = k, v
	}
	return t
}

func (t *shortTable) get(k uint64) (span, bool) {
	mask := uint64(len(t.keys) - 1)
	for i := (k * 0x9E3779B97F4A7C15) >> t.shift; ; i = (i + 1) & mask {
		switch t.keys[i] {
		case k:
			return t.vals[i], true
		case 0:
			return span{}, false
		}
	}
}

// packWord packs a word of 1..7 bytes with its length into a uint64 key.
func packWord(w string) (uint64, bool) {
	if len(w) > 7 {
		return 0, false
	}
	k := uint64(len(w)) << 56
	for i := 0; i < len(w); i++ {
		k |= uint64(w[i]) << (8 * i)
	}
	return k, true
}

func (s *cacheSnap) get(w string) (span, bool) {
	if k, ok := packWord(w); ok {
		if s.table.keys != nil {
			return s.table.get(k)
		}
		sp, ok := s.short[k]
		return sp, ok
	}
	sp, ok := s.long[w]
	return sp, ok
}

func (s *cacheSnap) put(w string, sp span) {
	if k, ok := packWord(w); ok {
		s.short[k] = sp
		return
	}
	s.long[strings.Clone(w)] = sp
}

func newWordCache() *wordCache {
	c := &wordCache{pending: cacheSnap{short: map[uint64]span{}, long: map[string]span{}}}
	c.snap.Store(&cacheSnap{short: map[uint64]span{}, long: map[string]span{}, table: newShortTable(nil)})
	return c
}

// load returns the current snapshot for lock-free lookups.
func (c *wordCache) load() *cacheSnap { return c.snap.Load() }

// miss appends the ids of w, which the snapshot s lacks, to dst: from the
// pending table when another call learnt it, else by running bpe, and
// remembers them unless the cache is full. t runs the BPE.
func (c *wordCache) miss(dst []int, w string, t *Tokenizer) []int {
	if c.full.Load() {
		return t.bpe(dst, w)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.snap.Load()
	if sp, ok := cur.get(w); ok { // published since the caller loaded its snapshot
		return append(dst, cur.arena[sp.off:sp.off+sp.n]...)
	}
	if sp, ok := c.pending.get(w); ok {
		return append(dst, c.pending.arena[sp.off:sp.off+sp.n]...)
	}
	off := len(dst)
	dst = t.bpe(dst, w)
	if cur.len()+c.pending.len() >= maxCacheWords {
		c.full.Store(true)
		return dst
	}
	c.pending.put(w, span{int32(len(c.pending.arena)), int32(len(dst) - off)})
	c.pending.arena = append(c.pending.arena, dst[off:]...)
	if n := c.pending.len(); n >= minPublish && n >= cur.len()/2 || cur.len()+n >= maxCacheWords {
		c.publish(cur)
	}
	return dst
}

// publish replaces the snapshot with one that also holds the pending
// words. The caller holds c.mu.
func (c *wordCache) publish(cur *cacheSnap) {
	next := &cacheSnap{
		short: make(map[uint64]span, len(cur.short)+len(c.pending.short)),
		long:  make(map[string]span, len(cur.long)+len(c.pending.long)),
		arena: c.pending.arena,
	}
	for _, m := range []map[uint64]span{cur.short, c.pending.short} {
		for k, v := range m {
			next.short[k] = v
		}
	}
	for _, m := range []map[string]span{cur.long, c.pending.long} {
		for k, v := range m {
			next.long[k] = v
		}
	}
	next.table = newShortTable(next.short)
	c.snap.Store(next)
	clear(c.pending.short)
	clear(c.pending.long)
	if next.len() >= maxCacheWords {
		c.full.Store(true)
	}
}
