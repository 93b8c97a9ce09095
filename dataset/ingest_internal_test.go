package dataset

import (
	"context"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestIngestReleasesArrowMemory runs an ingest, bad file included, with a
// checked allocator: every Arrow buffer must be released.
func TestIngestReleasesArrowMemory(t *testing.T) {
	ctx := context.Background()
	gen := t.TempDir()
	if _, err := Generate(ctx, GenConfig{Seed: 1, Days: 3}, gen); err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cfg := IngestConfig{Inputs: []string{gen}, OutDir: t.TempDir(), mem: mem}
	m, err := Ingest(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if m.Accepted == 0 {
		t.Fatal("nothing accepted")
	}
}

// TestIDSetExact checks that ids sharing a 64-bit hash are told apart,
// that growth keeps every id, and that a killed file's ids count as absent.
func TestIDSetExact(t *testing.T) {
	s := newIDSet()
	if !s.add(42, "a", 0) || !s.add(42, "b", 0) {
		t.Fatal("two ids with one hash: the second was taken for a duplicate")
	}
	if s.add(42, "a", 0) || s.add(42, "b", 1) {
		t.Fatal("a repeated id was not a duplicate")
	}
	hash := func(i int) uint64 { return uint64(i) * 0x9E3779B97F4A7C15 }
	const n = 100_000
	for i := range n {
		if !s.add(hash(i), strconv.Itoa(i), 1) {
			t.Fatalf("id %d: new id taken for a duplicate", i)
		}
	}
	for i := range n {
		if s.add(hash(i), strconv.Itoa(i), 2) {
			t.Fatalf("id %d: lost after growth to %d slots", i, len(s.slots))
		}
	}
	s.kill(1)
	if !s.add(hash(7), "7", 3) || s.add(hash(7), "7", 4) {
		t.Error("an id of a killed file did not count as absent exactly once")
	}
	if s.add(42, "a", 3) {
		t.Error("killing file 1 took back file 0's id")
	}
	if s.len() != n+2 {
		t.Errorf("len %d, want %d", s.len(), n+2)
	}
}
