package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/eval"
	"github.com/supplyline/supplyline/tokenize"
)

func TestEvalFlags(t *testing.T) {
	for name, args := range map[string][]string{
		"no-checkpoint": {"--shards", "x"},
		"no-shards":     {"--checkpoint", "x"},
		"bad-flag":      {"--nope"},
		"bad-cutoff":    {"--checkpoint", "x", "--shards", "x", "--eta-cutoff", "June"},
		"eta-no-events": {"--checkpoint", "x", "--shards", "x", "--tasks", "eta"},
	} {
		t.Run(name, func(t *testing.T) {
			if err := Run(context.Background(), append([]string{"eval"}, args...), &bytes.Buffer{}); err == nil {
				t.Error("accepted")
			}
		})
	}
	dir := t.TempDir()
	err := Run(context.Background(), []string{"eval", "--checkpoint", dir, "--shards", dir, "--tasks", "replenish,nope"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown task: %v", err)
	}
}

// evalFixture writes shards with a real BPE tokenizer trained on inventory
// timelines, and a random checkpoint of that vocabulary from
// eval/testdata/parity.py (skipped without PyTorch, unless CI is set).
func evalFixture(t *testing.T) (ckpt, shards string) {
	t.Helper()
	var docs []string
	for i := 0; i < 12; i++ {
		var b strings.Builder
		b.WriteString(tokenize.FormatHeader(tokenize.InventoryHeader{Location: fmt.Sprintf("S%02d", i%3), SKU: "P001", LeadTime: 1 + i%3}))
		for d := 0; d < 20; d++ {
			b.WriteString(tokenize.FormatDay(tokenize.InventoryDay{Weekday: d % 7, OnHand: (7 * d * (i + 1)) % 13, Pipeline: d % 5, Demand: (d + i) % 6, Order: (3 * d) % 7}))
		}
		docs = append(docs, b.String())
	}
	shards = t.TempDir()
	merges, err := tokenize.Train(func(yield func(string) bool) {
		for _, d := range docs[:9] {
			if !yield(d) {
				return
			}
		}
	}, tokenize.TrainConfig{VocabSize: 300})
	if err != nil {
		t.Fatal(err)
	}
	if err := tokenize.WriteTokenizer(shards, merges); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenize.Load(shards)
	if err != nil {
		t.Fatal(err)
	}
	m := tokenize.Manifest{
		Version: tokenize.ManifestVersion, DType: tokenize.DTypeFor(tok.VocabSize()), VocabSize: tok.VocabSize(),
		TokenizerHash: tok.Hash(), Cutoff: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Special: map[string]int{}, Bytes: map[string]int64{}, Docs: map[string]int64{}, Events: map[string]int64{},
	}
	for _, sp := range tokenize.SpecialTokens {
		id, _ := tok.TokenID(sp)
		m.Special[sp] = id
	}
	for _, s := range []struct {
		name string
		docs []string
		out  *[]tokenize.ShardInfo
	}{{tokenize.SplitTrain, docs[:9], &m.Train}, {tokenize.SplitVal, docs[9:], &m.Val}} {
		w, err := tokenize.NewShardWriter(shards, s.name, m.DType, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range s.docs {
			ids := append([]int{m.Special[tokenize.DocStart]}, tok.Encode(d)...)
			if err := w.WriteDoc(append(ids, m.Special[tokenize.DocEnd])); err != nil {
				t.Fatal(err)
			}
			m.Bytes[s.name] += int64(len(d))
		}
		m.Docs[s.name] = int64(len(s.docs))
		if *s.out, err = w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shards, tokenize.ManifestFile), b, 0o644); err != nil {
		t.Fatal(err)
	}

	const python = "/usr/bin/python3"
	if out, err := exec.Command(python, "-c", "import torch, numpy").CombinedOutput(); err != nil {
		msg := fmt.Sprintf("PyTorch is not available (%v): %s", err, out)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ckpt = t.TempDir()
	cmd := exec.Command(python, filepath.Join("..", "..", "eval", "testdata", "parity.py"), "--out", ckpt,
		"--vocab", fmt.Sprint(tok.VocabSize()), "--context", "64", "--layers", "1", "--heads", "2", "--dim", "16", "--step", "42")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("parity.py: %v\n%s", err, out)
	}
	return ckpt, shards
}

func TestEvalWritesScorecard(t *testing.T) {
	ckpt, shards := evalFixture(t)
	outDir := filepath.Join(t.TempDir(), "sc")
	var out bytes.Buffer
	args := []string{"eval", "--checkpoint", ckpt, "--shards", shards, "--out", outDir, "--run-id", "r1",
		"--tasks", "replenish,next-event,multi-echelon", "--episodes", "2", "--heldout-tokens", "300", "--seed", "5"}
	if err := Run(context.Background(), args, &out); err != nil {
		t.Fatal(err)
	}
	sc := readScorecard(t, outDir)
	var names []string
	for _, task := range sc.Tasks {
		names = append(names, task.Name)
	}
	if sc.RunID != "r1" || sc.Step != 42 || strings.Join(names, ",") != "replenish,next-event,multi-echelon" || sc.HeldOut == nil || sc.HeldOut.Tokens != 300 {
		t.Fatalf("scorecard: run %q step %d tasks %v held-out %+v", sc.RunID, sc.Step, names, sc.HeldOut)
	}
	if sc.Tasks[0].ModelPolicy != "model" || sc.Tasks[0].OptimumExpectedCost == nil || sc.Tasks[2].ModelPolicy != "model" {
		t.Errorf("tasks: %+v", sc.Tasks)
	}
	md, err := os.ReadFile(filepath.Join(outDir, "scorecard.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Task replenish", "## Task next-event", "## Task multi-echelon", "bigram"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("scorecard.md lacks %q", want)
		}
	}
	if !strings.Contains(out.String(), "scorecard: ") {
		t.Errorf("output: %s", out.String())
	}
	for _, chart := range []string{"cost-replenish.png", "cost-next-event.png", "cost-multi-echelon.png"} {
		if _, err := os.Stat(filepath.Join(outDir, chart)); err != nil || !strings.Contains(out.String(), "chart: "+filepath.Join(outDir, chart)) {
			t.Errorf("chart %s: %v", chart, err)
		}
	}
}

// TestEvalPlaysAWorldSeries scores replenish on a series of a generated
// world, its prompt starting with the series' logged days before the cutoff.
func TestEvalPlaysAWorldSeries(t *testing.T) {
	ckpt, shards := evalFixture(t)
	ctx := context.Background()
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	if _, err := dataset.Generate(ctx, dataset.GenConfig{Seed: 2, Days: 30, Stores: 2, SKUs: 2, Stationary: true, EcomOrdersPerDay: -1}, world); err != nil {
		t.Fatal(err)
	}
	if _, err := dataset.Ingest(ctx, dataset.IngestConfig{Inputs: []string{world}, OutDir: filepath.Join(dir, "ingest")}); err != nil {
		t.Fatal(err)
	}
	outDir := filepath.Join(dir, "sc")
	var out bytes.Buffer
	args := []string{"eval", "--checkpoint", ckpt, "--shards", shards, "--out", outDir, "--tasks", "replenish", "--episodes", "2", "--seed", "5",
		"--world", filepath.Join(world, "world.json"), "--series", "S02/P002", "--canonical", filepath.Join(dir, "ingest", "events"), "--cutoff", "2024-01-25"}
	if err := Run(ctx, args, &out); err != nil {
		t.Fatal(err)
	}
	sc := readScorecard(t, outDir)
	p := sc.Tasks[0].Params
	if p["location"] != "S02" || p["sku"] != "P002" || p["preamble_days"] != float64(24) || !strings.HasPrefix(sc.Tasks[0].LoggingPolicy, "logged-") {
		t.Errorf("replenish params %v, logging policy %q: want series S02/P002 with 24 preamble days (Jan 1-24)", p, sc.Tasks[0].LoggingPolicy)
	}
	if err := Run(ctx, []string{"eval", "--checkpoint", ckpt, "--shards", shards, "--out", outDir, "--series", "S02/P002"}, &out); err == nil || !strings.Contains(err.Error(), "eval.world") {
		t.Errorf("--series without --world: %v", err)
	}
}

// readScorecard reads the scorecard.json that eval wrote into dir.
func readScorecard(t *testing.T, dir string) eval.Scorecard {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "scorecard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sc eval.Scorecard
	if err := json.Unmarshal(b, &sc); err != nil {
		t.Fatal(err)
	}
	return sc
}
