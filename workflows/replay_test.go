package workflows

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplayPipelineHistory replays histories recorded from real runs (the
// end-to-end test writes them: SUPPLYLINE_WRITE_HISTORY=path writes the
// pipeline's history to path and its training child's to path_training.json).
// A change that would break running executions fails here with a
// non-determinism error. Keep old files: pipeline_history.json predates the
// "memo-and-promotion" version and v1_promote predates "training-child-workflow",
// so they prove those changes are versioned.
func TestReplayPipelineHistory(t *testing.T) {
	files, err := filepath.Glob("testdata/pipeline_history*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("want at least 4 recorded histories in testdata, found %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(Pipeline)
			r.RegisterWorkflow(Training)
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			h, err := client.HistoryFromJSON(fh, client.HistoryJSONOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// The recorded runs are the end-to-end test's; IDs feed child
			// workflow IDs and idempotency keys, so replay under the same ones.
			id := "e2e-pipeline"
			if strings.HasSuffix(f, "_training.json") {
				id = TrainingWorkflowID(id)
			}
			if err := r.ReplayWorkflowHistoryWithOptions(nil, h, worker.ReplayWorkflowHistoryOptions{
				OriginalExecution: workflow.Execution{ID: id, RunID: "replay"},
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
