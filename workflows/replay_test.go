package workflows

import (
	"testing"

	"go.temporal.io/sdk/worker"
)

// TestReplayPipelineHistory replays a history recorded from a real run of the
// pipeline (the end-to-end test writes it: SUPPLYLINE_WRITE_HISTORY=path). A
// change to Pipeline that would break running executions fails here with a
// non-determinism error. Re-record the file only for a deliberate, versioned change.
func TestReplayPipelineHistory(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflow(Pipeline)
	if err := r.ReplayWorkflowHistoryFromJSONFile(nil, "testdata/pipeline_history.json"); err != nil {
		t.Fatal(err)
	}
}
