package workflows

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
)

// TestReplayPipelineHistory replays histories recorded from real runs of the
// pipeline (the end-to-end test writes one: SUPPLYLINE_WRITE_HISTORY=path).
// A change to Pipeline that would break running executions fails here with a
// non-determinism error. Keep old files: pipeline_history.json predates the
// "memo-and-promotion" version and proves that change is versioned.
func TestReplayPipelineHistory(t *testing.T) {
	files, err := filepath.Glob("testdata/pipeline_history*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("want at least 2 recorded histories in testdata, found %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(Pipeline)
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatal(err)
			}
		})
	}
}
