package tokenize

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Tokenizer encodes text to ids and back with a byte-level BPE vocabulary
// loaded from vocab.json and merges.txt. Its ids equal those of HuggingFace
// tokenizers on tokenizer.json (BPE model, ByteLevel pre-tokenizer with
// add_prefix_space false), and those of sugarme/tokenizer v0.3.0 on the
// same files except where sugarme's split or merge order differs (see
// bytelevel.go and rankTie in the tests). It is safe for concurrent use.
type Tokenizer struct {
	hash     string
	vocab    map[string]int // byte-level string -> id
	pieces   []string       // id -> raw bytes ("" for unused ids)
	byteID   [256]int
	merges   map[uint64]mergeVal
	special  []int // id of SpecialTokens[i], -1 when absent
	specialS map[int]string

	cache *wordCache
}

type mergeVal struct{ rank, id int }

func pairKey(a, b int) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// Load reads dir/vocab.json and dir/merges.txt. Merge lines whose symbols are
// not in the vocabulary are skipped, as sugarme and HF do; a merged symbol
// missing from the vocabulary is an error.
func Load(dir string) (*Tokenizer, error) {
	vb, err := os.ReadFile(filepath.Join(dir, VocabFile))
	if err != nil {
		return nil, err
	}
	mb, err := os.ReadFile(filepath.Join(dir, MergesFile))
	if err != nil {
		return nil, err
	}
	return loadBytes(vb, mb, dir)
}

// loadBytes is Load over the contents of vocab.json and merges.txt; dir
// only names the files in errors.
func loadBytes(vb, mb []byte, dir string) (*Tokenizer, error) {
	h := sha256.New()
	h.Write(vb)
	h.Write(mb)
	t := &Tokenizer{hash: hex.EncodeToString(h.Sum(nil)), merges: map[uint64]mergeVal{}, cache: newWordCache(), specialS: map[int]string{}}
	if err := json.Unmarshal(vb, &t.vocab); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrTokenizerFormat, filepath.Join(dir, VocabFile), err)
	}
	n := 0
	for _, id := range t.vocab {
		if id < 0 {
			return nil, fmt.Errorf("%w: negative id %d in %s", ErrTokenizerFormat, id, VocabFile)
		}
		n = max(n, id+1)
	}
	t.pieces = make([]string, n)
	isSpecial := map[string]bool{}
	for _, sp := range SpecialTokens {
		isSpecial[sp] = true
	}
	for s, id := range t.vocab {
		if isSpecial[s] {
			t.pieces[id] = s
			t.specialS[id] = s
			continue
		}
		raw, ok := fromByteChars(s)
		if !ok {
			return nil, fmt.Errorf("%w: %s: token %q is not byte-level", ErrTokenizerFormat, VocabFile, s)
		}
		t.pieces[id] = raw
	}
	for b := 0; b < 256; b++ {
		id, ok := t.vocab[byteChars[b]]
		if !ok {
			return nil, fmt.Errorf("%w: %s lacks byte %#x (%q)", ErrTokenizerFormat, VocabFile, b, byteChars[b])
		}
		t.byteID[b] = id
	}
	t.special = make([]int, len(SpecialTokens))
	for i, sp := range SpecialTokens {
		t.special[i] = -1
		if id, ok := t.vocab[sp]; ok {
			t.special[i] = id
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(mb))
	sc.Buffer(nil, 1<<20)
	rank := 0
	for line := 0; sc.Scan(); line++ {
		s := sc.Text()
		if line == 0 && strings.HasPrefix(s, "#version") {
			continue
		}
		l, r, ok := strings.Cut(s, " ")
		if !ok || strings.Contains(r, " ") {
			return nil, fmt.Errorf("%w: %s line %d: want \"left right\"", ErrTokenizerFormat, MergesFile, line+1)
		}
		a, okA := t.vocab[l]
		b, okB := t.vocab[r]
		if !okA || !okB {
			continue
		}
		id, ok := t.vocab[l+r]
		if !ok {
			return nil, fmt.Errorf("%w: %s line %d: %q not in vocab", ErrTokenizerFormat, MergesFile, line+1, l+r)
		}
		t.merges[pairKey(a, b)] = mergeVal{rank: rank, id: id} // a repeated pair: the last line wins, as in sugarme
		rank++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrTokenizerFormat, MergesFile, err)
	}
	return t, nil
}

// Hash is TokenizerHashOf the directory the tokenizer was loaded from, as
// of loading.
func (t *Tokenizer) Hash() string { return t.hash }

// VocabSize is one more than the largest id.
func (t *Tokenizer) VocabSize() int { return len(t.pieces) }

// TokenID returns the id of a vocabulary entry given as raw text (not in
// byte-level characters), or of a special token.
func (t *Tokenizer) TokenID(s string) (int, bool) {
	for i, sp := range SpecialTokens {
		if s == sp && t.special[i] >= 0 {
			return t.special[i], true
		}
	}
	id, ok := t.vocab[toByteChars(s)]
	return id, ok
}

// Encode returns the ids of text. Special token strings in text become their
// ids; everything else goes through pre-tokenization and BPE.
func (t *Tokenizer) Encode(text string) []int {
	return t.AppendEncode(make([]int, 0, len(text)/2+4), text)
}

// AppendEncode appends the ids of text to dst and returns the extended slice.
// Apart from growing dst it allocates only for words not yet in the cache,
// and it takes no lock for words that are.
func (t *Tokenizer) AppendEncode(dst []int, text string) []int {
	snap := t.cache.load()
	for seg, which := range segments(text) {
		if which >= 0 {
			if id := t.special[which]; id >= 0 {
				dst = append(dst, id)
				continue
			}
		}
		for i := 0; i < len(seg); {
			j := nextWord(seg, i)
			w := seg[i:j]
			i = j
			if sp, ok := snap.get(w); ok {
				dst = append(dst, snap.arena[sp.off:sp.off+sp.n]...)
				continue
			}
			dst = t.cache.miss(dst, w, t)
		}
	}
	return dst
}

// bpe appends the ids of one pre-tokenized word: its bytes, then merges
// applied lowest rank first, leftmost first among equal ranks (HF's order).
// Quadratic in the word length; words are short in our documents.
func (t *Tokenizer) bpe(dst []int, w string) []int {
	start := len(dst)
	for i := 0; i < len(w); i++ {
		dst = append(dst, t.byteID[w[i]])
	}
	sym := dst[start:]
	for len(sym) > 1 {
		best, bestRank, bestID := -1, int(^uint(0)>>1), 0
		for k := 0; k+1 < len(sym); k++ {
			if m, ok := t.merges[pairKey(sym[k], sym[k+1])]; ok && m.rank < bestRank {
				best, bestRank, bestID = k, m.rank, m.id
			}
		}
		if best < 0 {
			break
		}
		sym[best] = bestID
		copy(sym[best+1:], sym[best+2:])
		sym = sym[:len(sym)-1]
	}
	return dst[:start+len(sym)]
}

// Decode returns the text of ids. Special tokens decode to their strings;
// ids outside the vocabulary decode to nothing.
func (t *Tokenizer) Decode(ids []int) string {
	var b strings.Builder
	for _, id := range ids {
		if id >= 0 && id < len(t.pieces) {
			b.WriteString(t.pieces[id])
		}
	}
	return b.String()
}
