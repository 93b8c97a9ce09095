package dataset

import (
	"context"
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
