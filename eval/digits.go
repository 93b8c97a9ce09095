package eval

import "strings"

// digitVocab is the vocabulary of constrained decoding to a whole number:
// the tokens whose text is one or more digits, optionally followed by a
// newline, and the terminators: a newline alone, which ends a number at the
// end of a line ("d=4\n"), and any token that starts with a space, which
// ends a number inside a line ("up=21 ord=8" goes on with " ord"). Every
// other token, special tokens included, is masked out, so the model can only
// state a number or end it. A model that emits the terminator before any
// digit has stated nothing, and the caller counts that as invalid.
type digitVocab struct {
	ids    []int    // allowed token ids, ascending
	digits []string // the digits of ids[i] ("" for the bare terminator)
	term   []bool   // ids[i] ends the number
}

// newDigitVocab classifies the first n token ids of tok.
func newDigitVocab(tok Tokenizer, n int) *digitVocab {
	v := &digitVocab{}
	for id := 0; id < n; id++ {
		piece := tok.Decode([]int{id})
		if isSpecial(piece) {
			continue
		}
		if strings.HasPrefix(piece, " ") {
			v.ids = append(v.ids, id)
			v.digits = append(v.digits, "")
			v.term = append(v.term, true)
			continue
		}
		digits, term := strings.CutSuffix(piece, "\n")
		if strings.Contains(digits, "\n") || (digits == "" && !term) || strings.TrimLeft(digits, "0123456789") != "" {
			continue
		}
		v.ids = append(v.ids, id)
		v.digits = append(v.digits, digits)
		v.term = append(v.term, term)
	}
	return v
}

// pick returns the index into ids of the allowed token with the highest
// logit (the lowest id on ties); -1 when no token is allowed.
func (v *digitVocab) pick(logits []float32) int {
	best := -1
	for i, id := range v.ids {
		if id >= len(logits) {
			break
		}
		if best < 0 || logits[id] > logits[v.ids[best]] {
			best = i
		}
	}
	return best
}

// decode greedily decodes a whole number from logits, the distribution
// after the prompt, in at most maxNew tokens. feed appends a chosen token and
// returns the next distribution; it is not called after the last token. The
// result is the digits emitted before the terminator ("" when the terminator
// came first).
func (v *digitVocab) decode(logits []float32, maxNew int, feed func(id int) ([]float32, error)) (string, error) {
	var b strings.Builder
	for i := 0; i < maxNew; i++ {
		k := v.pick(logits)
		if k < 0 {
			break
		}
		b.WriteString(v.digits[k])
		if v.term[k] || i == maxNew-1 {
			break
		}
		var err error
		if logits, err = feed(v.ids[k]); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}
