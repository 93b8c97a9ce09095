package eval

import (
	"fmt"

	"github.com/supplyline/supplyline/tokenize"
)

// EchelonModelPolicy lets a model decide at every stage of a serial chain
// through the single-item timeline grammar it was trained on: each stage is
// its own inventory series (header "inv loc=E<i> sku=P001 lt=<lead time
// into the stage>"), played by its own ModelPolicy, with one day line per
// day from the stage's own view (installation stock, backlog):
//
//	oh   stock at the start of the day net of what the stage owes
//	     downstream, before the day's incoming demand: OnHand - Backorders + dem
//	pipe what it has ordered and not received: InTransit + Unfilled
//	dem  the day's incoming demand: customer demand at the retailer, the
//	     downstream stage's order of the day before upstream (orders are
//	     placed together, so an upstream stage learns of today's next day)
//	lost 0 (unmet demand waits)
//
// so that pos is the stage's installation inventory position, and the
// model orders what the day line leads it to. The chain's costs are not
// the single item's, so no target cost is stated (no c7 on today's line).
// There is no multi-echelon text in the training data: this is the model's
// single-item skill applied stage by stage, scored against echelon
// base-stock, which is what the task is for.
type EchelonModelPolicy struct {
	stages []*ModelPolicy
	hist   [][]tokenize.InventoryDay
}

// NewEchelonModelPolicy returns the policy of m for a chain whose stage i
// is reached in leadTimes[i] days.
func NewEchelonModelPolicy(m *Model, tok Tokenizer, leadTimes []int) (*EchelonModelPolicy, error) {
	p := &EchelonModelPolicy{}
	for i, lt := range leadTimes {
		mp, err := NewModelPolicy(m, tok, lt)
		if err != nil {
			return nil, err
		}
		mp.Location, mp.SKU, mp.Label = fmt.Sprintf("E%d", i), "P001", "model"
		p.stages = append(p.stages, mp)
	}
	p.hist = make([][]tokenize.InventoryDay, len(p.stages))
	return p, nil
}

// Name implements EchelonPolicy.
func (p *EchelonModelPolicy) Name() string { return "model" }

// Fork implements EchelonForker: fresh sessions and an empty history.
func (p *EchelonModelPolicy) Fork() EchelonPolicy {
	q := &EchelonModelPolicy{hist: make([][]tokenize.InventoryDay, len(p.stages))}
	for _, s := range p.stages {
		q.stages = append(q.stages, s.Fork().(*ModelPolicy))
	}
	return q
}

// LastInvalid implements InvalidReporter: any stage failed to state an order.
func (p *EchelonModelPolicy) LastInvalid() bool {
	for _, s := range p.stages {
		if s.LastInvalid() {
			return true
		}
	}
	return false
}

// Err implements ErrReporter.
func (p *EchelonModelPolicy) Err() error {
	for _, s := range p.stages {
		if err := s.Err(); err != nil {
			return err
		}
	}
	return nil
}

// stageDay is stage i's day line on day today of the chain.
func stageDay(history []EchelonDay, today EchelonDay, i int) tokenize.InventoryDay {
	s := today.Stages[i]
	dem := today.Demand
	if i > 0 {
		dem = 0
		if n := len(history); n > 0 {
			dem = history[n-1].Stages[i-1].Order
		}
	}
	return tokenize.InventoryDay{Weekday: today.Day % 7, OnHand: s.OnHand - s.Backorders + dem, Pipeline: s.InTransit + s.Unfilled, Demand: dem}
}

// Orders implements EchelonPolicy.
func (p *EchelonModelPolicy) Orders(history []EchelonDay, today EchelonDay) []int {
	if len(history) == 0 {
		for i := range p.hist {
			p.hist[i] = p.hist[i][:0]
		}
	}
	out := make([]int, len(p.stages))
	for i, s := range p.stages {
		if n := len(history); n > 0 && len(p.hist[i]) == n-1 {
			d := stageDay(history[:n-1], history[n-1], i)
			d.Order = history[n-1].Stages[i].Order
			p.hist[i] = append(p.hist[i], d)
		}
		out[i] = s.Order(p.hist[i], stageDay(history, today, i))
	}
	return out
}
