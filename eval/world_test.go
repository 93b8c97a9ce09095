package eval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/tokenize"
)

// recorder orders up to 12 and keeps what it was shown at every decision.
type recorder struct {
	seen [][]tokenize.InventoryDay
}

func (r *recorder) Name() string { return "recorder" }
func (r *recorder) Order(history []tokenize.InventoryDay, today tokenize.InventoryDay) int {
	r.seen = append(r.seen, append([]tokenize.InventoryDay(nil), history...))
	return max(0, 12-today.Position())
}

func TestSimulationStatesRealisedCost7(t *testing.T) {
	checked := 0
	for _, lead := range []int{1, 3} {
		task := ReplenishTask{Days: 40, Seed: 5, LeadTime: lead}.WithDefaults()
		demand := task.demandPaths(1, evalStream)[0]
		r := &recorder{}
		ep := task.simulate(r, demand)
		if len(r.seen) != task.Days {
			t.Fatalf("L=%d: %d decisions, want %d", lead, len(r.seen), task.Days)
		}
		dayCost := func(d tokenize.InventoryDay) float64 {
			return task.Holding*float64(max(endOnHand(d), 0)) + task.LostSale*float64(d.Lost)
		}
		for today, hist := range r.seen {
			for k, d := range hist {
				// The outcome covers days k+L..k+L+6; today's cost is
				// known when it decides.
				known := k+lead+6 <= today
				if d.HasCost7 != known {
					t.Fatalf("L=%d day %d: history day %d HasCost7=%v, want %v", lead, today, k, d.HasCost7, known)
				}
				if !known {
					continue
				}
				var want float64
				for j := k + lead; j <= k+lead+6; j++ {
					want += dayCost(ep.days[j])
				}
				if d.Cost7 != int(math.Round(want)) {
					t.Fatalf("L=%d day %d: history day %d Cost7=%d, want %v", lead, today, k, d.Cost7, want)
				}
				checked++
			}
		}
	}
	if checked == 0 {
		t.Fatal("no realised cost was checked")
	}
}

func TestModelPolicyStatesTargetCost(t *testing.T) {
	p := &ModelPolicy{LeadTime: 2, TargetCost7: 38, ctxLen: 1 << 20, tok: byteTok{}}
	hist := []tokenize.InventoryDay{{OnHand: 9, Pipeline: 4, Demand: 5, Cost7: 41, HasCost7: true, Order: 3}, {OnHand: 4, Pipeline: 7, Demand: 6, Lost: 2, Order: 8}}
	ids, ok := p.prompt(hist, tokenize.InventoryDay{Weekday: 2, OnHand: 7, Pipeline: 8, Demand: 5})
	if !ok {
		t.Fatal("prompt did not fit")
	}
	got := byteTok{}.Decode(ids)
	want := tokenize.DocStart + "inv loc=S01 sku=P001 lt=2\n" +
		"w=0 oh=9 pipe=4 dem=5 lost=0 pos=8 c7=41 up=11 ord=3\n" +
		"w=0 oh=4 pipe=7 dem=6 lost=2 pos=7 up=15 ord=8\n" +
		"w=2 oh=7 pipe=8 dem=5 lost=0 pos=10 c7=38 up="
	if got != want {
		t.Fatalf("prompt\n%q\nwant\n%q", got, want)
	}
}

// byteTok encodes text as bytes, the special token as id 256.
type byteTok struct{}

func (byteTok) Encode(s string) []int {
	var ids []int
	for len(s) > 0 {
		if strings.HasPrefix(s, tokenize.DocStart) {
			ids = append(ids, 256)
			s = s[len(tokenize.DocStart):]
			continue
		}
		ids = append(ids, int(s[0]))
		s = s[1:]
	}
	return ids
}

func (byteTok) Decode(ids []int) string {
	var b strings.Builder
	for _, id := range ids {
		if id == 256 {
			b.WriteString(tokenize.DocStart)
		} else {
			b.WriteByte(byte(id))
		}
	}
	return b.String()
}

func (byteTok) TokenID(s string) (int, bool) { return 256, s == tokenize.DocStart }

func TestReplenishTaskForSeries(t *testing.T) {
	world := dataset.GenSummary{Costs: dataset.Costs, Series: []dataset.Series{
		{Location: "S01", SKU: "P001", LeadTime: 4, Demand: dataset.DemandProcess{Base: 4}, Policy: dataset.PolicyBaseStock, PolicyParam: 1.2},
		{Location: "S02", SKU: "P001", LeadTime: 2, Demand: dataset.DemandProcess{Base: 6, WeeklyAmp: 0.2}, Policy: dataset.PolicyBaseStockNoisy, PolicyParam: 1.1},
		{Location: "S02", SKU: "P002", LeadTime: 2, Demand: dataset.DemandProcess{Base: 3}, Policy: dataset.PolicyBaseStockNoisy, PolicyParam: 0.9},
	}}
	loc, sku, ok := DefaultWorldSeries(world, "")
	if !ok || loc != "S02" || sku != "P001" {
		t.Fatalf("default series %s/%s %v, want S02/P001 (S01/P001 has lead time 4; weekly demand has an exact optimum)", loc, sku, ok)
	}
	// Among exact series, one whose logged decisions vary comes first.
	fixedFirst := dataset.GenSummary{Costs: dataset.Costs, Series: []dataset.Series{
		{Location: "S01", SKU: "P001", LeadTime: 1, Demand: dataset.DemandProcess{Base: 4}, Policy: dataset.PolicyBaseStock, PolicyParam: 1.2},
		{Location: "S01", SKU: "P002", LeadTime: 1, Demand: dataset.DemandProcess{Base: 5}, Policy: dataset.PolicyBaseStockPerturbed, PolicyParam: 3},
	}}
	if loc, sku, ok := DefaultWorldSeries(fixedFirst, ""); !ok || loc != "S01" || sku != "P002" {
		t.Fatalf("default series %s/%s %v, want S01/P002 (perturbed) before S01/P001 (deterministic)", loc, sku, ok)
	}
	fixedFirst.Series = fixedFirst.Series[:1]
	if loc, sku, ok := DefaultWorldSeries(fixedFirst, ""); !ok || loc != "S01" || sku != "P001" {
		t.Fatalf("default series %s/%s %v, want S01/P001, the only exact series", loc, sku, ok)
	}
	// A lead time of 3 at a high mean is past the DP's size caps: the
	// task would have no optimum, so it is passed over too.
	big := dataset.Series{Location: "S00", SKU: "P001", LeadTime: 3, Demand: dataset.DemandProcess{Base: 11.3}, Policy: dataset.PolicyBaseStock, PolicyParam: 1.2}
	bigTask, err := ReplenishTaskForSeries(dataset.GenSummary{Costs: dataset.Costs, Series: []dataset.Series{big}}, "S00", "P001")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bigTask.SolveDP(context.Background()); !errors.Is(err, ErrNoOptimum) {
		t.Fatalf("L=3, mean 11.3: SolveDP error %v, want ErrNoOptimum", err)
	}
	withBig := dataset.GenSummary{Costs: dataset.Costs, Series: append([]dataset.Series{big}, world.Series...)}
	if loc, sku, ok := DefaultWorldSeries(withBig, ""); !ok || loc != "S02" || sku != "P001" {
		t.Fatalf("default series %s/%s %v, want S02/P001 (S00/P001's program is too large)", loc, sku, ok)
	}
	loc, sku = "S02", "P002"
	if _, _, ok := DefaultWorldSeries(world, dataset.PolicyBaseStockPerturbed); ok {
		t.Fatal("found a perturbed series in a world without one")
	}
	// Without an exact series, the first one of the policy.
	if loc, sku, ok := DefaultWorldSeries(dataset.GenSummary{Series: world.Series[:1]}, ""); !ok || loc != "S01" || sku != "P001" {
		t.Fatalf("no exact series: %s/%s %v, want S01/P001", loc, sku, ok)
	}
	task, err := ReplenishTaskForSeries(world, loc, sku)
	if err != nil {
		t.Fatal(err)
	}
	if task.LeadTime != 2 || task.Demand.Base != 3 || task.Holding != 1 || task.LostSale != 9 || task.Logged.Policy != dataset.PolicyBaseStockNoisy {
		t.Fatalf("task %+v", task)
	}
	if _, err := ReplenishTaskForSeries(world, "S09", "P001"); err == nil {
		t.Fatal("unknown series accepted")
	}
	// The noisy logged policy: S = round(6 + 0.9*sqrt(6)) = 8; orders scatter
	// around S - position, the same on the same state, never negative.
	ref := task.WithDefaults().logged()
	if ref.OrderUpTo() != 8 || !ref.noisy {
		t.Fatalf("logged %+v", ref)
	}
	var hist []tokenize.InventoryDay
	differ := 0
	for d := 0; d < 200; d++ {
		today := tokenize.InventoryDay{OnHand: d % 7, Pipeline: d % 5, Demand: d % 3}
		q := ref.Order(hist, today)
		if q2 := ref.Order(hist, today); q2 != q || q < 0 {
			t.Fatalf("day %d: orders %d then %d", d, q, q2)
		}
		if q != max(0, 8-today.Position()) {
			differ++
		}
		hist = append(hist, today)
	}
	if differ < 50 {
		t.Fatalf("noise changed only %d of 200 orders", differ)
	}
	res, err := RunReplenish(context.Background(), ReplenishTask{Demand: task.Demand, LeadTime: 2, Logged: task.Logged, Episodes: 4, Days: 60}, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range res.Policies {
		if strings.HasPrefix(p.Name, "logged-base_stock_noisy") {
			found = true
			if p.ExpectedCost != nil {
				t.Fatal("a noisy policy was given an exact stationary cost")
			}
		}
	}
	if !found {
		t.Fatalf("no logged policy among %+v", res.Policies)
	}
}

// TestLoggedPolicyReproducesTheWorld checks that the eval side of the
// synthetic world is the world: on a stationary world, the logged
// reference of every deterministic series orders exactly what the
// generator logged, day by day, from the day's snapshot.
func TestLoggedPolicyReproducesTheWorld(t *testing.T) {
	dir := t.TempDir()
	world, err := dataset.Generate(context.Background(), dataset.GenConfig{Seed: 11, Days: 40, Stationary: true, EcomOrdersPerDay: -1,
		Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}, dir)
	if err != nil {
		t.Fatal(err)
	}
	events, err := dataset.ReadEvents(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ loc, sku, day string }
	snaps := map[key]dataset.Snapshot{}
	orders := map[key]int{}
	for _, e := range events {
		k := key{e.Location, e.SKU, e.EventTime.UTC().Format("2006-01-02")}
		switch e.EventType {
		case string(dataset.InventorySnapshot):
			s, err := dataset.ParseSnapshot(e)
			if err != nil {
				t.Fatal(err)
			}
			snaps[k] = s
		case string(dataset.ReplenishmentOrdered):
			orders[k] += int(e.Quantity)
		}
	}
	checked, perturbed := 0, 0
	for _, s := range world.Series {
		if s.Policy == dataset.PolicyBaseStockPerturbed {
			perturbed++
		}
		if s.Demand.WeeklyAmp != 0 {
			t.Fatalf("%s/%s: stationary world has weekly amplitude %g", s.Location, s.SKU, s.Demand.WeeklyAmp)
		}
		if s.Policy == dataset.PolicyBaseStockNoisy {
			continue // its noise is drawn from the world's own stream
		}
		task, err := ReplenishTaskForSeries(world, s.Location, s.SKU)
		if err != nil {
			t.Fatal(err)
		}
		ref := task.WithDefaults().logged()
		for k, snap := range snaps {
			if k.loc != s.Location || k.sku != s.SKU {
				continue
			}
			day := tokenize.InventoryDay{OnHand: snap.OnHandStart, Pipeline: snap.PipelineStart, Demand: snap.Demand, Lost: snap.Lost}
			// The history's length is the day's index in the world: the
			// perturbed policy's week comes from it.
			history := make([]tokenize.InventoryDay, int(snap.Day.Sub(world.Config.Start).Hours()/24))
			if got, want := ref.Order(history, day), orders[k]; got != want {
				t.Fatalf("%s/%s on %s (%s): eval's logged policy orders %d, the world logged %d", k.loc, k.sku, k.day, ref.Name(), got, want)
			}
			checked++
		}
	}
	if checked < 100 || perturbed == 0 {
		t.Fatalf("only %d decisions checked, %d perturbed series", checked, perturbed)
	}
}

func TestModelPolicyPreambleComesFirstAndLeavesFirst(t *testing.T) {
	pre := []string{"w=5 oh=9 pipe=0 dem=4 lost=0 pos=5 c7=30 up=9 ord=4\n", "w=6 oh=9 pipe=0 dem=3 lost=0 pos=6 c7=28 up=9 ord=3\n"}
	hist := []tokenize.InventoryDay{{OnHand: 9, Demand: 5, Order: 5}}
	today := tokenize.InventoryDay{Weekday: 1, OnHand: 9, Demand: 2}
	head := tokenize.DocStart + "inv loc=S01 sku=P001 lt=1\n"
	ep := tokenize.FormatDay(hist[0]) + tokenize.FormatDayPrompt(today)

	p := &ModelPolicy{LeadTime: 1, ctxLen: 1 << 20, tok: byteTok{}, Preamble: pre}
	ids, ok := p.prompt(hist, today)
	if got, want := (byteTok{}).Decode(ids), head+pre[0]+pre[1]+ep; !ok || got != want {
		t.Fatalf("prompt\n%q\nwant\n%q", got, want)
	}
	// A context that holds one preamble line drops the older one.
	short := &ModelPolicy{LeadTime: 1, MaxNewTokens: 1, tok: byteTok{}, Preamble: pre}
	short.ctxLen = len(head + pre[1] + ep)
	ids, ok = short.prompt(hist, today)
	if got, want := (byteTok{}).Decode(ids), head+pre[1]+ep; !ok || got != want {
		t.Fatalf("short prompt\n%q\nwant\n%q", got, want)
	}
}

func TestMedianCost7(t *testing.T) {
	lines := []string{"w=0 pos=3 c7=50 up=9 ord=6\n", "w=1 pos=2 up=9 ord=7\n", "w=2 pos=4 c7=41 up=9 ord=5\n", "w=3 pos=1 c7=63 up=9 ord=8\n", "w=4 pos=1 c7=44 up=9 ord=8\n"}
	if got := medianCost7(lines); got != 44 {
		t.Errorf("median of 50, 41, 63, 44 is %d, want 44 (the lower middle)", got)
	}
	if got := medianCost7(lines[1:2]); got != 0 {
		t.Errorf("no c7: %d, want 0", got)
	}
}

func TestCost7Candidates(t *testing.T) {
	var lines []string
	for c := 10; c <= 100; c += 10 {
		lines = append(lines, fmt.Sprintf("w=0 pos=1 c7=%d up=5 ord=4\n", c))
	}
	lines = append(lines, "w=0 pos=1 up=5 ord=4\n")
	got := cost7Candidates(lines)
	want := []int{10, 30, 50, 70, 90} // indexes 0, 2, 4, 6 and 8 of ten sorted values
	if !slices.Equal(got, want) {
		t.Errorf("candidates %v, want %v", got, want)
	}
	if got := cost7Candidates([]string{"w=0 c7=7 up=1 ord=1\n", "w=1 c7=7 up=1 ord=1\n"}); !slices.Equal(got, []int{7}) {
		t.Errorf("repeats kept: %v", got)
	}
}

// TestTargetIsTunedOffTheEvaluationPaths plays an agent whose level follows
// the target it is given: the target kept must be the candidate whose level
// is cheapest on the tuning paths.
func TestTargetIsTunedOffTheEvaluationPaths(t *testing.T) {
	var pre []string
	for _, c := range []int{20, 40, 65, 80, 130, 150, 200} {
		pre = append(pre, fmt.Sprintf("w=0 pos=1 c7=%d up=5 ord=4\n", c))
	}
	var asked []int
	agent := Agent{Replenisher: func(s ReplenishSpec) (Policy, error) {
		asked = append(asked, s.TargetCost7)
		return BaseStock{S: s.TargetCost7 / 6, Label: "model"}, nil // 80 -> S=13, the best level here
	}}
	task := ReplenishTask{Episodes: 4, Days: 60, Preamble: pre}
	res, err := task.Run(context.Background(), agent)
	if err != nil {
		t.Fatal(err)
	}
	cands := cost7Candidates(pre)
	if len(asked) != 2*len(cands)+1 {
		t.Fatalf("agent made %d times, want once per candidate %v and decoding, and once to play", len(asked), cands)
	}
	tried := res.Params["target_tuning_costs"].(map[string]float64)
	least := math.Inf(1)
	for _, c := range tried {
		least = math.Min(least, c)
	}
	// This agent ignores the decoding, so greedy and median tie and the
	// first tried (greedy) is kept.
	got := fmt.Sprintf("%v/%v", res.Params["decode"], res.Params["target_cost_7d"])
	if got != "greedy/80" || tried[got] != least {
		t.Errorf("kept %s (%v), want greedy/80, the cheapest on the tuning paths (%v)", got, tried[got], tried)
	}
}
