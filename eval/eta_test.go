package eval

import (
	"context"
	"errors"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/tokenize"
)

var etaCutoff = time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)

// etaEvents builds one order: order_placed at placed (with extras x and
// Location dest) and, when days >= 0, delivered days calendar days later.
func etaEvents(id string, placed time.Time, days int, dest string, x map[string]string) []dataset.Event {
	evs := []dataset.Event{{EventID: id + "-1", EventTime: placed, EventType: string(dataset.OrderPlaced), OrderID: id, Location: dest, Extras: x}}
	if days >= 0 {
		evs = append(evs, dataset.Event{EventID: id + "-2", EventTime: placed.AddDate(0, 0, days).Add(time.Hour), EventType: string(dataset.Delivered), OrderID: id, Location: dest})
	}
	return evs
}

// handMadeETA: four train orders (days 4, 6, 10, 2: global median 5; routes
// SP>RJ median 5, SP>MG 10, MG>SP 2), one straddling the cutoff, one never
// delivered, and four test orders whose errors are worked out in
// TestETABaselinesHandMade.
func handMadeETA() []dataset.Event {
	jan := func(d int) time.Time { return time.Date(2024, 1, d, 10, 0, 0, 0, time.UTC) }
	feb := func(d int) time.Time { return time.Date(2024, 2, d, 10, 0, 0, 0, time.UTC) }
	o := func(origin string, promised int) map[string]string {
		x := map[string]string{}
		if origin != "" {
			x[ExtraOrigin] = origin
		}
		if promised >= 0 {
			x[tokenize.ExtraPromisedDays] = strconv.Itoa(promised)
		}
		return x
	}
	var evs []dataset.Event
	for _, part := range [][]dataset.Event{
		etaEvents("A", jan(2), 4, "RJ", map[string]string{ExtraSellers: "s1", tokenize.ExtraPromisedDays: "9"}), // origin through SellerStates
		etaEvents("B", jan(3), 6, "RJ", o("SP", 9)),
		etaEvents("C", jan(4), 10, "MG", o("SP", 12)),
		etaEvents("D", jan(5), 2, "SP", o("MG", 5)),
		etaEvents("E", jan(30), 4, "RJ", o("SP", 5)), // straddles the cutoff
		etaEvents("F", jan(6), -1, "RJ", o("SP", 5)), // never delivered
		// Test orders: actual, promised, global (5), route.
		etaEvents("T1", feb(1), 3, "RJ", map[string]string{ExtraSellers: "s1,s2", tokenize.ExtraPromisedDays: "10"}), // 3: 10, 5, 5
		etaEvents("T2", feb(2), 12, "MG", map[string]string{ExtraOrigin: "SP", ExtraPromisedDate: "2024-02-17"}),     // 12: 15, 5, 10
		etaEvents("T3", feb(3), 5, "SP", o("RJ", -1)),                                                                // 5: none (5), 5, no route in train (5)
		etaEvents("T4", feb(4), 9, "SP", o("", 9)),                                                                   // 9: 9, 5, no origin (5)
	} {
		evs = append(evs, part...)
	}
	return evs
}

var handMadeSellers = map[string]string{"s1": "SP", "s2": "SP"}

func TestETABaselinesHandMade(t *testing.T) {
	res, err := ETATask{Events: handMadeETA(), SellerStates: handMadeSellers, Cutoff: etaCutoff}.Run(context.Background(), Agent{})
	if err != nil {
		t.Fatal(err)
	}
	r := res.ETA
	if r.TrainOrders != 4 || r.TestOrders != 4 || r.Straddling != 1 || r.Undelivered != 1 {
		t.Fatalf("split %+v", r)
	}
	want := []struct {
		name      string
		mae, w2   float64
		fallbacks int
	}{
		{ETAPromised, (7 + 3 + 0 + 0) / 4.0, 0.5, 1},
		{ETAGlobalMedian, (2 + 7 + 0 + 4) / 4.0, 0.5, 0},
		{ETARouteMedian, (2 + 2 + 0 + 4) / 4.0, 0.75, 2},
	}
	if len(r.Predictors) != len(want) {
		t.Fatalf("%d predictors", len(r.Predictors))
	}
	for i, w := range want {
		p := r.Predictors[i]
		if p.Name != w.name || math.Abs(p.MAE-w.mae) > 1e-12 || math.Abs(p.Within2-w.w2) > 1e-12 || p.Fallbacks != w.fallbacks || p.Orders != 4 {
			t.Errorf("%+v, want %+v", p, w)
		}
	}
	if res.BestBaseline != ETARouteMedian || res.BestBaselineCost != 2 || res.ModelPolicy != "" || res.Unit != UnitMAEDays {
		t.Errorf("best %s %v model %q unit %q", res.BestBaseline, res.BestBaselineCost, res.ModelPolicy, res.Unit)
	}
	// Global median errors, predicted minus actual: 2, -7, 0, -4.
	if got := r.Predictors[1].Errors; len(got) != 4 || got[0] != (ErrorBin{-7, 1}) || got[2] != (ErrorBin{0, 1}) || got[3] != (ErrorBin{2, 1}) {
		t.Errorf("error bins %v", got)
	}
	paths, err := WriteCharts(filepath.Join(t.TempDir(), "charts"), Scorecard{Tasks: []TaskResult{res}})
	if err != nil {
		t.Fatal(err)
	}
	checkPNGs(t, paths, "cost-eta.png", "eta-errors.png")
	if md := (Scorecard{Tasks: []TaskResult{res}}).Markdown(); !strings.Contains(md, "| route-median | 2.000 | 75.0% | 2 of 4 |") {
		t.Errorf("markdown:\n%s", md)
	}
}

func TestETAPrompts(t *testing.T) {
	evs := handMadeETA()
	orders, _ := ETAOrders(evs, handMadeSellers)
	_, test, _, _ := etaSplit(orders, etaCutoff, 0.8)
	prompts, err := etaPrompts(evs, test, etaCutoff, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := tokenize.DocStart + "ord loc=RJ promised=10\nplaced d=0\ndelivered d="; prompts[0] != want {
		t.Errorf("prompt %q, want %q", prompts[0], want)
	}
	if want := tokenize.DocStart + "ord loc=MG\nplaced d=0\ndelivered d="; prompts[1] != want {
		t.Errorf("prompt %q, want %q (promised_date is not in the grammar's header)", prompts[1], want)
	}
}

// fixedETA predicts from a table of prompt suffixes; anything else is invalid.
type fixedETA map[string]int

func (f fixedETA) PredictDays(prompt string) (int, bool, error) {
	for k, v := range f {
		if strings.Contains(prompt, k) {
			return v, true, nil
		}
	}
	return 0, false, nil
}

func TestETAModelInvalidCounted(t *testing.T) {
	agent := Agent{ETA: func() (ETAPredictor, error) { return fixedETA{"promised=10": 3, "loc=MG": 13}, nil }}
	res, err := ETATask{Events: handMadeETA(), SellerStates: handMadeSellers, Cutoff: etaCutoff, Workers: 3}.Run(context.Background(), agent)
	if err != nil {
		t.Fatal(err)
	}
	m := res.ETA.Predictors[0]
	// T1 exact, T2 off by one, T3 and T4 invalid: the global median (errors 0 and 4).
	if m.Name != "model" || m.Fallbacks != 2 || math.Abs(m.MAE-5.0/4) > 1e-12 || res.ModelPolicy != "model" || res.ModelCost != m.MAE {
		t.Errorf("model %+v, result model %q %v", m, res.ModelPolicy, res.ModelCost)
	}
	if math.Abs(res.Gap-(1.25-2)/2) > 1e-12 {
		t.Errorf("gap %v", res.Gap)
	}
	if res.Policies[0].InvalidActions != 2 || res.Policies[0].Decisions != 4 {
		t.Errorf("policy %+v", res.Policies[0])
	}
}

func TestETAModelTinyRandom(t *testing.T) {
	tok := newCharTokenizer()
	m := randomModel(t, testModelConfig(tok.VocabSize(), 96), 7)
	agent := Agent{ETA: func() (ETAPredictor, error) { return NewModelETA(m, tok) }}
	res, err := ETATask{Events: handMadeETA(), Cutoff: etaCutoff}.Run(context.Background(), agent)
	if err != nil {
		t.Fatal(err)
	}
	p := res.ETA.Predictors[0]
	if p.Orders != 4 || p.Fallbacks > 4 || math.IsNaN(p.MAE) {
		t.Errorf("%+v", p)
	}
	t.Logf("tiny random model: MAE %.2f days, %d of %d invalid", p.MAE, p.Fallbacks, p.Orders)
}

func TestETAValidate(t *testing.T) {
	if err := (ETATask{}).Validate(); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("no events: %v", err)
	}
	c := Config{CheckpointDir: "x", ShardManifest: "y", Tasks: []string{ETATaskName}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "events") {
		t.Errorf("eta without events: %v", err)
	}
	c.ETA.EventsDir = "z"
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	if _, err := (ETATask{Events: handMadeETA(), Cutoff: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}).Run(context.Background(), Agent{}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("no test orders: %v", err)
	}
}

// olistSampleDir is ../shared/data/olist-sample relative to the repository
// root, or skips.
func olistSampleDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "data", "olist-sample")
	if _, err := os.Stat(filepath.Join(dir, dataset.OlistOrdersFile)); err != nil {
		t.Skipf("Olist sample absent (%v): put the Olist CSV files in %s to run this test", err, dir)
	}
	return dir
}

func TestETAOlistSample(t *testing.T) {
	dir := olistSampleDir(t)
	out := t.TempDir()
	if _, err := dataset.ImportOlist(context.Background(), dataset.OlistConfig{Dir: dir, OutDir: out}); err != nil {
		t.Fatal(err)
	}
	tok := newCharTokenizer()
	m := randomModel(t, testModelConfig(tok.VocabSize(), 128), 11)
	agent := Agent{ETA: func() (ETAPredictor, error) { return NewModelETA(m, tok) }}
	task := ETATask{EventsDir: out, SellersFile: filepath.Join(dir, "olist_sellers_dataset.csv")}
	res, err := task.Run(context.Background(), agent)
	if err != nil {
		t.Fatal(err)
	}
	r := res.ETA
	t.Logf("cutoff %s: %d train, %d test, %d straddling, %d undelivered", r.Cutoff.Format(time.DateOnly), r.TrainOrders, r.TestOrders, r.Straddling, r.Undelivered)
	for _, p := range r.Predictors {
		t.Logf("%-14s MAE %6.2f days, within ±2 %5.1f%%, fallbacks %d of %d", p.Name, p.MAE, 100*p.Within2, p.Fallbacks, p.Orders)
	}
	if r.TestOrders < 100 || r.TrainOrders < 4*r.TestOrders/2 {
		t.Errorf("split %+v", r)
	}
	byName := map[string]ETAScore{}
	for _, p := range r.Predictors {
		byName[p.Name] = p
	}
	// The issue states about 12.7 days for Olist's estimate and 6.1 for the
	// global median on the sample; the bounds are wide on purpose.
	if mae := byName[ETAPromised].MAE; mae < 6 || mae > 25 {
		t.Errorf("Olist's estimate: MAE %.2f days, want within [6, 25]", mae)
	}
	if mae := byName[ETAGlobalMedian].MAE; mae < 3 || mae > 12 {
		t.Errorf("global median: MAE %.2f days, want within [3, 12]", mae)
	}
	if byName[ETAPromised].MAE <= byName[ETAGlobalMedian].MAE {
		t.Errorf("Olist's estimate (%.2f) beats the global median (%.2f): it is known to be padded", byName[ETAPromised].MAE, byName[ETAGlobalMedian].MAE)
	}
	if mdl := byName["model"]; mdl.Orders != r.TestOrders || mdl.Fallbacks > mdl.Orders {
		t.Errorf("model %+v", mdl)
	}

	paths, err := WriteCharts(t.TempDir(), Scorecard{RunID: "t", Tasks: []TaskResult{res}, LossCurve: []LossPoint{{0, 5}, {10, 3}, {20, 2.5}}})
	if err != nil {
		t.Fatal(err)
	}
	checkPNGs(t, paths, "cost-eta.png", "eta-errors.png", "loss.png")
}

func checkPNGs(t *testing.T, paths []string, names ...string) {
	t.Helper()
	if len(paths) != len(names) {
		t.Fatalf("charts %v, want %v", paths, names)
	}
	for i, p := range paths {
		if filepath.Base(p) != names[i] {
			t.Errorf("chart %s, want %s", p, names[i])
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if b := img.Bounds(); b.Dx() < 100 || b.Dy() < 100 {
			t.Errorf("%s is %v", p, b)
		}
	}
}

func TestDigitVocabMasks(t *testing.T) {
	tok := newCharTokenizer()
	v := newDigitVocab(tok, tok.VocabSize())
	if len(v.ids) != 12 { // ten digits, the newline and the space
		t.Fatalf("%d allowed tokens", len(v.ids))
	}
	logits := make([]float32, tok.VocabSize())
	set := func(s string, x float32) {
		id, _ := tok.TokenID(s)
		logits[id] = x
	}
	set("x", 9)
	set(tokenize.DocEnd, 8)
	set("7", 2)
	set("\n", 1)
	if k := v.pick(logits); v.digits[k] != "7" {
		t.Errorf("picked %q over a masked letter", v.digits[k])
	}
	set("\n", 3)
	if k := v.pick(logits); !v.term[k] || v.digits[k] != "" {
		t.Errorf("picked %q, want the terminator", v.digits[k])
	}
	// A space ends a number inside a line: "up=21 ord=8".
	set(" ", 4)
	if k := v.pick(logits); !v.term[k] || v.digits[k] != "" || tok.Decode([]int{v.ids[k]}) != " " {
		t.Errorf("picked %q, want the space that ends the number", tok.Decode([]int{v.ids[k]}))
	}
}
