package eval

import (
	"strings"

	"github.com/supplyline/supplyline/tokenize"
)

// charTokenizer is a character-level stand-in for tokenize.Tokenizer: one id
// per character of its alphabet, then the special tokens.
type charTokenizer struct {
	alphabet []rune
	ids      map[rune]int
}

const testAlphabet = "\n =0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"

func newCharTokenizer() *charTokenizer {
	t := &charTokenizer{alphabet: []rune(testAlphabet), ids: map[rune]int{}}
	for i, r := range t.alphabet {
		t.ids[r] = i
	}
	return t
}

func (t *charTokenizer) VocabSize() int { return len(t.alphabet) + len(tokenize.SpecialTokens) }

func (t *charTokenizer) Encode(text string) []int {
	var out []int
	for len(text) > 0 {
		matched := false
		for i, sp := range tokenize.SpecialTokens {
			if strings.HasPrefix(text, sp) {
				out = append(out, len(t.alphabet)+i)
				text = text[len(sp):]
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		r := []rune(text)[0]
		id, ok := t.ids[r]
		if !ok {
			id = t.ids['_']
		}
		out = append(out, id)
		text = text[len(string(r)):]
	}
	return out
}

func (t *charTokenizer) Decode(ids []int) string {
	var b strings.Builder
	for _, id := range ids {
		switch {
		case id >= 0 && id < len(t.alphabet):
			b.WriteRune(t.alphabet[id])
		case id >= len(t.alphabet) && id < t.VocabSize():
			b.WriteString(tokenize.SpecialTokens[id-len(t.alphabet)])
		}
	}
	return b.String()
}

func (t *charTokenizer) TokenID(s string) (int, bool) {
	for i, sp := range tokenize.SpecialTokens {
		if s == sp {
			return len(t.alphabet) + i, true
		}
	}
	if r := []rune(s); len(r) == 1 {
		id, ok := t.ids[r[0]]
		return id, ok
	}
	return 0, false
}

var _ Tokenizer = (*charTokenizer)(nil)
var _ Tokenizer = (*tokenize.Tokenizer)(nil)
