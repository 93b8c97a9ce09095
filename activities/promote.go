package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/supplyline/supplyline/eval"
)

// Names of the champion workflow (workflows.Champion) that promotion talks
// to. They live here because the Promote activity and the CLI start it by
// name, and workflows imports this package, not the reverse.
const (
	ChampionWorkflowType = "Champion"
	// ChampionWorkflowID is the one champion of a namespace's model line.
	ChampionWorkflowID = "supplyline-champion"
	// PromoteUpdate asks the champion workflow to consider a challenger.
	PromoteUpdate = "promote"
	// RollbackUpdate restores the previous champion.
	RollbackUpdate = "rollback"
	// ChampionQuery returns the ChampionState.
	ChampionQuery = "champion"
)

// PromoteRequest is the promote Update's argument.
type PromoteRequest struct {
	Challenger eval.Summary
	Rule       eval.PromotionRule
	// Force promotes whatever the rule says (recorded as forced).
	Force bool
}

// PromoteResult is the promote Update's result.
type PromoteResult struct {
	Decision eval.Decision
	// Champion is the champion after the update.
	Champion *eval.Summary
}

// RollbackRequest is the rollback Update's argument.
type RollbackRequest struct {
	// Reason is recorded with the rollback.
	Reason string
}

// PromoteInput is the Promote activity's input.
type PromoteInput struct {
	ScorecardPath string
	Rule          eval.PromotionRule
	// TaskQueue the champion workflow runs on if it has to be started.
	TaskQueue string
}

// Promote offers a run's scorecard to the champion workflow through the
// validated promote Update, starting the champion workflow if it does not
// exist yet.
func (a *Activities) Promote(ctx context.Context, in PromoteInput) (PromoteResult, error) {
	if a.Client == nil {
		return PromoteResult{}, permanent(ErrTypeInvalidConfig, errors.New("promote: this worker has no Temporal client"))
	}
	b, err := os.ReadFile(in.ScorecardPath)
	if err != nil {
		return PromoteResult{}, err
	}
	var sc eval.Scorecard
	if err := json.Unmarshal(b, &sc); err != nil {
		return PromoteResult{}, permanent(ErrTypeBadInput, fmt.Errorf("%s: %w", in.ScorecardPath, err))
	}
	return OfferChallenger(ctx, a.Client, in.TaskQueue, PromoteRequest{Challenger: sc.Summary(), Rule: in.Rule})
}

// OfferChallenger sends the promote Update with start: the champion
// workflow is started on taskQueue when it is not running.
func OfferChallenger(ctx context.Context, c client.Client, taskQueue string, req PromoteRequest) (PromoteResult, error) {
	start := c.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       ChampionWorkflowID,
		TaskQueue:                taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, ChampionWorkflowType, ChampionInput{})
	h, err := c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			WorkflowID:   ChampionWorkflowID,
			UpdateName:   PromoteUpdate,
			Args:         []any{req},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return PromoteResult{}, err
	}
	var res PromoteResult
	err = h.Get(ctx, &res)
	return res, err
}

// ChampionInput is the champion workflow's input: its state, carried
// across continue-as-new.
type ChampionInput struct {
	State ChampionState
}

// ChampionState is the champion, the ones it replaced (for rollback) and
// the record of every decision.
type ChampionState struct {
	Current *eval.Summary
	// Previous champions, most recent last.
	Previous []eval.Summary
	History  []PromotionRecord
}

// PromotionRecord is one decision of the champion workflow.
type PromotionRecord struct {
	// Action is "promoted", "rejected", "forced" or "rolled-back".
	Action  string
	RunID   string
	Reasons []string
}
