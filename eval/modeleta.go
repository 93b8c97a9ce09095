package eval

import (
	"fmt"
	"strconv"

	"github.com/supplyline/supplyline/tokenize"
)

// ModelETA lets a model predict an order's delivered days through the order
// journey grammar: it feeds the prompt (which ends in "delivered d=", see
// ETATask) and decodes greedily, constrained to digits and the newline that
// ends the line (see digitVocab). A newline before any digit, or a prompt
// that does not fit the context, is no prediction.
type ModelETA struct {
	// MaxNewTokens bounds the decoded tokens. Zero means 4.
	MaxNewTokens int

	tok     Tokenizer
	ctxLen  int
	session decoder
	digits  *digitVocab
	cached  []int
}

// NewModelETA returns a ModelETA for m with tokenizer tok, which must know
// tokenize.DocStart.
func NewModelETA(m *Model, tok Tokenizer) (*ModelETA, error) {
	id, ok := tok.TokenID(tokenize.DocStart)
	if !ok {
		return nil, fmt.Errorf("%w: tokenizer has no %s token", ErrInvalidConfig, tokenize.DocStart)
	}
	if id < 0 || id >= m.VocabSize() {
		return nil, fmt.Errorf("%w: %s is id %d, model vocabulary is %d", ErrTokenRange, tokenize.DocStart, id, m.VocabSize())
	}
	return &ModelETA{tok: tok, ctxLen: m.ContextLen(), session: m.NewSession(), digits: newDigitVocab(tok, m.VocabSize())}, nil
}

// PredictDays implements ETAPredictor.
func (p *ModelETA) PredictDays(prompt string) (int, bool, error) {
	maxNew := p.MaxNewTokens
	if maxNew <= 0 {
		maxNew = 4
	}
	ids := p.tok.Encode(prompt)
	if len(ids) == 0 || len(ids) > p.ctxLen-(maxNew-1) {
		return 0, false, nil
	}
	// Reuse the cached prefix: prompts share DocStart and the header's start.
	n := 0
	for n < len(ids)-1 && n < len(p.cached) && ids[n] == p.cached[n] {
		n++
	}
	p.session.Truncate(n)
	p.cached = append(p.cached[:n], ids[n:]...)
	logits, err := p.session.Append(ids[n:]...)
	if err != nil {
		p.cached = p.cached[:p.session.Len()]
		return 0, false, err
	}
	digits, err := p.digits.decode(logits, maxNew, func(id int) ([]float32, error) {
		l, err := p.session.Append(id)
		if err == nil {
			p.cached = append(p.cached, id)
		}
		return l, err
	})
	if err != nil {
		p.cached = p.cached[:p.session.Len()]
		return 0, false, err
	}
	days, err := strconv.Atoi(digits)
	if err != nil {
		return 0, false, nil
	}
	return days, true, nil
}

var _ ETAPredictor = (*ModelETA)(nil)
