package activities

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/tokenize"
)

// TestTokenizeResumesFromHeartbeat retries the activity with the heartbeat
// of an attempt that finished two shards: the retry keeps those files as
// they are and ends with the bytes of an uninterrupted run.
func TestTokenizeResumesFromHeartbeat(t *testing.T) {
	ctx := context.Background()
	world := filepath.Join(t.TempDir(), "world")
	if _, err := dataset.Generate(ctx, dataset.GenConfig{Seed: 3, Days: 14, Stores: 2, SKUs: 3, EcomOrdersPerDay: 20}, world); err != nil {
		t.Fatal(err)
	}
	ing := filepath.Join(t.TempDir(), "canonical")
	im, err := dataset.Ingest(ctx, dataset.IngestConfig{Inputs: []string{world}, OutDir: ing})
	if err != nil {
		t.Fatal(err)
	}
	in := TokenizeInput{
		CanonicalDir: filepath.Join(ing, "events"),
		VocabSize:    300,
		Cutoff:       im.MinEventTime.Truncate(24*time.Hour).AddDate(0, 0, 10),
		InputHash:    im.ContentHash,
	}
	run := func(outDir string, hb *TokenizeProgress) TokenizeOutput {
		t.Helper()
		var s testsuite.WorkflowTestSuite
		env := s.NewTestActivityEnvironment()
		a := &Activities{}
		env.RegisterActivity(a)
		if hb != nil {
			env.SetHeartbeatDetails(*hb)
		}
		in := in
		in.OutDir = outDir
		v, err := env.ExecuteActivity(a.Tokenize, in)
		if err != nil {
			t.Fatal(err)
		}
		var out TokenizeOutput
		if err := v.Get(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}

	// The activity uses the default shard size, so each split has one
	// shard; the retry below resumes with the train split finished.
	fresh := t.TempDir()
	run(fresh, nil)
	m, _, err := tokenize.ReadManifest(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Train) != 1 {
		t.Fatalf("%d train shards, want 1", len(m.Train))
	}

	// A retry whose last attempt heartbeated the train shard keeps it.
	dir := t.TempDir()
	for _, name := range []string{m.Train[0].Bin, m.Train[0].Idx} {
		b, err := os.ReadFile(filepath.Join(fresh, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before, err := os.Stat(filepath.Join(dir, m.Train[0].Bin))
	if err != nil {
		t.Fatal(err)
	}
	hb := TokenizeProgress{Stage: "tokenizing", Done: tokenize.Resume{
		CacheKey: tokenize.BuildConfig{VocabSize: in.VocabSize, Cutoff: in.Cutoff, InputHash: in.InputHash}.CacheKey(),
		Train:    m.Train[:1],
	}}
	out := run(dir, &hb)
	if out.TrainTokens == 0 || out.ManifestPath != filepath.Join(dir, tokenize.ManifestFile) {
		t.Fatalf("output %+v", out)
	}
	after, err := os.Stat(filepath.Join(dir, m.Train[0].Bin))
	if err != nil || !os.SameFile(before, after) {
		t.Fatalf("the heartbeated shard was rewritten (%v)", err)
	}
	entries, _ := os.ReadDir(fresh)
	for _, e := range entries {
		x, _ := os.ReadFile(filepath.Join(fresh, e.Name()))
		y, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs from the uninterrupted run (%v)", e.Name(), err)
		}
	}
}
