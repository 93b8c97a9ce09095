package eval

import (
	"context"
	"strings"
	"testing"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/tokenize"
)

// scripted is a decoder whose next token is a function of the last token
// fed: a bigram table, enough to script what a model "says" after "ord=".
type scripted struct {
	tok    *charTokenizer
	next   map[string]string // last token's text -> next token's text
	ctxLen int
	fed    []int
	fedAll int     // tokens fed over all calls, to see the prefix reuse
	sharp  float32 // the scripted token's logit; zero means 1
}

func (s *scripted) Len() int { return len(s.fed) }

func (s *scripted) Truncate(n int) {
	if n < len(s.fed) {
		s.fed = s.fed[:n]
	}
}

func (s *scripted) Append(ids ...int) ([]float32, error) {
	if len(s.fed)+len(ids) > s.ctxLen {
		return nil, ErrContextFull
	}
	s.fed = append(s.fed, ids...)
	s.fedAll += len(ids)
	logits := make([]float32, s.tok.VocabSize())
	nxt, ok := s.next[s.tok.Decode(s.fed[len(s.fed)-1:])]
	if !ok {
		nxt = "\n"
	}
	id, _ := s.tok.TokenID(nxt)
	logits[id] = 1
	if s.sharp != 0 {
		logits[id] = s.sharp
	}
	return logits, nil
}

func scriptedPolicy(ctxLen int, next map[string]string) (*ModelPolicy, *scripted) {
	tok := newCharTokenizer()
	s := &scripted{tok: tok, next: next, ctxLen: ctxLen}
	return &ModelPolicy{LeadTime: 2, ctxLen: ctxLen, tok: tok, session: s}, s
}

func TestModelPolicyParsesOrders(t *testing.T) {
	// Position 0, so the order is the level the model states.
	today := tokenize.InventoryDay{Weekday: 3, OnHand: 2, Pipeline: 1, Demand: 3, Lost: 0}
	for _, tc := range []struct {
		name    string
		next    map[string]string
		order   int
		invalid bool
	}{
		{"newline-terminated", map[string]string{"=": "1", "1": "2", "2": "\n"}, 12, false},
		{"other-terminator", map[string]string{"=": "8", "8": " "}, 8, false},
		{"four-digits-no-terminator", map[string]string{"=": "7", "7": "7"}, 7777, false},
		{"zero", map[string]string{"=": "0"}, 0, false},
		{"no-digits", map[string]string{"=": "\n"}, 0, true},
		{"letters", map[string]string{"=": "x"}, 0, true},
		{"doc-end", map[string]string{"=": tokenize.DocEnd}, 0, true},
		{"digits-then-doc-end", map[string]string{"=": "4", "4": tokenize.DocEnd}, 4, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := scriptedPolicy(200, tc.next)
			got := p.Order(nil, today)
			if got != tc.order || p.LastInvalid() != tc.invalid {
				t.Errorf("order %d invalid %v, want %d %v", got, p.LastInvalid(), tc.order, tc.invalid)
			}
			if p.Err() != nil {
				t.Error(p.Err())
			}
		})
	}
}

func TestModelPolicyOrdersUpToTheStatedLevel(t *testing.T) {
	today := tokenize.InventoryDay{OnHand: 12, Pipeline: 6, Demand: 5} // position 13
	for _, tc := range []struct {
		next map[string]string
		want int
	}{
		{map[string]string{"=": "2", "2": "0", "0": "\n"}, 7}, // states 20
		{map[string]string{"=": "1", "1": "2", "2": "\n"}, 0}, // states 12, below the position
		{map[string]string{"=": "1", "1": "3", "3": "\n"}, 0}, // states 13, the position
	} {
		p, _ := scriptedPolicy(200, tc.next)
		if got := p.Order(nil, today); got != tc.want || p.LastInvalid() {
			t.Errorf("%v: order %d invalid %v, want %d", tc.next, got, p.LastInvalid(), tc.want)
		}
	}
}

func TestModelPolicyPrompt(t *testing.T) {
	const ctxLen = 160
	p, s := scriptedPolicy(ctxLen, map[string]string{"=": "5"})
	task := ReplenishTask{Days: 60, Episodes: 2, Demand: dataset.DemandProcess{Base: 5}}.WithDefaults()
	var maxLines int
	for e, path := range task.demandPaths(task.Episodes, evalStream) {
		ep := task.simulate(p, path)
		if ep.invalid != 0 {
			t.Fatalf("episode %d: %d invalid actions from a model that always says 5", e, ep.invalid)
		}
		// The last prompt: DocStart, header, complete lines ending in the
		// latest days, today's line up to "ord=", and room to decode.
		prompt := s.tok.Decode(s.fed[:len(s.fed)-1]) // drop the decoded "5"
		head := tokenize.DocStart + tokenize.FormatHeader(tokenize.InventoryHeader{Location: "S01", SKU: "P001", LeadTime: 2})
		last := ep.days[len(ep.days)-1]
		last.Order = 0
		tail := tokenize.FormatDayPrompt(last)
		if !strings.HasPrefix(prompt, head) || !strings.HasSuffix(prompt, tail) {
			t.Fatalf("prompt %q lacks header or today's line", prompt)
		}
		lines := strings.TrimSuffix(strings.TrimPrefix(prompt, head), tail)
		var want strings.Builder
		n := strings.Count(lines, "\n")
		for _, d := range ep.days[len(ep.days)-1-n : len(ep.days)-1] {
			want.WriteString(tokenize.FormatDay(d))
		}
		if lines != want.String() {
			t.Fatalf("history lines\n%q\nwant the last %d days\n%q", lines, n, want.String())
		}
		if len(s.fed)-1 > ctxLen-3 {
			t.Fatalf("prompt of %d tokens leaves no room for 4 new tokens in %d", len(s.fed)-1, ctxLen)
		}
		one := len(s.tok.Encode(tokenize.FormatDay(ep.days[len(ep.days)-2])))
		if len(s.fed)-1+one <= ctxLen-3 && n < len(ep.days)-1 {
			t.Errorf("prompt of %d tokens with %d lines: another line of %d tokens would have fit", len(s.fed)-1, n, one)
		}
		maxLines = max(maxLines, n)
	}
	if maxLines == 0 || maxLines >= task.Days-1 {
		t.Errorf("prompt held %d lines; the test wants a window that is full but not everything", maxLines)
	}
}

func TestModelPolicyPromptTooLong(t *testing.T) {
	p, _ := scriptedPolicy(20, map[string]string{"=": "5"})
	if q := p.Order(nil, tokenize.InventoryDay{OnHand: 1}); q != 0 || !p.LastInvalid() {
		t.Errorf("order %d invalid %v: a prompt that cannot fit must be an invalid action", q, p.LastInvalid())
	}
}

func TestModelPolicyWithModel(t *testing.T) {
	tok := newCharTokenizer()
	m := randomModel(t, testModelConfig(tok.VocabSize(), 96), 4)
	p, err := NewModelPolicy(m, tok, 2)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ReplenishTask{Days: 30, Episodes: 2}.Evaluate(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Decisions != 60 || r.InvalidActions > r.Decisions {
		t.Errorf("%+v", r)
	}
	t.Logf("random model: %+v", r)
}

func TestModelPolicyMedianDecoding(t *testing.T) {
	today := tokenize.InventoryDay{OnHand: 12, Pipeline: 6, Demand: 5} // position 13
	next := map[string]string{"=": "2", "2": "0", "0": " "}            // states 20, then " ord"
	p, s := scriptedPolicy(400, next)
	s.sharp = 30 // all but certain
	p.Median = true
	if got := p.Order(nil, today); got != 7 || p.LastInvalid() {
		t.Fatalf("order %d invalid %v, want 7 (level 20)", got, p.LastInvalid())
	}
	prompt := len(s.fed)
	if want := len(p.cached); prompt != want {
		t.Errorf("session left at %d tokens, the prompt has %d", prompt, want)
	}
	// A flat distribution over the levels 0..MaxMedianLevel has its median
	// in the middle of the probability mass, far from greedy's pick.
	flat, fs := scriptedPolicy(400, next)
	fs.sharp = 1e-6
	flat.Median = true
	q := flat.Order(nil, tokenize.InventoryDay{})
	if q <= 0 || q >= MaxMedianLevel {
		t.Errorf("median of a near-flat distribution %d, want strictly inside (0, %d)", q, MaxMedianLevel)
	}
}
