package dataset_test

import (
	"runtime"
	"slices"
	"testing"

	"github.com/supplyline/supplyline/dataset"
)

// liveHeap is the bytes of live heap after two full collections: the
// second frees what sync.Pools (the Parquet writer's page and compression
// buffers) kept through the first, which otherwise depends on when the
// last automatic collection ran.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// heapDuringGenerate generates cfg and returns the live heap, less what
// was live before, after every sampled day file: the memory Generate holds.
func heapDuringGenerate(t *testing.T, cfg dataset.GenConfig, every int) (held []int64, sum dataset.GenSummary) {
	t.Helper()
	quietLogs(t)
	base := liveHeap()
	cfg.Progress = func(p dataset.GenProgress) {
		if p.DaysWritten%every == 0 {
			held = append(held, liveHeap()-base)
		}
	}
	_, sum = generate(t, cfg)
	return held, sum
}

// TestGenerateMemoryBound checks what keeps `gen --events N` within memory
// at any N: what Generate holds does not grow with the number of days
// (ForEvents adds days), and grows with the events a day (ForEvents adds
// series) by a small amount per event. It measures the live heap after
// full collections, not RSS and not time, so it does not depend on the
// machine or its load.
func TestGenerateMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("generates about 700k events")
	}
	t.Run("flat in days", func(t *testing.T) {
		held, sum := heapDuringGenerate(t, dataset.GenConfig{Seed: 4, Days: 120, Stores: 10, SKUs: 40}, 20)
		first, last := held[0], held[len(held)-1]
		t.Logf("held %d KiB after 20 days, %d KiB after %d days", first>>10, last>>10, sum.Days)
		// What legitimately grows: the file names and day stamps (tens of
		// bytes a day). Allow 1 MiB.
		if last-first > 1<<20 {
			t.Errorf("held %d KiB after 20 days and %d KiB after %d days (%d events): memory grows with days", first>>10, last>>10, sum.Days, sum.Events)
		}
	})
	t.Run("small per event a day", func(t *testing.T) {
		const days = 30
		small, s1 := heapDuringGenerate(t, dataset.GenConfig{Seed: 4, Days: days, Stores: 10, SKUs: 40}, days/3)
		large, s2 := heapDuringGenerate(t, dataset.GenConfig{Seed: 4, Days: days, Stores: 10, SKUs: 160}, days/3)
		perDay := float64(s2.Events-s1.Events) / days
		// Compare the most each held, past the first days' growth.
		extra := float64(slices.Max(large[1:]) - slices.Max(small[1:]))
		perEvent := extra / perDay
		t.Logf("%.0f more events a day hold %.0f KiB more: %.0f bytes per event a day", perDay, extra/1024, perEvent)
		// About 170 bytes: one day of 48-byte records with their headroom,
		// and the series' state, twice (the shadow that prices decisions).
		// Eight days held as Events, as Generate once did, measured about
		// 2,400 bytes here.
		if perEvent > 600 {
			t.Errorf("%.0f bytes held per event a day, want at most 600", perEvent)
		}
	})
}
