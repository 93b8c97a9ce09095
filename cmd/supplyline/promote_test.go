package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/supplyline/supplyline/eval"
)

// TestPromote drives champion/challenger promotion through the CLI on a real
// dev server: the champion workflow is started by the first Update, decides
// with the rule, refuses a rollback with nothing to roll back to, and rolls back.
func TestPromote(t *testing.T) {
	srv := startTestServer(t)
	startTestWorker(t, srv)
	dir := t.TempDir()
	card := func(id string, bpb float64) string {
		p := filepath.Join(dir, id+".json")
		writeJSON(t, p, eval.Scorecard{Schema: eval.ScorecardSchema, Version: 1, RunID: id, HeldOut: &eval.HeldOut{BitsPerByte: bpb},
			Tasks: []eval.TaskResult{{Name: "replenish", ModelPolicy: "model", ModelCost: 10}}})
		return p
	}
	ctx := context.Background()
	addr := srv.FrontendHostPort()
	promote := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := Run(ctx, append([]string{"promote", "--address", addr}, args...), &out)
		return out.String(), err
	}
	steps := []struct {
		args    []string
		want    string
		wantErr string
	}{
		{[]string{"--scorecard", card("run-1", 0.6)}, "run-1: promoted (no champion yet)", ""},
		{[]string{"--rollback"}, "", "no previous champion"},
		{[]string{"--scorecard", card("run-2", 0.7)}, "run-2: not promoted", ""},
		{[]string{"--scorecard", card("run-3", 0.5)}, "run-3: promoted", ""},
		{[]string{"--rollback", "--reason", "regression in production"}, "champion is run-1", ""},
		{[]string{"--show"}, `"Action": "rolled-back"`, ""},
	}
	for _, s := range steps {
		out, err := promote(s.args...)
		if s.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), s.wantErr) {
				t.Errorf("promote %v: error %v, want %q", s.args, err, s.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("promote %v: %v", s.args, err)
		}
		if !strings.Contains(out, s.want) {
			t.Errorf("promote %v printed %q, want %q", s.args, out, s.want)
		}
	}
}
