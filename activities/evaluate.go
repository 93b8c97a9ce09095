package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/eval"
	"github.com/supplyline/supplyline/tokenize"
	"github.com/supplyline/supplyline/train"
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
	// Options picks the tasks and their data.
	Options EvalOptions
	// Cutoff is the run's train/validation split; the eta task's test
	// orders are those placed at or after it, so that it scores orders the
	// model never trained on.
	Cutoff time.Time
	// CanonicalDir is the run's ingest output (day partitions). With a
	// world, the replenish agent's prompt starts with its series' last
	// PreambleDays logged days before Cutoff, rendered as in training.
	CanonicalDir string
}

// PreambleDays is how many logged days before the cutoff the replenish
// agent is shown; the model's context keeps the latest that fit.
const PreambleDays = 28

// EvalOptions says what a run's evaluation scores, beyond the defaults.
type EvalOptions struct {
	// World is the world.json of the synthetic world the inputs were
	// generated from (dataset.GenSummary). The replenish task then plays one
	// of its series: the same demand process, lead time, costs and logged
	// policy that its training data came from. Empty means eval's default
	// process (stationary Poisson, mean 5, lead time 2); `supplyline run`
	// and the demo fill it in when an input directory holds a world.json.
	World string `json:"world,omitempty"`
	// Series names the world's series as "LOCATION/SKU". Empty means
	// eval.DefaultWorldSeries: the first series with an exact optimum whose
	// logged decisions vary, else the first with an exact optimum, else the
	// first series.
	Series string `json:"series,omitempty"`
	// Tasks lists the tasks to run (eval.Config.Tasks). Empty means eval's
	// defaults, plus eta when ETAEvents is set.
	Tasks []string `json:"tasks,omitempty"`
	// ETAEvents is a directory of canonical events of real orders with
	// delivery dates (an Olist or mapped import, also among the run's
	// inputs so that orders before the cutoff are trained on). Empty skips
	// the eta task.
	ETAEvents string `json:"eta_events,omitempty"`
	// ETASellers is a CSV of seller_id,seller_state for the route baseline.
	ETASellers string `json:"eta_sellers,omitempty"`
	// Episodes is the number of scored demand paths of the simulated
	// tasks. Zero means eval's default.
	Episodes int `json:"episodes,omitempty"`
}

// ReplenishTask is the replenish task o describes: a series of the world
// when World is set, else eval's default. With canonicalDir and cutoff set
// (a run's ingest output and its split), the agent's prompt starts with the
// series' last PreambleDays logged days before cutoff. Errors in o wrap
// eval.ErrInvalidConfig.
func (o EvalOptions) ReplenishTask(ctx context.Context, canonicalDir string, cutoff time.Time) (eval.ReplenishTask, error) {
	task, err := o.replenishTask()
	if err != nil {
		return task, err
	}
	if task.Location != "" && canonicalDir != "" && !cutoff.IsZero() {
		if task.Preamble, err = seriesPreamble(ctx, canonicalDir, task.Location, task.SKU, cutoff, PreambleDays); err != nil {
			return task, err
		}
	}
	return task, nil
}

// replenishTask builds the replenish task of o: a series of the world when
// World is set, else eval's default.
func (o EvalOptions) replenishTask() (eval.ReplenishTask, error) {
	t := eval.ReplenishTask{Episodes: o.Episodes}
	if o.World == "" {
		if o.Series != "" {
			return t, fmt.Errorf("%w: eval.series %q needs eval.world", eval.ErrInvalidConfig, o.Series)
		}
		return t, nil
	}
	b, err := os.ReadFile(o.World)
	if err != nil {
		return t, fmt.Errorf("%w: eval.world: %w", eval.ErrInvalidConfig, err)
	}
	var world dataset.GenSummary
	if err := json.Unmarshal(b, &world); err != nil {
		return t, fmt.Errorf("%w: eval.world %s: %w", eval.ErrInvalidConfig, o.World, err)
	}
	loc, sku, ok := "", "", false
	if o.Series != "" {
		loc, sku, ok = strings.Cut(o.Series, "/")
		if !ok {
			return t, fmt.Errorf("%w: eval.series %q: want LOCATION/SKU", eval.ErrInvalidConfig, o.Series)
		}
	} else if loc, sku, ok = eval.DefaultWorldSeries(world, ""); !ok {
		return t, fmt.Errorf("%w: eval.world %s: the world has no series", eval.ErrInvalidConfig, o.World)
	}
	st, err := eval.ReplenishTaskForSeries(world, loc, sku)
	if err != nil {
		return t, fmt.Errorf("eval.world %s: %w", o.World, err)
	}
	st.Episodes = o.Episodes
	return st, nil
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
	cfg := eval.Config{CheckpointDir: in.CheckpointDir, ShardManifest: in.ShardManifest, RunID: in.RunID, Backend: in.Backend,
		Tasks: in.Options.Tasks}
	task, err := in.Options.ReplenishTask(ctx, in.CanonicalDir, in.Cutoff)
	if errors.Is(err, eval.ErrInvalidConfig) {
		return EvaluateOutput{}, permanent(ErrTypeInvalidConfig, err)
	}
	if err != nil {
		return EvaluateOutput{}, err
	}
	cfg.Replenish = task
	cfg.Replenish.Seed = in.Seed
	if in.Options.ETAEvents != "" {
		cfg.ETA = eval.ETATask{EventsDir: in.Options.ETAEvents, SellersFile: in.Options.ETASellers, Cutoff: in.Cutoff}
		if len(cfg.Tasks) == 0 {
			cfg.Tasks = append(append([]string(nil), eval.DefaultTasks...), eval.ETATaskName)
		}
	}
	if curve, err := lossCurve(in.CheckpointDir); err == nil {
		cfg.LossCurve = curve
	} else {
		activity.GetLogger(ctx).Warn("no loss curve for the scorecard", "checkpoint", in.CheckpointDir, "error", err)
	}
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

// lossCurve reads the training loss curve from the checkpoint's state.json
// (dir is a checkpoint or a checkpoint root with a "latest" file).
func lossCurve(dir string) ([]eval.LossPoint, error) {
	if _, err := os.Stat(filepath.Join(dir, train.StateFile)); err != nil {
		latest, err := train.LatestCheckpoint(dir)
		if err != nil {
			return nil, err
		}
		if latest == "" {
			return nil, fmt.Errorf("%s has no %s and no %s", dir, train.StateFile, train.LatestFile)
		}
		dir = latest
	}
	st, err := train.ReadState(dir)
	if err != nil {
		return nil, err
	}
	if len(st.LossCurve) == 0 {
		return nil, fmt.Errorf("%s records no loss curve", filepath.Join(dir, train.StateFile))
	}
	curve := make([]eval.LossPoint, len(st.LossCurve))
	for i, p := range st.LossCurve {
		curve[i] = eval.LossPoint{Step: int(p[0]), Loss: p[1]}
	}
	return curve, nil
}

// seriesPreamble renders the days of series loc/sku in the days partitions
// before cutoff (day partitions date=YYYY-MM-DD of the canonical output)
// and returns its day lines, oldest first, as the training text has them:
// the same renderer, so the same fields and the same rule for c7 at the
// cutoff.
func seriesPreamble(ctx context.Context, canonicalDir, loc, sku string, cutoff time.Time, days int) ([]string, error) {
	var evs []dataset.Event
	for d := days; d >= 1; d-- {
		dir := filepath.Join(canonicalDir, "date="+cutoff.UTC().AddDate(0, 0, -d).Format("2006-01-02"))
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		day, err := dataset.ReadEvents(ctx, dir)
		if err != nil {
			return nil, fmt.Errorf("replenish preamble: %w", err)
		}
		for _, e := range day {
			if e.Location == loc && e.SKU == sku {
				evs = append(evs, e)
			}
		}
	}
	train, _, _, err := tokenize.Render(evs, cutoff)
	if err != nil {
		return nil, fmt.Errorf("replenish preamble: %w", err)
	}
	key := "inv/" + loc + "/" + sku
	for _, d := range train {
		if d.Key != key {
			continue
		}
		lines := strings.SplitAfter(d.Text, "\n")
		var out []string
		for _, l := range lines[1:] { // the header is the policy's own
			if l != "" {
				out = append(out, l)
			}
		}
		return out, nil
	}
	return nil, nil
}
