package workflows

import (
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/supplyline/supplyline/activities"
	"github.com/supplyline/supplyline/eval"
)

// updateCallbacks records an Update's outcome in the test environment.
type updateCallbacks struct {
	t        *testing.T
	rejected error
	err      error
	result   any
	into     any
}

func (u *updateCallbacks) Accept() {}
func (u *updateCallbacks) Reject(err error) {
	u.rejected = err
}
func (u *updateCallbacks) Complete(success any, err error) {
	u.err, u.result = err, success
}

func challenger(id string, bpb, cost float64) eval.Summary {
	return eval.Summary{RunID: id, Metrics: map[string]float64{eval.MetricBitsPerByte: bpb, "replenish.model_cost": cost}}
}

func TestChampionPromotionAndRollback(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	type step struct {
		name   string
		update string
		arg    any
		check  func(t *testing.T, u *updateCallbacks)
	}
	promoted := func(want bool, reason string) func(*testing.T, *updateCallbacks) {
		return func(t *testing.T, u *updateCallbacks) {
			if u.rejected != nil || u.err != nil {
				t.Fatalf("rejected %v, error %v", u.rejected, u.err)
			}
			r := u.result.(activities.PromoteResult)
			if r.Decision.Promote != want || !strings.Contains(strings.Join(r.Decision.Reasons, "; "), reason) {
				t.Errorf("decision %+v, want promote=%v with %q", r.Decision, want, reason)
			}
		}
	}
	rejected := func(reason string) func(*testing.T, *updateCallbacks) {
		return func(t *testing.T, u *updateCallbacks) {
			if u.rejected == nil || !strings.Contains(u.rejected.Error(), reason) {
				t.Errorf("validator outcome %v, want a rejection containing %q", u.rejected, reason)
			}
		}
	}
	steps := []step{
		{"rollback with no champion", activities.RollbackUpdate, activities.RollbackRequest{}, rejected("no previous champion")},
		{"malformed challenger", activities.PromoteUpdate, activities.PromoteRequest{Challenger: eval.Summary{Metrics: map[string]float64{eval.MetricBitsPerByte: 1}}}, rejected("run_id")},
		{"first", activities.PromoteUpdate, activities.PromoteRequest{Challenger: challenger("run-1", 0.6, 10)}, promoted(true, "no champion yet")},
		{"worse", activities.PromoteUpdate, activities.PromoteRequest{Challenger: challenger("run-2", 0.7, 10)}, promoted(false, "does not improve")},
		{"better", activities.PromoteUpdate, activities.PromoteRequest{Challenger: challenger("run-3", 0.5, 10)}, promoted(true, "improves")},
		{"forced", activities.PromoteUpdate, activities.PromoteRequest{Challenger: challenger("run-4", 0.9, 10), Force: true}, promoted(true, "forced")},
		{"rollback", activities.RollbackUpdate, activities.RollbackRequest{Reason: "bad in production"}, func(t *testing.T, u *updateCallbacks) {
			if u.rejected != nil || u.err != nil {
				t.Fatalf("rejected %v, error %v", u.rejected, u.err)
			}
			if c := u.result.(*eval.Summary); c.RunID != "run-3" {
				t.Errorf("champion after rollback %s, want run-3", c.RunID)
			}
		}},
	}
	outcomes := make([]*updateCallbacks, len(steps))
	for i, st := range steps {
		outcomes[i] = &updateCallbacks{t: t}
		env.RegisterDelayedCallback(func() {
			env.UpdateWorkflow(st.update, st.name, outcomes[i], st.arg)
		}, time.Duration(i+1)*time.Second)
	}
	var state activities.ChampionState
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(activities.ChampionQuery)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Get(&state); err != nil {
			t.Fatal(err)
		}
		env.CancelWorkflow()
	}, time.Duration(len(steps)+1)*time.Second)
	env.ExecuteWorkflow(Champion, activities.ChampionInput{})
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) { st.check(t, outcomes[i]) })
	}
	var actions []string
	for _, r := range state.History {
		actions = append(actions, r.Action+":"+r.RunID)
	}
	// Validator rejections never reach the record.
	if got, want := strings.Join(actions, " "), "promoted:run-1 rejected:run-2 promoted:run-3 forced:run-4 rolled-back:run-3"; got != want {
		t.Errorf("history %q, want %q", got, want)
	}
	if state.Current == nil || state.Current.RunID != "run-3" || len(state.Previous) != 1 || state.Previous[0].RunID != "run-1" {
		t.Errorf("state %+v", state)
	}
}
