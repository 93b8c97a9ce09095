package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"go.temporal.io/sdk/client"

	"github.com/supplyline/supplyline/activities"
	"github.com/supplyline/supplyline/eval"
	"github.com/supplyline/supplyline/worker"
	"github.com/supplyline/supplyline/workflows"
)

func runPromote(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("promote", flag.ContinueOnError)
	var tf temporalFlags
	tf.register(fs)
	scorecard := fs.String("scorecard", "", "scorecard.json of the challenger")
	force := fs.Bool("force", false, "promote whatever the rule says (recorded as forced)")
	primary := fs.String("primary", "", "deciding metric (default "+eval.MetricBitsPerByte+")")
	maxReg := fs.Float64("max-regression", 0, "largest relative worsening allowed on other metrics (default 0.05)")
	rollback := fs.Bool("rollback", false, "restore the previous champion")
	reason := fs.String("reason", "", "reason recorded with a rollback")
	show := fs.Bool("show", false, "print the champion, the previous ones and every decision")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := worker.Dial(ctx, tf.workerConfig())
	if err != nil {
		return err
	}
	defer c.Close()
	switch {
	case *show:
		v, err := c.QueryWorkflow(ctx, activities.ChampionWorkflowID, "", activities.ChampionQuery)
		if err != nil {
			return fmt.Errorf("champion: %w", err)
		}
		var st activities.ChampionState
		if err := v.Get(&st); err != nil {
			return err
		}
		b, _ := json.MarshalIndent(st, "", "  ")
		fmt.Fprintf(out, "%s\n", b)
		return nil
	case *rollback:
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: activities.ChampionWorkflowID, UpdateName: activities.RollbackUpdate,
			Args: []any{activities.RollbackRequest{Reason: *reason}}, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err != nil {
			return fmt.Errorf("rollback: %w", err)
		}
		var champ *eval.Summary
		if err := h.Get(ctx, &champ); err != nil {
			return fmt.Errorf("rollback: %w", err)
		}
		fmt.Fprintf(out, "rolled back: champion is %s\n", champ.RunID)
		return nil
	case *scorecard == "":
		return errors.New("usage: supplyline promote --scorecard scorecard.json [--force] | --rollback [--reason R] | --show")
	}
	b, err := os.ReadFile(*scorecard)
	if err != nil {
		return err
	}
	var sc eval.Scorecard
	if err := json.Unmarshal(b, &sc); err != nil {
		return fmt.Errorf("%s: %w", *scorecard, err)
	}
	res, err := activities.OfferChallenger(ctx, c, workflows.TaskQueue, activities.PromoteRequest{
		Challenger: sc.Summary(), Rule: eval.PromotionRule{Primary: *primary, MaxRegression: *maxReg}, Force: *force,
	})
	if err != nil {
		return fmt.Errorf("promote %s: %w", sc.RunID, err)
	}
	verdict := "not promoted"
	if res.Decision.Promote {
		verdict = "promoted"
	}
	fmt.Fprintf(out, "%s: %s (%s)\nchampion: %s\n", sc.RunID, verdict, strings.Join(res.Decision.Reasons, "; "), res.Champion.RunID)
	return nil
}
