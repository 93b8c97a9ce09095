package eval

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/tokenize"
)

// ETATaskName is the scorecard name of the delivery-time task.
const ETATaskName = "eta"

// UnitMAEDays is the unit of the eta task's costs: mean absolute error of
// the predicted delivered days.
const UnitMAEDays = "mae_days"

// Names of the eta task's predictors in TaskResult.Policies.
const (
	ETAPromised     = "promised"      // the source's own estimate (Olist's estimated delivery date)
	ETAGlobalMedian = "global-median" // median delivered days of the train orders
	ETARouteMedian  = "route-median"  // median per route (origin → destination), else the global median
)

// Extras keys the eta task reads besides tokenize.ExtraPromisedDays.
const (
	// ExtraPromisedDate is the promised delivery date (YYYY-MM-DD), used
	// when promised_days is absent.
	ExtraPromisedDate = "promised_date"
	// ExtraOrigin names where an order ships from (a seller's or
	// warehouse's state or region); ExtraSellerState is the same under
	// another name. ExtraSellers lists seller ids, comma-separated, resolved
	// through ETATask.SellerStates when no origin is given.
	ExtraOrigin      = "origin"
	ExtraSellerState = "seller_state"
	ExtraSellers     = "sellers"
	// ExtraCustomerState is the destination when order_placed has no Location.
	ExtraCustomerState = "customer_state"
)

// ETATask predicts delivery time on real orders: the delivered days of an
// order, whole UTC calendar days from its order_placed event to its first
// delivered event (the "delivered d=" of the order-journey grammar).
//
// What it needs of the events, from dataset.ImportOlist or any mapped import:
//   - OrderID on every event of an order;
//   - one order_placed event (its time is the purchase) and one delivered
//     event (its time is the delivery); orders without both are skipped and
//     counted;
//   - for the promised baseline, extras promised_days (whole days) or
//     promised_date (YYYY-MM-DD) on order_placed; orders without them are
//     predicted by the global median and counted;
//   - for the route baseline, a destination (order_placed's Location, else
//     extras customer_state) and an origin (extras origin or seller_state on
//     order_placed, else the states of its extras sellers in SellerStates,
//     when they all agree); orders without a route, or whose route has fewer
//     than MinRouteOrders train orders, get the global median and are
//     counted.
//
// Orders are split in time at Cutoff: those placed and delivered before it
// are the train orders, whose delivered days the medians are taken over;
// those placed at or after it are the test set. Orders placed before and
// delivered after the cutoff are in neither (counted as straddling), so no
// baseline learns from the future.
//
// The model (Agent.ETA) is prompted with the order's journey as
// tokenize.Render writes it for the val side (header, then the steps before
// delivery) up to "delivered d=", and decodes digits only. An order it
// states no number for is invalid: counted, and scored with the global
// median. Note that by default the prompt carries the steps before delivery,
// shipped included, which the baselines do not see; AtPurchase leaves them out.
type ETATask struct {
	// Events are the canonical events. Nil means read EventsDir.
	Events []dataset.Event `json:"-"`
	// EventsDir is an import or ingest output directory (dataset.ReadEvents).
	EventsDir string `json:"events_dir,omitempty"`
	// SellerStates maps seller ids to their state for the route baseline.
	// Nil means read SellersFile when it is set.
	SellerStates map[string]string `json:"-"`
	// SellersFile is a CSV with columns seller_id and seller_state, such as
	// Olist's olist_sellers_dataset.csv. Empty means no seller states.
	SellersFile string `json:"sellers_file,omitempty"`
	// Cutoff splits train from test orders. Zero means the purchase time
	// of the order at TrainFraction of the orders in time order.
	Cutoff time.Time `json:"cutoff"`
	// TrainFraction places a zero Cutoff. Zero means 0.8.
	TrainFraction float64 `json:"train_fraction"`
	// MinRouteOrders is the fewest train orders a route needs for its own
	// median. Zero means 1.
	MinRouteOrders int `json:"min_route_orders"`
	// AtPurchase prompts the model with the header and the placed and
	// approved steps only, what is known at purchase, like the baselines.
	AtPurchase bool `json:"at_purchase"`
	// Workers bounds the goroutines that run the model. Zero means
	// GOMAXPROCS. Scores do not depend on it.
	Workers int `json:"-"`
}

// ETAPredictor is the model's part in the eta task. It is not safe for
// concurrent use; Agent.ETA makes one per goroutine.
type ETAPredictor interface {
	// PredictDays continues prompt, which ends in "delivered d=", with the
	// delivered days. ok is false when the model stated no number.
	PredictDays(prompt string) (days int, ok bool, err error)
}

// ETAOrder is one order as the eta task sees it.
type ETAOrder struct {
	ID        string
	Placed    time.Time
	Delivered time.Time
	// Days is the delivered days, the prediction target.
	Days int
	// Promised is the promised delivery days; -1 when unknown.
	Promised int
	// Origin and Dest make the route; empty when unknown.
	Origin, Dest string
}

// Route is "origin>dest", or "" when either end is unknown.
func (o ETAOrder) Route() string {
	if o.Origin == "" || o.Dest == "" {
		return ""
	}
	return o.Origin + ">" + o.Dest
}

// ETAResult is the eta task's full result.
type ETAResult struct {
	Cutoff time.Time `json:"cutoff"`
	// TrainOrders and TestOrders are the orders on each side of Cutoff.
	TrainOrders int `json:"train_orders"`
	TestOrders  int `json:"test_orders"`
	// Straddling orders were placed before Cutoff and delivered after it.
	Straddling int `json:"straddling"`
	// Undelivered orders have an order_placed but no delivered event (or
	// the reverse); they are in neither set.
	Undelivered int `json:"undelivered"`
	// Predictors are scored on the same test orders, the model first.
	Predictors []ETAScore `json:"predictors"`
}

// ETAScore is one predictor on the test orders.
type ETAScore struct {
	Name string `json:"name"`
	// MAE is the mean absolute error in days; Within2 the share of orders
	// predicted within ±2 days.
	MAE     float64 `json:"mae_days"`
	Within2 float64 `json:"within_2_days"`
	Orders  int     `json:"orders"`
	// Fallbacks counts orders the predictor could not serve itself and
	// that got the global median: no promise, no route, or an invalid
	// model output.
	Fallbacks int `json:"fallbacks"`
	// Errors counts orders by signed error, predicted minus actual days
	// rounded to whole days, ascending.
	Errors []ErrorBin `json:"errors"`
}

// ErrorBin is one bar of an error histogram.
type ErrorBin struct {
	Days  int `json:"days"`
	Count int `json:"count"`
}

// Name implements Task.
func (t ETATask) Name() string { return ETATaskName }

// WithDefaults returns t with zero fields set to their defaults.
func (t ETATask) WithDefaults() ETATask {
	if t.TrainFraction == 0 {
		t.TrainFraction = 0.8
	}
	if t.MinRouteOrders == 0 {
		t.MinRouteOrders = 1
	}
	return t
}

// Validate reports every problem at once.
func (t ETATask) Validate() error {
	var errs []error
	if t.Events == nil && t.EventsDir == "" {
		errs = append(errs, errors.New("eta: events or events_dir: required"))
	}
	if f := t.WithDefaults().TrainFraction; !(f > 0 && f < 1) {
		errs = append(errs, fmt.Errorf("eta: train_fraction %v is not in (0, 1)", f))
	}
	if t.MinRouteOrders < 0 {
		errs = append(errs, fmt.Errorf("eta: min_route_orders %d is negative", t.MinRouteOrders))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// Params implements Task.
func (t ETATask) Params() map[string]any {
	t = t.WithDefaults()
	p := map[string]any{"train_fraction": t.TrainFraction, "min_route_orders": t.MinRouteOrders, "at_purchase": t.AtPurchase}
	if !t.Cutoff.IsZero() {
		p["cutoff"] = t.Cutoff.UTC().Format(time.RFC3339)
	}
	if t.EventsDir != "" {
		p["events_dir"] = t.EventsDir
	}
	return p
}

// ETAOrders extracts the orders that have both a purchase and a delivery,
// in time order of purchase (then ID), and counts those that lack either.
// sellerStates may be nil.
func ETAOrders(events []dataset.Event, sellerStates map[string]string) (orders []ETAOrder, undelivered int) {
	type acc struct{ placed, delivered *dataset.Event }
	byID := map[string]*acc{}
	for i := range events {
		e := &events[i]
		if e.OrderID == "" {
			continue
		}
		var slot **dataset.Event
		a := byID[e.OrderID]
		switch e.EventType {
		case string(dataset.OrderPlaced):
			if a == nil {
				a = &acc{}
				byID[e.OrderID] = a
			}
			slot = &a.placed
		case string(dataset.Delivered):
			if a == nil {
				a = &acc{}
				byID[e.OrderID] = a
			}
			slot = &a.delivered
		default:
			continue
		}
		if *slot == nil || e.EventTime.Before((*slot).EventTime) {
			*slot = e
		}
	}
	for id, a := range byID {
		if a.placed == nil || a.delivered == nil {
			undelivered++
			continue
		}
		p := a.placed
		o := ETAOrder{ID: id, Placed: p.EventTime, Delivered: a.delivered.EventTime, Promised: -1}
		o.Days = int(dayIndex(o.Delivered) - dayIndex(o.Placed))
		if v, ok := extraWhole(p, tokenize.ExtraPromisedDays); ok {
			o.Promised = v
		} else if d, err := time.Parse(time.DateOnly, strings.TrimSpace(p.Extras[ExtraPromisedDate])); err == nil {
			o.Promised = int(dayIndex(d) - dayIndex(o.Placed))
		}
		o.Dest = p.Location
		if o.Dest == "" {
			o.Dest = p.Extras[ExtraCustomerState]
		}
		o.Origin = cmp.Or(p.Extras[ExtraOrigin], p.Extras[ExtraSellerState])
		if o.Origin == "" && sellerStates != nil {
			o.Origin = commonState(p.Extras[ExtraSellers], sellerStates)
		}
		orders = append(orders, o)
	}
	slices.SortFunc(orders, func(a, b ETAOrder) int {
		if c := a.Placed.Compare(b.Placed); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return orders, undelivered
}

// commonState is the state of every seller in the comma-separated list, or
// "" when one is unknown or they differ.
func commonState(sellers string, states map[string]string) string {
	var st string
	for _, s := range strings.Split(sellers, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		v := states[s]
		if v == "" || (st != "" && v != st) {
			return ""
		}
		st = v
	}
	return st
}

// extraWhole reads a whole-number extra.
func extraWhole(e *dataset.Event, key string) (int, bool) {
	s, ok := e.Extras[key]
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return int(math.Round(f)), true
}

// dayIndex is whole UTC days since the Unix epoch, as the journey grammar counts.
func dayIndex(t time.Time) int64 {
	return int64(math.Floor(float64(t.UTC().Unix()) / 86400))
}

// LoadSellerStates reads a CSV with a header naming seller_id and
// seller_state, such as Olist's olist_sellers_dataset.csv.
func LoadSellerStates(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("eta: sellers: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("eta: sellers %s: %w", path, err)
	}
	idCol, stCol := slices.Index(head, "seller_id"), slices.Index(head, "seller_state")
	if idCol < 0 || stCol < 0 {
		return nil, fmt.Errorf("%w: eta: sellers %s: want columns seller_id and seller_state", ErrInvalidConfig, path)
	}
	out := map[string]string{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("eta: sellers %s: %w", path, err)
		}
		if max(idCol, stCol) < len(rec) && rec[idCol] != "" {
			out[rec[idCol]] = rec[stCol]
		}
	}
}

// etaSplit splits orders (in purchase order) at the cutoff, placing a zero
// cutoff at the train fraction.
func etaSplit(orders []ETAOrder, cutoff time.Time, frac float64) (train, test []ETAOrder, straddling int, at time.Time) {
	if cutoff.IsZero() && len(orders) > 0 {
		cutoff = orders[min(int(frac*float64(len(orders))), len(orders)-1)].Placed
	}
	for _, o := range orders {
		switch {
		case !o.Placed.Before(cutoff):
			test = append(test, o)
		case o.Delivered.Before(cutoff):
			train = append(train, o)
		default:
			straddling++
		}
	}
	return train, test, straddling, cutoff
}

// median of whole days; the mean of the middle two for an even count.
func median(days []int) float64 {
	s := slices.Clone(days)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return float64(s[n/2])
	}
	return float64(s[n/2-1]+s[n/2]) / 2
}

// scoreETA scores predictions against the test orders.
func scoreETA(name string, test []ETAOrder, pred []float64, fallbacks int) ETAScore {
	s := ETAScore{Name: name, Orders: len(test), Fallbacks: fallbacks}
	bins := map[int]int{}
	var within int
	for i, o := range test {
		e := pred[i] - float64(o.Days)
		s.MAE += math.Abs(e)
		if math.Abs(e) <= 2 {
			within++
		}
		bins[int(math.Round(e))]++
	}
	if len(test) > 0 {
		s.MAE /= float64(len(test))
		s.Within2 = float64(within) / float64(len(test))
	}
	for _, d := range slices.Sorted(func(yield func(int) bool) {
		for k := range bins {
			if !yield(k) {
				return
			}
		}
	}) {
		s.Errors = append(s.Errors, ErrorBin{Days: d, Count: bins[d]})
	}
	return s
}

// ETABaselines scores the three baselines on test, learning the medians
// from train: promised, global median, route median, in that order.
func ETABaselines(train, test []ETAOrder, minRouteOrders int) []ETAScore {
	minRouteOrders = max(minRouteOrders, 1)
	all := make([]int, len(train))
	routes := map[string][]int{}
	for i, o := range train {
		all[i] = o.Days
		if r := o.Route(); r != "" {
			routes[r] = append(routes[r], o.Days)
		}
	}
	global := median(all)
	promised, byRoute := make([]float64, len(test)), make([]float64, len(test))
	var noPromise, noRoute int
	for i, o := range test {
		promised[i] = float64(o.Promised)
		if o.Promised < 0 {
			promised[i] = global
			noPromise++
		}
		byRoute[i] = global
		if days := routes[o.Route()]; o.Route() != "" && len(days) >= minRouteOrders {
			byRoute[i] = median(days)
		} else {
			noRoute++
		}
	}
	glob := make([]float64, len(test))
	for i := range glob {
		glob[i] = global
	}
	return []ETAScore{
		scoreETA(ETAPromised, test, promised, noPromise),
		scoreETA(ETAGlobalMedian, test, glob, 0),
		scoreETA(ETARouteMedian, test, byRoute, noRoute),
	}
}

// etaPrompts renders the test orders' journeys as the tokenizer renders the
// val side and cuts each before its delivered days: DocStart, the header,
// the steps before delivery (placed and approved only with atPurchase), and
// "delivered d=". An order whose journey has no delivered line gets "".
func etaPrompts(events []dataset.Event, test []ETAOrder, cutoff time.Time, atPurchase bool) ([]string, error) {
	want := map[string]bool{}
	for _, o := range test {
		want[o.ID] = true
	}
	var sub []dataset.Event
	for _, e := range events {
		if want[e.OrderID] {
			sub = append(sub, e)
		}
	}
	_, val, _, err := tokenize.Render(sub, cutoff)
	if err != nil {
		return nil, err
	}
	texts := map[string]string{}
	for _, d := range val {
		texts[strings.TrimPrefix(d.Key, "ord/")] = d.Text
	}
	const ask = "delivered d="
	out := make([]string, len(test))
	for i, o := range test {
		lines := strings.SplitAfter(texts[o.ID], "\n")
		var b strings.Builder
		b.WriteString(tokenize.DocStart)
		for j, l := range lines {
			if j > 0 && strings.HasPrefix(l, ask) {
				b.WriteString(ask)
				out[i] = b.String()
				break
			}
			if j == 0 || !atPurchase || strings.HasPrefix(l, "placed ") || strings.HasPrefix(l, "approved ") {
				b.WriteString(l)
			}
		}
	}
	return out, nil
}

// Run implements Task. The model plays when the agent has an ETA hook.
func (t ETATask) Run(ctx context.Context, a Agent) (TaskResult, error) {
	t = t.WithDefaults()
	if err := t.Validate(); err != nil {
		return TaskResult{}, err
	}
	events := t.Events
	if events == nil {
		var err error
		if events, err = dataset.ReadEvents(ctx, t.EventsDir); err != nil {
			return TaskResult{}, fmt.Errorf("eta: %w", err)
		}
	}
	sellers := t.SellerStates
	if sellers == nil && t.SellersFile != "" {
		var err error
		if sellers, err = LoadSellerStates(t.SellersFile); err != nil {
			return TaskResult{}, err
		}
	}
	orders, undelivered := ETAOrders(events, sellers)
	train, test, straddling, cutoff := etaSplit(orders, t.Cutoff, t.TrainFraction)
	if len(train) == 0 || len(test) == 0 {
		return TaskResult{}, fmt.Errorf("%w: eta: %d train and %d test orders at cutoff %s; both sides need delivered orders",
			ErrInvalidConfig, len(train), len(test), cutoff.Format(time.RFC3339))
	}
	res := ETAResult{Cutoff: cutoff, TrainOrders: len(train), TestOrders: len(test), Straddling: straddling, Undelivered: undelivered}
	baselines := ETABaselines(train, test, t.MinRouteOrders)
	if a.ETA != nil {
		all := make([]int, len(train))
		for i, o := range train {
			all[i] = o.Days
		}
		m, err := t.runModel(ctx, a.ETA, events, test, cutoff, median(all))
		if err != nil {
			return TaskResult{}, err
		}
		res.Predictors = append(res.Predictors, m)
	}
	res.Predictors = append(res.Predictors, baselines...)

	params := t.Params()
	params["cutoff"] = cutoff.UTC().Format(time.RFC3339)
	out := TaskResult{Name: ETATaskName, Params: params, Unit: UnitMAEDays, ETA: &res}
	for _, p := range res.Predictors {
		out.Policies = append(out.Policies, PolicyResult{Name: p.Name, CostPerDay: p.MAE, InvalidActions: p.Fallbacks, Decisions: p.Orders})
	}
	for _, b := range baselines {
		if out.BestBaseline == "" || b.MAE < out.BestBaselineCost {
			out.BestBaseline, out.BestBaselineCost = b.Name, b.MAE
		}
	}
	if a.ETA != nil {
		out.ModelPolicy, out.ModelCost = "model", res.Predictors[0].MAE
		if g := relGap(out.ModelCost, out.BestBaselineCost); g != nil {
			out.Gap = *g
		}
	}
	return out, nil
}

// runModel predicts every test order with the model, on up to Workers
// goroutines (one predictor each, on contiguous chunks, so the result does
// not depend on their number). Invalid outputs get fallback, the global median.
func (t ETATask) runModel(ctx context.Context, newPredictor func() (ETAPredictor, error), events []dataset.Event, test []ETAOrder, cutoff time.Time, fallback float64) (ETAScore, error) {
	prompts, err := etaPrompts(events, test, cutoff, t.AtPurchase)
	if err != nil {
		return ETAScore{}, err
	}
	pred := make([]float64, len(test))
	invalid := make([]bool, len(test))
	const chunk = 32
	chunks := (len(test) + chunk - 1) / chunk
	err = forEach(ctx, chunks, t.Workers, func(c int) error {
		p, err := newPredictor()
		if err != nil {
			return err
		}
		for i := c * chunk; i < min((c+1)*chunk, len(test)); i++ {
			days, ok := 0, false
			if prompts[i] != "" {
				if days, ok, err = p.PredictDays(prompts[i]); err != nil {
					return fmt.Errorf("eta: order %s: %w", test[i].ID, err)
				}
			}
			pred[i], invalid[i] = float64(days), !ok
			if !ok {
				pred[i] = fallback
			}
		}
		return nil
	})
	if err != nil {
		return ETAScore{}, err
	}
	var n int
	for _, bad := range invalid {
		if bad {
			n++
		}
	}
	return scoreETA("model", test, pred, n), nil
}
