package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"go.temporal.io/sdk/activity"

	"github.com/supplyline/supplyline/eval"
)

// EvaluateInput names the checkpoint and shards to score.
type EvaluateInput struct {
	RunID         string
	CheckpointDir string
	ShardManifest string
	// OutDir receives scorecard.json and scorecard.md.
	OutDir string
	// Seed of the simulators' demand draws.
	Seed int64
	// Backend that trained the checkpoint, recorded in the scorecard.
	Backend string
}

// EvaluateOutput carries the scorecard's headline numbers; the full scorecard is at ScorecardPath.
type EvaluateOutput struct {
	ScorecardPath      string
	MarkdownPath       string
	BitsPerByte        float64
	UnigramBitsPerByte float64
	ModelCost          float64
	BaselineCost       float64
	Gap                float64
}

// Evaluate scores the checkpoint and writes the scorecard.
func (a *Activities) Evaluate(ctx context.Context, in EvaluateInput) (EvaluateOutput, error) {
	activity.RecordHeartbeat(ctx, "evaluating")
	cfg := eval.Config{CheckpointDir: in.CheckpointDir, ShardManifest: in.ShardManifest, RunID: in.RunID, Backend: in.Backend}
	cfg.Replenish.Seed = in.Seed
	if err := cfg.Validate(); err != nil {
		return EvaluateOutput{}, permanent(ErrTypeInvalidConfig, err)
	}
	sc, err := eval.Evaluate(ctx, cfg)
	if err != nil {
		return EvaluateOutput{}, err
	}
	if err := os.MkdirAll(in.OutDir, 0o755); err != nil {
		return EvaluateOutput{}, err
	}
	js, err := json.MarshalIndent(sc, "", "  ")
	if err != nil {
		return EvaluateOutput{}, err
	}
	out := EvaluateOutput{
		ScorecardPath:      filepath.Join(in.OutDir, "scorecard.json"),
		MarkdownPath:       filepath.Join(in.OutDir, "scorecard.md"),
		BitsPerByte:        sc.HeldOut.BitsPerByte,
		UnigramBitsPerByte: sc.HeldOut.UnigramBitsPerByte,
	}
	if len(sc.Tasks) > 0 {
		out.ModelCost, out.BaselineCost, out.Gap = sc.Tasks[0].ModelCost, sc.Tasks[0].BestBaselineCost, sc.Tasks[0].Gap
	}
	if err := os.WriteFile(out.ScorecardPath, append(js, '\n'), 0o644); err != nil {
		return EvaluateOutput{}, fmt.Errorf("writing scorecard: %w", err)
	}
	if err := os.WriteFile(out.MarkdownPath, []byte(sc.Markdown()), 0o644); err != nil {
		return EvaluateOutput{}, fmt.Errorf("writing scorecard: %w", err)
	}
	if _, err := eval.WriteCharts(in.OutDir, sc); err != nil {
		return EvaluateOutput{}, fmt.Errorf("writing scorecard charts: %w", err)
	}
	return out, nil
}
