package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/eval"
	"github.com/supplyline/supplyline/train"
	"github.com/supplyline/supplyline/workflows"
)

// TestEndToEnd takes the whole pipeline through a tiny synthetic dataset on a
// real dev server with a real worker, real torchrun training and Go
// inference, driven through the CLI, and asserts that the model learned:
// held-out bits per byte below the unigram baseline.
func TestEndToEnd(t *testing.T) {
	t0 := time.Now()
	srv := startTestServer(t)
	startTestWorker(t, srv)
	t.Logf("stage dev server + worker: %s", time.Since(t0).Round(time.Millisecond))

	dir := t.TempDir()
	events := filepath.Join(dir, "events")
	t1 := time.Now()
	if _, err := dataset.Generate(context.Background(), dataset.GenConfig{Seed: 3, Days: 60, Stores: 3, SKUs: 4}, events); err != nil {
		t.Fatal(err)
	}
	t.Logf("stage gen: %s", time.Since(t1).Round(time.Millisecond))
	cfgPath := filepath.Join(dir, "run.json")
	writeJSON(t, cfgPath, map[string]any{
		"inputs":        []string{events},
		"work_dir":      filepath.Join(dir, "runs"),
		"steps":         160,
		"segment_steps": 80,
		"seed":          3,
		"vocab_size":    384,
		"model":         map[string]any{"context_len": 96, "dim": 64, "layers": 2, "heads": 4},
		"promote":       true,
	})

	ctx := context.Background()
	addr := srv.FrontendHostPort()
	var out bytes.Buffer
	if err := Run(ctx, []string{"run", "--address", addr, "--config", cfgPath, "--id", "e2e-pipeline"}, &out); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^workflow e2e-pipeline$`).MatchString(out.String()) || !strings.Contains(out.String(), "/namespaces/default/workflows/e2e-pipeline/") {
		t.Fatalf("run output lacks the workflow ID or UI link:\n%s", out.String())
	}

	// Watch it through `supplyline status` until it ends; the progress query must report the stages.
	stages := map[string]bool{}
	c := srv.Client()
	for {
		out.Reset()
		if err := Run(ctx, []string{"status", "--address", addr, "e2e-pipeline"}, &out); err != nil {
			t.Fatal(err)
		}
		if m := regexp.MustCompile(`(?m)^stage\s+(\S+)`).FindStringSubmatch(out.String()); m != nil {
			stages[m[1]] = true
		}
		desc, err := c.DescribeWorkflowExecution(ctx, "e2e-pipeline", "")
		if err != nil {
			t.Fatal(err)
		}
		if desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			break
		}
		time.Sleep(time.Second)
	}
	if !stages["train"] {
		t.Errorf("status never showed the train stage; saw %v", stages)
	}

	var res workflows.PipelineOutput
	if err := c.GetWorkflow(ctx, "e2e-pipeline", "").Get(ctx, &res); err != nil {
		t.Fatalf("pipeline failed: %v", err)
	}
	logStageTimes(t, c, "e2e-pipeline")
	logStageTimes(t, c, workflows.TrainingWorkflowID("e2e-pipeline"))

	in := res.Ingest
	if in.RowsIn != in.Accepted+in.Quarantined+in.Duplicates || in.Accepted == 0 {
		t.Errorf("ingest does not reconcile: %+v", in)
	}
	if res.Train.Step != 160 {
		t.Errorf("trained to step %d, want 160", res.Train.Step)
	}
	st, err := train.ReadState(res.Train.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	if st.Lineage.TokenizerHash != res.Tokenize.TokenizerHash || st.Lineage.InputHash != in.ContentHash {
		t.Errorf("checkpoint lineage %+v does not match the run (tokenizer %s, input %s)", st.Lineage, res.Tokenize.TokenizerHash, in.ContentHash)
	}

	var sc eval.Scorecard
	b, err := os.ReadFile(res.Eval.ScorecardPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sc); err != nil {
		t.Fatal(err)
	}
	if sc.Backend != "local" || sc.Backend != res.Train.Backend {
		t.Errorf("scorecard backend %q, want the backend that trained (%q)", sc.Backend, res.Train.Backend)
	}
	if sc.Schema != eval.ScorecardSchema {
		t.Errorf("scorecard schema %q, want %q", sc.Schema, eval.ScorecardSchema)
	}
	// The loss curve comes from the trainer's state.json, across segments.
	if n := len(sc.LossCurve); n < 2 || sc.LossCurve[n-1].Step != 160 || sc.LossCurve[0].Step >= sc.LossCurve[n-1].Step {
		t.Errorf("scorecard loss curve %+v, want points up to step 160 from both segments", sc.LossCurve)
	}
	// The replenish task plays a series of the generated world (world.json
	// beside the inputs), with its logged policy among the references.
	var world dataset.GenSummary
	if b, err := os.ReadFile(filepath.Join(events, "world.json")); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(b, &world); err != nil {
		t.Fatal(err)
	}
	rt := sc.Tasks[0]
	found := false
	for _, s := range world.Series {
		if s.Location == rt.Params["location"] && s.SKU == rt.Params["sku"] {
			found = true
			if rt.Params["lead_time"] != float64(s.LeadTime) || !strings.HasPrefix(rt.LoggingPolicy, "logged-"+s.Policy+"(") {
				t.Errorf("replenish task %v, logging policy %q: not series %s/%s of the world (%+v)", rt.Params, rt.LoggingPolicy, s.Location, s.SKU, s)
			}
		}
	}
	if rt.Name != eval.ReplenishTaskName || !found {
		t.Errorf("replenish task %s %v plays no series of the world", rt.Name, rt.Params)
	}
	t.Logf("held-out %.3f bits/byte vs unigram %.3f; replenishment cost/day model %.3f vs base-stock %.3f (gap %+.1f%%)",
		sc.HeldOut.BitsPerByte, sc.HeldOut.UnigramBitsPerByte, res.Eval.ModelCost, res.Eval.BaselineCost, 100*res.Eval.Gap)
	if !(sc.HeldOut.BitsPerByte < sc.HeldOut.UnigramBitsPerByte) {
		t.Errorf("the model did not learn: %.3f bits/byte, unigram baseline %.3f", sc.HeldOut.BitsPerByte, sc.HeldOut.UnigramBitsPerByte)
	}

	if res.Promotion == nil || !res.Promotion.Decision.Promote || res.Promotion.Champion == nil || res.Promotion.Champion.RunID != "e2e-pipeline" {
		t.Errorf("the first run should become the champion: %+v", res.Promotion)
	}
	desc, err := c.DescribeWorkflowExecution(ctx, "e2e-pipeline", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := desc.GetWorkflowExecutionInfo().GetMemo().GetFields()["scorecard"]; !ok {
		t.Error("the run's memo carries no scorecard summary")
	}

	if p := os.Getenv("SUPPLYLINE_WRITE_HISTORY"); p != "" {
		writeHistory(t, c, "e2e-pipeline", p)
		writeHistory(t, c, workflows.TrainingWorkflowID("e2e-pipeline"), strings.TrimSuffix(p, ".json")+"_training.json")
	}
}

// logStageTimes logs each activity's wall time from the run's history.
func logStageTimes(t *testing.T, c client.Client, id string) {
	it := c.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	started := map[int64]*historypb.HistoryEvent{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			started[e.GetEventId()] = e
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			s := started[e.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()]
			name := s.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
			t.Logf("stage %s: %s", name, e.GetEventTime().AsTime().Sub(s.GetEventTime().AsTime()).Round(time.Millisecond))
		}
	}
}

// writeHistory stores the run's history for the replay test (workflows/testdata).
func writeHistory(t *testing.T, c client.Client, id, path string) {
	it := c.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var h historypb.History
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote history of %s (%d events) to %s", id, len(h.Events), path)
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
