package eval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/tokenize"
	"github.com/supplyline/supplyline/train"
)

// tinyRun writes a checkpoint from testdata/parity.py sized for the
// character tokenizer, and shards beside it.
func tinyRun(t *testing.T) (ckpt, shards string, tok *charTokenizer) {
	t.Helper()
	tok = newCharTokenizer()
	ckpt = pyCheckpoint(t, "--vocab", fmt.Sprint(tok.VocabSize()), "--context", "96", "--layers", "2", "--heads", "2", "--dim", "16", "--step", "300")
	shards = t.TempDir()
	writeShards(t, shards, tok, [][]string{timelines(4, 1)}, [][]string{timelines(3, 77)})
	return ckpt, shards, tok
}

func TestEvaluate(t *testing.T) {
	ckpt, shards, tok := tinyRun(t)
	cfg := Config{
		CheckpointDir:    ckpt,
		ShardManifest:    filepath.Join(shards, tokenize.ManifestFile),
		Tokenizer:        tok,
		RunID:            "run-7",
		Replenish:        ReplenishTask{Days: 40, Episodes: 2, Demand: dataset.DemandProcess{Base: 4}, Seed: 3},
		HeldOutMaxTokens: 1500,
	}
	sc, err := Evaluate(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Schema != ScorecardSchema || sc.Version != 1 || sc.RunID != "run-7" || sc.Step != 300 || sc.Checkpoint != ckpt || sc.CreatedAt.IsZero() {
		t.Errorf("header: %+v", sc)
	}
	if len(sc.Tasks) != 2 || sc.Tasks[1].Name != NextEventTaskName || sc.Tasks[1].NextEvent != sc.HeldOut {
		t.Fatalf("tasks %+v, want replenish and next-event, the latter also HeldOut", sc.Tasks)
	}
	task := sc.Tasks[0]
	if task.Name != ReplenishTaskName || task.ModelPolicy != "model" || task.Policies[0].Name != "model" || task.Policies[0].Decisions != 80 {
		t.Errorf("task: %+v", task)
	}
	if task.OptimumCost == nil || task.GapToOptimum == nil || task.BestBaseline == "" {
		t.Errorf("stationary Poisson task lacks its optimum or baseline: %+v", task)
	}
	if want := (task.ModelCost - task.BestBaselineCost) / task.BestBaselineCost; task.Gap != want {
		t.Errorf("gap %g, want %g", task.Gap, want)
	}
	h := sc.HeldOut
	if h == nil || h.Tokens != 1500 || h.Bytes <= 0 || h.BitsPerByte <= 0 || h.UnigramBitsPerByte <= 0 {
		t.Fatalf("held-out: %+v", h)
	}

	b, err := json.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "version", "run_id", "checkpoint", "step", "created_at", "tasks", "heldout"} {
		if _, ok := generic[k]; !ok {
			t.Errorf("scorecard JSON lacks %q", k)
		}
	}
	var back Scorecard
	if err := json.Unmarshal(b, &back); err != nil || back.Tasks[0].BestBaselineCost != task.BestBaselineCost || back.HeldOut.Tokens != h.Tokens {
		t.Errorf("round trip: %v %+v", err, back)
	}
	md := sc.Markdown()
	for _, want := range []string{"run-7", "The model costs", task.BestBaseline, "provable optimum", "bits per byte", "| model |"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	t.Logf("\n%s", md)
}

func TestEvaluateRefuses(t *testing.T) {
	ckpt, shards, tok := tinyRun(t)
	base := Config{CheckpointDir: ckpt, ShardManifest: shards, Tokenizer: tok, Replenish: ReplenishTask{Days: 20, Episodes: 1}, HeldOutMaxTokens: 100}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want error
	}{
		{"no-checkpoint", func(c *Config) { c.CheckpointDir = "" }, ErrInvalidConfig},
		{"bad-task", func(c *Config) { c.Replenish.LeadTime = -2 }, ErrInvalidConfig},
		{"tokenizer-files-changed", func(c *Config) {
			if err := os.WriteFile(filepath.Join(shards, "merges.txt"), []byte("#version: 0.2\na b\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, ErrBadShard},
		{"checkpoint-from-other-tokenizer", func(c *Config) {
			dir := t.TempDir()
			for _, f := range []string{train.ModelFile, train.StateFile} {
				b, err := os.ReadFile(filepath.Join(ckpt, f))
				if err != nil {
					t.Fatal(err)
				}
				if f == train.StateFile {
					var st train.State
					if err := json.Unmarshal(b, &st); err != nil {
						t.Fatal(err)
					}
					st.Lineage.TokenizerHash = "0123"
					b, _ = json.Marshal(st)
				}
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c.CheckpointDir = dir
		}, ErrBadShard},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.edit(&cfg)
			if _, err := Evaluate(context.Background(), cfg); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}
