package eval

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/supplyline/supplyline/tokenize"
)

// Tokenizer is what eval needs of a tokenizer; *tokenize.Tokenizer has it.
// Encode turns special-token strings in the text into their ids.
type Tokenizer interface {
	Encode(text string) []int
	Decode(ids []int) string
	TokenID(s string) (int, bool)
}

// ModelPolicy lets a model decide replenishment orders through the timeline
// grammar. Its prompt is tokenize.DocStart, the header line, as many of the
// latest complete day lines as fit the context, and today's line up to
// "up=" (with c7=TargetCost7 before it when set); the model then decodes
// greedily, at most MaxNewTokens tokens, constrained to digits: every token
// but those of digits and the newline that ends the line is masked out (see
// digitVocab), so the model can only state a number or end the line. The
// digits it emits are the level it orders up to, and the order is that
// level less today's inventory position, at least 0. A newline before any
// digit is an invalid action: the order is 0 and LastInvalid reports it, so
// the scorecard counts it instead of hiding it.
type ModelPolicy struct {
	// Label is the policy's name. Empty means "model".
	Label string
	// Location and SKU fill the header line. Empty means "S01" and "P001", names of the synthetic world.
	Location, SKU string
	// LeadTime is the task's lead time, stated in the header.
	LeadTime int
	// MaxNewTokens bounds the decoded tokens per decision. Zero means 4.
	MaxNewTokens int
	// TargetCost7 conditions the decision on an outcome: today's line states
	// c7=TargetCost7, the seven-day cost the order should lead to, as the
	// logged lines state the cost their order led to. Zero or less leaves
	// c7 out of today's line.
	TargetCost7 int
	// Median decodes the level as the median of the model's distribution
	// over whole numbers 0..MaxMedianLevel (each scored digit by digit, up
	// to the token that ends it, under the same digits-only constraint)
	// instead of greedily token by token.
	Median bool
	// Preamble holds complete day lines (newline included) of the series'
	// logged history, shown before the episode's days; the oldest lines
	// leave the context first.
	Preamble []string

	model   *Model // for Fork; nil in tests that script the decoder
	ctxLen  int
	tok     Tokenizer
	session decoder
	cached  []int // tokens in session, in order
	from    int   // first history day in the last prompt
	lastLen int   // len(history) at the last decision
	invalid bool
	err     error
	prefix  string
	digits  *digitVocab // the tokens decoding may pick; shared by forks
	levels  [][]int     // the token ids of each level 0..MaxMedianLevel, for Median; shared by forks
}

// NewModelPolicy returns a ModelPolicy for m with tokenizer tok, which must
// know tokenize.DocStart.
func NewModelPolicy(m *Model, tok Tokenizer, leadTime int) (*ModelPolicy, error) {
	id, ok := tok.TokenID(tokenize.DocStart)
	if !ok {
		return nil, fmt.Errorf("%w: tokenizer has no %s token", ErrInvalidConfig, tokenize.DocStart)
	}
	if id < 0 || id >= m.VocabSize() {
		return nil, fmt.Errorf("%w: %s is id %d, model vocabulary is %d", ErrTokenRange, tokenize.DocStart, id, m.VocabSize())
	}
	return &ModelPolicy{LeadTime: leadTime, model: m, ctxLen: m.ContextLen(), tok: tok, session: m.NewSession(),
		digits: newDigitVocab(tok, m.VocabSize()), levels: levelTokens(tok)}, nil
}

// Fork implements Forker: a policy with the same settings and its own
// Session, so that episodes decode in parallel. Greedy decoding makes a
// fork's decisions the same as the original's. A ModelPolicy not made by
// NewModelPolicy cannot fork and returns itself.
func (p *ModelPolicy) Fork() Policy {
	if p.model == nil {
		return p
	}
	return &ModelPolicy{
		Label: p.Label, Location: p.Location, SKU: p.SKU, LeadTime: p.LeadTime, MaxNewTokens: p.MaxNewTokens, TargetCost7: p.TargetCost7, Preamble: p.Preamble, Median: p.Median,
		model: p.model, ctxLen: p.ctxLen, tok: p.tok, session: p.model.NewSession(), digits: p.digits, levels: p.levels,
	}
}

// decoder is what ModelPolicy needs of a Session; tests script it.
type decoder interface {
	Len() int
	Truncate(n int)
	Append(ids ...int) ([]float32, error)
}

// Name implements Policy.
func (p *ModelPolicy) Name() string {
	if p.Label != "" {
		return p.Label
	}
	return "model"
}

// LastInvalid implements InvalidReporter.
func (p *ModelPolicy) LastInvalid() bool { return p.invalid }

// Err implements ErrReporter: the first error that was not the model's
// decision, such as a token id the model does not know.
func (p *ModelPolicy) Err() error { return p.err }

func (p *ModelPolicy) maxNew() int {
	if p.MaxNewTokens > 0 {
		return p.MaxNewTokens
	}
	return 4
}

// Order implements Policy.
func (p *ModelPolicy) Order(history []tokenize.InventoryDay, today tokenize.InventoryDay) int {
	p.invalid = false
	ids, ok := p.prompt(history, today)
	if !ok || p.err != nil {
		p.invalid = true
		return 0
	}
	digits, err := p.decode(ids)
	if err != nil {
		p.err = err
		p.invalid = true
		return 0
	}
	up, err := strconv.Atoi(digits)
	if err != nil {
		p.invalid = true
		return 0
	}
	return max(0, up-today.Position())
}

// prompt encodes the longest prompt that leaves room to decode. It reports
// false when not even the header and today's line fit.
func (p *ModelPolicy) prompt(history []tokenize.InventoryDay, today tokenize.InventoryDay) ([]int, bool) {
	if p.prefix == "" {
		loc, sku := p.Location, p.SKU
		if loc == "" {
			loc = "S01"
		}
		if sku == "" {
			sku = "P001"
		}
		p.prefix = tokenize.DocStart + tokenize.FormatHeader(tokenize.InventoryHeader{Location: loc, SKU: sku, LeadTime: p.LeadTime})
	}
	if p.TargetCost7 > 0 {
		today.Cost7, today.HasCost7 = p.TargetCost7, true
	}
	budget := p.ctxLen - (p.maxNew() - 1)
	// Lines are the preamble then the episode's days; from indexes them.
	pre := len(p.Preamble)
	encode := func(from int) []int {
		return p.tok.Encode(p.body(history, from) + tokenize.FormatDayPrompt(today))
	}
	// Start from the previous window: a day later it needs at most a line or
	// two dropped, so this costs one or two encodings rather than a search.
	from := p.from
	if len(history) < p.lastLen || from > pre+len(history) {
		from = 0 // a new episode
	}
	p.lastLen = len(history)
	ids := encode(from)
	dropped := false
	for len(ids) > budget && from < pre+len(history) {
		from++
		ids = encode(from)
		dropped = true
	}
	for !dropped && from > 0 && len(ids) <= budget {
		more := encode(from - 1)
		if len(more) > budget {
			break
		}
		from, ids = from-1, more
	}
	p.from = from
	return ids, len(ids) <= budget
}

// body is the prompt's text before today's line: the header, then the
// preamble and history lines from line from on.
func (p *ModelPolicy) body(history []tokenize.InventoryDay, from int) string {
	var b strings.Builder
	b.WriteString(p.prefix)
	pre := len(p.Preamble)
	for i := from; i < pre; i++ {
		b.WriteString(p.Preamble[i])
	}
	for _, d := range history[max(from-pre, 0):] {
		b.WriteString(tokenize.FormatDay(d))
	}
	return b.String()
}

// decode feeds ids, reusing the cached prefix, and greedily decodes digits.
func (p *ModelPolicy) decode(ids []int) (string, error) {
	logits, err := p.feed(ids)
	if err != nil {
		return "", err
	}
	if p.Median {
		return p.medianLevel(logits)
	}
	return p.digits.decode(logits, p.maxNew(), func(id int) ([]float32, error) {
		l, err := p.session.Append(id)
		if err == nil {
			p.cached = append(p.cached, id)
		}
		return l, err
	})
}

// feed brings the session to ids, reusing the longest cached prefix, and
// returns the next-token logits after the last id.
func (p *ModelPolicy) feed(ids []int) ([]float32, error) {
	n := 0
	for n < len(ids) && n < len(p.cached) && ids[n] == p.cached[n] {
		n++
	}
	if n == len(ids) {
		n-- // the last prompt token must be fed again for its logits
	}
	p.session.Truncate(n)
	p.cached = append(p.cached[:n], ids[n:]...)
	logits, err := p.session.Append(ids[n:]...)
	if err != nil {
		p.cached = p.cached[:p.session.Len()]
		return nil, err
	}
	if p.digits == nil {
		p.digits = newDigitVocab(p.tok, len(logits))
	}
	return logits, nil
}

func isSpecial(s string) bool {
	for _, sp := range tokenize.SpecialTokens {
		if s == sp {
			return true
		}
	}
	return false
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// MaxMedianLevel is the largest level Median decoding scores.
const MaxMedianLevel = 127

// medianLevel scores every level 0..MaxMedianLevel after the prompt (whose
// next-token logits are first) and returns the median of their normalised
// probabilities. The session is returned to the prompt's end.
func (p *ModelPolicy) medianLevel(first []float32) (string, error) {
	if p.levels == nil {
		p.levels = levelTokens(p.tok)
	}
	probs, err := p.numberProbs(first, p.levels)
	if err != nil {
		return "", err
	}
	return strconv.Itoa(quantile(probs, 0.5)), nil
}

// quantile is the smallest index whose cumulative probability reaches q.
func quantile(probs []float64, q float64) int {
	var cum float64
	for v, w := range probs {
		cum += w
		if cum >= q {
			return v
		}
	}
	return len(probs) - 1
}

// numberProbs scores each number after the prompt, given as its token ids
// (values[v] are the tokens of v), digit by digit under the digits-only
// constraint and up to the token that ends it, and returns their
// probabilities normalised over values. first are the next-token logits at
// the prompt's end; the session is returned there.
func (p *ModelPolicy) numberProbs(first []float32, values [][]int) ([]float64, error) {
	first = append([]float32(nil), first...) // the session may reuse its logits buffer
	base := p.session.Len()
	logp := func(logits []float32, id int, term bool) float64 {
		// log of the allowed-set softmax: of id, or of all terminators.
		mx := math.Inf(-1)
		for _, a := range p.digits.ids {
			if a < len(logits) {
				mx = math.Max(mx, float64(logits[a]))
			}
		}
		var z, num float64
		for i, a := range p.digits.ids {
			if a >= len(logits) {
				continue
			}
			e := math.Exp(float64(logits[a]) - mx)
			z += e
			if (term && p.digits.term[i] && p.digits.digits[i] == "") || (!term && a == id) {
				num += e
			}
		}
		return math.Log(num / z)
	}
	scores := make([]float64, len(values))
	for v, ids := range values {
		lp, logits := 0.0, first
		var err error
		for _, id := range ids {
			lp += logp(logits, id, false)
			if logits, err = p.session.Append(id); err != nil {
				p.session.Truncate(base)
				return nil, err
			}
		}
		lp += logp(logits, -1, true)
		p.session.Truncate(base)
		scores[v] = lp
	}
	mx := math.Inf(-1)
	for _, s := range scores {
		mx = math.Max(mx, s)
	}
	var total float64
	for i, s := range scores {
		scores[i] = math.Exp(s - mx)
		total += scores[i]
	}
	for i := range scores {
		scores[i] /= total
	}
	return scores, nil
}

// levelTokens are the token ids of each level 0..MaxMedianLevel.
func levelTokens(tok Tokenizer) [][]int {
	levels := make([][]int, MaxMedianLevel+1)
	for v := range levels {
		levels[v] = tok.Encode(strconv.Itoa(v))
	}
	return levels
}
