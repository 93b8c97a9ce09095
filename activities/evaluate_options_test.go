package activities

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/eval"
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
