package tokenize

import (
	"bufio"
	"bytes"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Tokenizer file names inside a shard or tokenizer directory.
const (
	VocabFile  = "vocab.json"
	MergesFile = "merges.txt"
	// HFTokenizerFile is the same tokenizer in HuggingFace tokenizers'
	// single-file format. It is derived from the other two, so it is not
	// part of TokenizerHashOf.
	HFTokenizerFile = "tokenizer.json"
)

// Merge is one BPE merge: the two symbols, as raw bytes, that become one.
type Merge struct {
	Left, Right string
}

// TrainConfig configures Train. The zero value is not valid: VocabSize is required.
type TrainConfig struct {
	// VocabSize is the size of the final vocabulary: 256 byte symbols, the
	// merged symbols and the special tokens. Training stops early when no
	// pair occurs MinCount times.
	VocabSize int
	// MinCount is the least number of occurrences of a pair worth a merge;
	// 0 means 2.
	MinCount int
}

// Validate reports whether c can train a vocabulary.
func (c TrainConfig) Validate() error {
	if min := 256 + len(SpecialTokens); c.VocabSize < min {
		return fmt.Errorf("%w: vocab size %d, at least %d (bytes and special tokens)", ErrInvalidConfig, c.VocabSize, min)
	}
	if c.MinCount < 0 {
		return fmt.Errorf("%w: negative MinCount", ErrInvalidConfig)
	}
	return nil
}

// Train learns byte-level BPE merges from texts.
//
// Texts are cut at special token strings (which are never merged) and
// pre-tokenized exactly like the encoder does, so merges never cross a word
// boundary. Each step merges the pair with the highest count; ties go to the
// lexicographically smallest pair, comparing Left then Right as raw bytes.
// The result depends only on the multiset of texts, so it is byte-identical
// across runs and input orders.
//
// Thin for now: one goroutine, and pair counts are recomputed only for the
// words that contain the merged pair, but the best pair is found by a scan
// over all pairs at each step (fine for vocabularies of a few thousand).
func Train(texts iter.Seq[string], cfg TrainConfig) ([]Merge, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	counts := map[string]int64{}
	for text := range texts {
		countWords(counts, text)
	}
	return trainCounts(counts, cfg)
}

// countWords adds the pre-tokenized words of text, special tokens left
// out, to counts. The keys are substrings of text: a caller that keeps
// counts longer than text clones them (mergeCounts does).
func countWords(counts map[string]int64, text string) {
	for seg, special := range segments(text) {
		if special >= 0 {
			continue
		}
		for i := 0; i < len(seg); {
			j := nextWord(seg, i)
			counts[seg[i:j]]++
			i = j
		}
	}
}

// mergeCounts adds src's word counts to dst, cloning the words dst does not
// hold yet so that dst keeps none of src's texts alive.
func mergeCounts(dst, src map[string]int64) {
	for w, n := range src {
		if _, ok := dst[w]; !ok {
			w = strings.Clone(w)
		}
		dst[w] += n
	}
}

// trainCounts is Train over word counts: the multiset of texts matters only
// through them, so counting can be split up (across documents, buckets or
// goroutines) and merged, with the same merges as a result.
func trainCounts(counts map[string]int64, cfg TrainConfig) ([]Merge, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	minCount := cfg.MinCount
	if minCount == 0 {
		minCount = 2
	}
	keys := make([]string, 0, len(counts))
	for w := range counts {
		keys = append(keys, w)
	}
	slices.Sort(keys)

	// Symbols are interned strings; a word is a slice of symbol ids.
	var syms []string
	symID := map[string]int32{}
	intern := func(s string) int32 {
		if id, ok := symID[s]; ok {
			return id
		}
		id := int32(len(syms))
		syms = append(syms, s)
		symID[s] = id
		return id
	}
	for b := 0; b < 256; b++ {
		intern(string([]byte{byte(b)}))
	}
	type word struct {
		syms []int32
		n    int64
	}
	words := make([]word, len(keys))
	type pair struct{ a, b int32 }
	pairCount := map[pair]int64{}
	where := map[pair]map[int32]struct{}{} // pair -> words that contain it
	addPairs := func(wi int32, sign int64) {
		w := &words[wi]
		for k := 0; k+1 < len(w.syms); k++ {
			p := pair{w.syms[k], w.syms[k+1]}
			pairCount[p] += sign * w.n
			if pairCount[p] == 0 {
				delete(pairCount, p)
			}
			if sign > 0 {
				m := where[p]
				if m == nil {
					m = map[int32]struct{}{}
					where[p] = m
				}
				m[int32(wi)] = struct{}{}
			}
		}
	}
	for i, k := range keys {
		s := make([]int32, len(k))
		for j := 0; j < len(k); j++ {
			s[j] = int32(k[j])
		}
		words[i] = word{syms: s, n: counts[k]}
		addPairs(int32(i), 1)
	}

	vocab := map[string]bool{}
	for b := 0; b < 256; b++ {
		vocab[string([]byte{byte(b)})] = true
	}
	target := cfg.VocabSize - len(SpecialTokens)
	var merges []Merge
	for len(vocab) < target {
		var best pair
		var bestN int64 = -1
		for p, n := range pairCount {
			if n > bestN || n == bestN && lessPair(syms, p.a, p.b, best.a, best.b) {
				best, bestN = p, n
			}
		}
		if bestN < int64(minCount) {
			break
		}
		merged := syms[best.a] + syms[best.b]
		newID := intern(merged)
		merges = append(merges, Merge{Left: syms[best.a], Right: syms[best.b]})
		vocab[merged] = true

		ws := make([]int32, 0, len(where[best]))
		for wi := range where[best] {
			ws = append(ws, wi)
		}
		slices.Sort(ws)
		for _, wi := range ws {
			w := &words[wi]
			addPairs(wi, -1)
			out := w.syms[:0]
			for k := 0; k < len(w.syms); k++ {
				if k+1 < len(w.syms) && w.syms[k] == best.a && w.syms[k+1] == best.b {
					out = append(out, newID)
					k++
					continue
				}
				out = append(out, w.syms[k])
			}
			w.syms = out
			addPairs(wi, 1)
		}
		delete(where, best)
		delete(pairCount, best)
	}
	return merges, nil
}

// lessPair orders pairs by Left then Right, as raw bytes.
func lessPair(syms []string, a1, b1, a2, b2 int32) bool {
	if c := strings.Compare(syms[a1], syms[a2]); c != 0 {
		return c < 0
	}
	return syms[b1] < syms[b2]
}

// segments yields the pieces of text between special tokens, with -1, and
// each special token with its index in SpecialTokens.
func segments(text string) iter.Seq2[string, int] {
	return func(yield func(string, int) bool) {
		for len(text) > 0 {
			start, which := findSpecial(text)
			if start < 0 {
				yield(text, -1)
				return
			}
			if start > 0 && !yield(text[:start], -1) {
				return
			}
			if !yield(SpecialTokens[which], which) {
				return
			}
			text = text[start+len(SpecialTokens[which]):]
		}
	}
}

// findSpecial returns the offset of the first special token in text and
// which one it is, or -1. All special tokens start with "<|".
func findSpecial(text string) (int, int) {
	off := 0
	for {
		i := strings.Index(text[off:], "<|")
		if i < 0 {
			return -1, -1
		}
		i += off
		for k, sp := range SpecialTokens {
			if strings.HasPrefix(text[i:], sp) {
				return i, k
			}
		}
		off = i + 2
	}
}

// WriteTokenizer writes vocab.json and merges.txt for merges into dir, in
// the GPT-2 format that sugarme/tokenizer and HuggingFace load: vocab.json
// maps byte-level strings to ids (bytes 0..255 first, by byte value, then
// each new merged symbol in merge order, then SpecialTokens), in id order;
// merges.txt starts with "#version: 0.2" and holds one "left right" line per
// merge, both in byte-level characters. Beside them it writes tokenizer.json,
// the same vocabulary and merges in HuggingFace tokenizers' single-file
// format (see writeHFTokenizer), which is what HF's Tokenizer.fromFile loads.
func WriteTokenizer(dir string, merges []Merge) error {
	files, err := tokenizerFiles(merges)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data); err != nil {
			return err
		}
	}
	return nil
}

// namedFile is one file of a build, before it is written.
type namedFile struct {
	name string
	data []byte
}

// tokenizerFiles returns the bytes WriteTokenizer writes: vocab.json,
// merges.txt and tokenizer.json, in that order.
func tokenizerFiles(merges []Merge) ([]namedFile, error) {
	var tokens []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			tokens = append(tokens, s)
		}
	}
	for b := 0; b < 256; b++ {
		add(byteChars[b])
	}
	pairs := make([][2]string, len(merges))
	var mb bytes.Buffer
	mb.WriteString("#version: 0.2\n")
	for i, m := range merges {
		if m.Left == "" || m.Right == "" {
			return nil, fmt.Errorf("%w: empty merge symbol", ErrTokenizerFormat)
		}
		l, r := toByteChars(m.Left), toByteChars(m.Right)
		add(l + r)
		pairs[i] = [2]string{l, r}
		mb.WriteString(l + " " + r + "\n")
	}
	for _, sp := range SpecialTokens {
		if seen[sp] {
			return nil, fmt.Errorf("%w: special token %q is also a merged symbol", ErrTokenizerFormat, sp)
		}
		add(sp)
	}
	var vb bytes.Buffer
	if err := writeVocabObject(&vb, tokens, "", "\n"); err != nil {
		return nil, err
	}
	var hb bytes.Buffer
	if err := writeHFTokenizer(&hb, tokens, pairs); err != nil {
		return nil, err
	}
	return []namedFile{{VocabFile, vb.Bytes()}, {MergesFile, mb.Bytes()}, {HFTokenizerFile, hb.Bytes()}}, nil
}

// writeFileAtomic writes b to path through a temporary file and a rename, so
// that a reader never sees half a file.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if _, err := w.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
