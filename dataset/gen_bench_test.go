package dataset_test

import (
	"context"
	"os"
	"testing"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/internal/peakrss"
)

// genDensityEnv passes a densityWorld's name to TestGenDensityRSSHelper.
const genDensityEnv = "SUPPLYLINE_GEN_DENSITY"

// densityWorlds are worlds as dense as `gen --events` makes them: memory
// follows the events a day, not the number of days, so a few days of each
// give the peak RSS of the whole run.
var densityWorlds = []struct {
	name string
	cfg  dataset.GenConfig
}{
	// `gen --events 100000000` builds 682 days of 99 stores × 151 SKUs
	// (seed 1), about 147k events a day.
	{"events=100M", dataset.GenConfig{Seed: 7, Days: 30, Stores: 99, SKUs: 151}},
	// The most series ForEvents adds (99 × 999), about 900k events a day:
	// past about 660M events it adds days only, so this bounds the memory
	// of any --events.
	{"densest", dataset.GenConfig{Seed: 7, Days: 8, Stores: 99, SKUs: 999}},
}

// BenchmarkGenerateDensity reports events/s and the peak RSS of a child
// process generating each densityWorld once.
func BenchmarkGenerateDensity(b *testing.B) {
	quietLogs(b)
	for _, w := range densityWorlds {
		b.Run(w.name, func(b *testing.B) {
			dir := b.TempDir()
			events := timeGenerate(b, w.cfg, dir)
			b.ReportMetric(float64(events)/float64(w.cfg.Days), "events/day")
			peakrss.Report(b, "TestGenDensityRSSHelper", 0, genDensityEnv+"="+w.name, "TMPDIR="+dir)
		})
	}
}

// TestGenDensityRSSHelper is not a test: BenchmarkGenerateDensity runs it
// in a child process to measure one Generate run's peak RSS.
func TestGenDensityRSSHelper(t *testing.T) {
	name := os.Getenv(genDensityEnv)
	if name == "" {
		t.Skip("run by BenchmarkGenerateDensity's peak RSS measurement only")
	}
	quietLogs(t)
	for _, w := range densityWorlds {
		if w.name != name {
			continue
		}
		if _, err := dataset.Generate(context.Background(), w.cfg, t.TempDir()); err != nil {
			t.Fatal(err)
		}
		if err := peakrss.Print(); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("%s=%q: no such world", genDensityEnv, name)
}
