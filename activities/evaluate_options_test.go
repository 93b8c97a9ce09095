package activities

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/eval"
	"github.com/supplyline/supplyline/tokenize"
)

func TestEvalOptionsReplenishTask(t *testing.T) {
	dir := t.TempDir()
	world := dataset.GenSummary{Costs: dataset.Costs, Series: []dataset.Series{
		{Location: "S01", SKU: "P001", LeadTime: 4, Demand: dataset.DemandProcess{Base: 4}, Policy: dataset.PolicyBaseStock, PolicyParam: 1.2},
		{Location: "S02", SKU: "P003", LeadTime: 3, Demand: dataset.DemandProcess{Base: 7}, Policy: dataset.PolicyBaseStockPerturbed, PolicyParam: 2.5},
	}}
	b, err := json.Marshal(world)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "world.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}

	task, err := EvalOptions{World: path, Episodes: 3}.replenishTask()
	if err != nil {
		t.Fatal(err)
	}
	if task.Location != "S02" || task.SKU != "P003" || task.LeadTime != 3 || task.Demand.Base != 7 || task.Episodes != 3 ||
		task.Logged == nil || task.Logged.Policy != dataset.PolicyBaseStockPerturbed || task.Logged.Z != 2.5 {
		t.Fatalf("default series: %+v", task)
	}
	task, err = EvalOptions{World: path, Series: "S01/P001"}.replenishTask()
	if err != nil || task.LeadTime != 4 || task.Location != "S01" {
		t.Fatalf("named series: %+v, %v", task, err)
	}
	if task, err := (EvalOptions{}).replenishTask(); err != nil || task.Location != "" || task.Logged != nil {
		t.Fatalf("no world: %+v, %v", task, err)
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		o         EvalOptions
		namesFile bool
	}{
		{EvalOptions{World: path, Series: "S09/P001"}, true},
		{EvalOptions{World: path, Series: "S01"}, false},
		{EvalOptions{Series: "S01/P001"}, false},
		{EvalOptions{World: filepath.Join(dir, "missing.json")}, true},
		{EvalOptions{World: bad}, true},
	} {
		_, err := c.o.replenishTask()
		if !errors.Is(err, eval.ErrInvalidConfig) {
			t.Errorf("%+v: error %v, want ErrInvalidConfig", c.o, err)
			continue
		}
		if c.namesFile && !strings.Contains(err.Error(), filepath.Base(c.o.World)) {
			t.Errorf("%+v: error %q does not name the file", c.o, err)
		}
	}
}

// TestSeriesPreambleIsTheTrainingText checks that the replenish agent's
// preamble is the tail of its series' training document: the same lines
// the tokenizer renders from all events, read from the last day partitions
// before the cutoff only.
func TestSeriesPreambleIsTheTrainingText(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	if _, err := dataset.Generate(ctx, dataset.GenConfig{Seed: 5, Days: 40, Stores: 2, SKUs: 2, Stationary: true, EcomOrdersPerDay: -1}, world); err != nil {
		t.Fatal(err)
	}
	im, err := dataset.Ingest(ctx, dataset.IngestConfig{Inputs: []string{world}, OutDir: filepath.Join(dir, "ingest")})
	if err != nil {
		t.Fatal(err)
	}
	canonical := filepath.Join(dir, "ingest", "events")
	cutoff := time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)
	got, err := seriesPreamble(ctx, canonical, "S02", "P001", cutoff, 10)
	if err != nil {
		t.Fatal(err)
	}
	all, err := dataset.ReadEvents(ctx, canonical)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(all)) != im.Accepted {
		t.Fatalf("read %d events, ingest accepted %d", len(all), im.Accepted)
	}
	train, _, _, err := tokenize.Render(all, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, d := range train {
		if d.Key == "inv/S02/P001" {
			lines := strings.SplitAfter(strings.TrimSuffix(d.Text, "\n"), "\n")
			want = lines[len(lines)-10:]
			want[9] += "\n"
		}
	}
	if len(got) != 10 || strings.Join(got, "") != strings.Join(want, "") {
		t.Fatalf("preamble\n%s\nwant the training text's last 10 lines\n%s", strings.Join(got, ""), strings.Join(want, ""))
	}
	if !strings.Contains(got[0], " c7=") || strings.Contains(got[9], " c7=") {
		t.Errorf("c7 should be on lines whose seven days end before the cutoff only:\n%s", strings.Join(got, ""))
	}
}
