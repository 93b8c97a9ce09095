package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/supplyline/supplyline/activities"
	"github.com/supplyline/supplyline/eval"
)

// maxChampionUpdates bounds one run's history; then the champion continues
// as new with its state.
const maxChampionUpdates = 200

// Champion holds the current champion model of a model line and decides,
// through the validated promote Update, whether a challenger replaces it
// (eval.PromotionRule). Every decision is recorded in its state, and the
// rollback Update restores the previous champion. Promotion is a Temporal
// Update rather than a signal so that the caller gets the decision back and
// malformed requests are refused by the validator before they reach history.
func Champion(ctx workflow.Context, in activities.ChampionInput) error {
	state := in.State
	updates := 0
	if err := workflow.SetQueryHandler(ctx, activities.ChampionQuery, func() (activities.ChampionState, error) { return state, nil }); err != nil {
		return err
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, activities.PromoteUpdate,
		func(ctx workflow.Context, req activities.PromoteRequest) (activities.PromoteResult, error) {
			updates++
			d, err := req.Rule.Decide(state.Current, req.Challenger)
			if err != nil {
				return activities.PromoteResult{}, err
			}
			action := "rejected"
			switch {
			case d.Promote:
				action = "promoted"
			case req.Force:
				action, d.Promote = "forced", true
				d.Reasons = append(d.Reasons, "forced by the caller")
			}
			if d.Promote {
				if state.Current != nil {
					state.Previous = append(state.Previous, *state.Current)
				}
				c := req.Challenger
				state.Current = &c
			}
			state.History = append(state.History, activities.PromotionRecord{Action: action, RunID: req.Challenger.RunID, Reasons: d.Reasons})
			return activities.PromoteResult{Decision: d, Champion: state.Current}, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, req activities.PromoteRequest) error {
			if err := req.Challenger.Validate(); err != nil {
				return fmt.Errorf("challenger: %w", err)
			}
			if _, ok := req.Challenger.Metrics[req.Rule.WithDefaults().Primary]; !ok {
				return fmt.Errorf("challenger %s has no primary metric %q", req.Challenger.RunID, req.Rule.WithDefaults().Primary)
			}
			return nil
		}})
	if err != nil {
		return err
	}
	err = workflow.SetUpdateHandlerWithOptions(ctx, activities.RollbackUpdate,
		func(ctx workflow.Context, req activities.RollbackRequest) (*eval.Summary, error) {
			updates++
			gone := state.Current
			prev := state.Previous[len(state.Previous)-1]
			state.Previous = state.Previous[:len(state.Previous)-1]
			state.Current = &prev
			reasons := []string{fmt.Sprintf("rolled back from %s", gone.RunID)}
			if req.Reason != "" {
				reasons = append(reasons, req.Reason)
			}
			state.History = append(state.History, activities.PromotionRecord{Action: "rolled-back", RunID: prev.RunID, Reasons: reasons})
			return state.Current, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, req activities.RollbackRequest) error {
			if state.Current == nil || len(state.Previous) == 0 {
				return errors.New("rollback: there is no previous champion")
			}
			return nil
		}})
	if err != nil {
		return err
	}
	if err := workflow.Await(ctx, func() bool {
		return updates >= maxChampionUpdates || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
	}); err != nil {
		return err
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	return workflow.NewContinueAsNewError(ctx, Champion, activities.ChampionInput{State: state})
}
