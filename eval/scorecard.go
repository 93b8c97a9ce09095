package eval

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// ScorecardSchema names the scorecard's JSON layout; ScorecardVersion is its
// number, bumped when a field changes meaning.
const (
	ScorecardSchema  = "supplyline.scorecard/v1"
	ScorecardVersion = 1
)

// Scorecard is the result of evaluating one checkpoint. It is small, plain
// JSON: a workflow can pass it around, and champion/challenger promotion
// compares two of them.
type Scorecard struct {
	Schema     string `json:"schema"`
	Version    int    `json:"version"`
	RunID      string `json:"run_id"`
	Checkpoint string `json:"checkpoint"`
	Step       int    `json:"step"`
	// Backend is the training backend that produced the checkpoint.
	Backend   string       `json:"backend,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
	Tasks     []TaskResult `json:"tasks"`
	// HeldOut is nil when held-out scoring was switched off.
	HeldOut *HeldOut `json:"heldout,omitempty"`
	// LossCurve is the training loss by step, when the caller supplied it
	// (Config.LossCurve); WriteCharts draws it.
	LossCurve []LossPoint `json:"loss_curve,omitempty"`
}

// LossPoint is the training loss at one optimiser step.
type LossPoint struct {
	Step int     `json:"step"`
	Loss float64 `json:"loss"`
}

// Units of TaskResult costs.
const (
	UnitCostPerDay  = "cost_per_day"
	UnitBitsPerByte = "bits_per_byte"
)

// TaskResult is one task: every policy's score, and the model's standing
// against the best baseline and the optimum. Costs are per day for the
// decision tasks and bits per byte for next-event (Unit says which; empty
// means per day); lower is better in both. Gaps are relative, (model -
// reference) / reference, so 0.25 means the model costs 25% more.
type TaskResult struct {
	Name   string         `json:"name"`
	Params map[string]any `json:"params"`
	Unit   string         `json:"unit,omitempty"`
	// Policies are scored on the same demand paths, the model first.
	Policies []PolicyResult `json:"policies"`
	// ModelPolicy names the model's entry in Policies; empty when no model
	// played, and then ModelCost and Gap are zero.
	ModelPolicy      string  `json:"model_policy,omitempty"`
	ModelCost        float64 `json:"model_cost"`
	BestBaseline     string  `json:"best_baseline"`
	BestBaselineCost float64 `json:"best_baseline_cost"`
	Gap              float64 `json:"gap"`
	// ModelDiffCI95 is the 95% half-width of the model's cost minus the best
	// baseline's, paired episode by episode on the same demand (common
	// random numbers); nil when no model played or the task has no episodes.
	ModelDiffCI95 *float64 `json:"model_diff_ci95,omitempty"`
	// OptimumCost is the DP-optimal policy's cost on the same demand paths,
	// so it compares with the other policies without sampling noise;
	// OptimumExpectedCost is its exact expectation. Both are nil, and
	// OptimumNote says why, when the task has no exact optimum.
	OptimumCost         *float64 `json:"optimum_cost,omitempty"`
	OptimumExpectedCost *float64 `json:"optimum_expected_cost,omitempty"`
	GapToOptimum        *float64 `json:"gap_to_optimum,omitempty"`
	OptimumNote         string   `json:"optimum_note,omitempty"`
	// LoggingPolicy names the policy that logged the training data among
	// Policies (replenish only) and LoggingCost its cost on the same paths.
	LoggingPolicy string   `json:"logging_policy,omitempty"`
	LoggingCost   *float64 `json:"logging_cost,omitempty"`
	// NextEvent is the next-event task's full result; nil for other tasks.
	NextEvent *HeldOut `json:"next_event,omitempty"`
	// ETA is the eta task's full result; nil for other tasks. Its Policies
	// carry each predictor's MAE in days as CostPerDay (Unit UnitMAEDays),
	// its fallbacks as InvalidActions and its test orders as Decisions.
	ETA *ETAResult `json:"eta,omitempty"`
}

// Markdown renders the scorecard for people: a table per task and the
// standing of the model in words.
func (s Scorecard) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Scorecard: run %s, step %d\n\n", orDash(s.RunID), s.Step)
	fmt.Fprintf(&b, "Checkpoint `%s`, evaluated %s (%s v%d).\n", s.Checkpoint, s.CreatedAt.UTC().Format(time.RFC3339), s.Schema, s.Version)
	if s.Backend != "" {
		fmt.Fprintf(&b, "Trained on backend `%s`.\n", s.Backend)
	}
	for _, t := range s.Tasks {
		fmt.Fprintf(&b, "\n## Task %s\n\n", t.Name)
		if len(t.Params) > 0 {
			keys := make([]string, 0, len(t.Params))
			for k := range t.Params {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			parts := make([]string, len(keys))
			for i, k := range keys {
				v := fmt.Sprint(t.Params[k])
				if js, err := json.Marshal(t.Params[k]); err == nil {
					v = string(js)
				}
				parts[i] = fmt.Sprintf("%s=%s", k, v)
			}
			fmt.Fprintf(&b, "Parameters: %s.\n\n", strings.Join(parts, ", "))
		}
		if t.NextEvent != nil {
			nextEventMarkdown(&b, *t.NextEvent)
			continue
		}
		if t.ETA != nil {
			etaMarkdown(&b, t)
			continue
		}
		b.WriteString("| policy | cost per day (simulated) | ±95% CI | exact expected cost | fill rate | invalid actions | capped orders |\n|---|---:|---:|---:|---:|---:|---:|\n")
		for _, p := range t.Policies {
			exact := "-"
			if p.ExpectedCost != nil {
				exact = fmt.Sprintf("%.3f", *p.ExpectedCost)
			}
			fmt.Fprintf(&b, "| %s | %.3f | %.3f | %s | %.1f%% | %d of %d | %d |\n", p.Name, p.CostPerDay, p.CostCI95, exact, 100*p.FillRate, p.InvalidActions, p.Decisions, p.CappedActions)
		}
		b.WriteString("\nSimulated costs share the same demand paths (common random numbers); the CI is over episodes. Exact expected costs come from the stationary distribution of each policy's Markov chain.\n\n")
		if t.ModelPolicy != "" {
			fmt.Fprintf(&b, "The model costs %.3f per day; the best baseline, %s, costs %.3f, so the model is %s it.",
				t.ModelCost, t.BestBaseline, t.BestBaselineCost, gapWords(t.Gap))
			if t.ModelDiffCI95 != nil {
				fmt.Fprintf(&b, " The paired difference, %+.3f per day, has a 95%% half-width of %.3f.", t.ModelCost-t.BestBaselineCost, *t.ModelDiffCI95)
			}
			if t.OptimumCost != nil {
				fmt.Fprintf(&b, " The provable optimum (dynamic programming) costs %.3f per day on the same demand", *t.OptimumCost)
				if t.GapToOptimum != nil {
					fmt.Fprintf(&b, ", and the model is %s it", gapWords(*t.GapToOptimum))
				}
				b.WriteString(".")
			}
			b.WriteString("\n")
			b.WriteString(optimumExpectation(t))
			b.WriteString(replenishGoals(t))
			for _, p := range t.Policies {
				if p.Name == t.ModelPolicy && p.InvalidActions > 0 {
					fmt.Fprintf(&b, "\nThe model failed to state an order in %d of %d decisions (%.1f%%); each counted as ordering nothing.\n",
						p.InvalidActions, p.Decisions, 100*float64(p.InvalidActions)/float64(max(p.Decisions, 1)))
				}
			}
		} else {
			fmt.Fprintf(&b, "No model played. The best baseline, %s, costs %.3f per day.", t.BestBaseline, t.BestBaselineCost)
			if t.OptimumCost != nil {
				fmt.Fprintf(&b, " The provable optimum costs %.3f per day.", *t.OptimumCost)
			}
			b.WriteString("\n")
			b.WriteString(optimumExpectation(t))
		}
		if t.OptimumCost == nil && t.OptimumNote != "" {
			fmt.Fprintf(&b, "\nNo exact optimum: %s.\n", t.OptimumNote)
		}
	}
	if h := s.HeldOut; h != nil && !s.hasTask(NextEventTaskName) {
		b.WriteString("\n## Held-out loss\n\n")
		fmt.Fprintf(&b, "On %d validation tokens (%d bytes of text, %d documents) the model scores %.4f bits per byte; a unigram model of the training tokens scores %.4f.",
			h.Tokens, h.Bytes, h.Docs, h.BitsPerByte, h.UnigramBitsPerByte)
		if h.UnigramBitsPerByte > 0 {
			fmt.Fprintf(&b, " The model needs %.1f%% of the unigram's bits.", 100*h.BitsPerByte/h.UnigramBitsPerByte)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (s Scorecard) hasTask(name string) bool {
	for _, t := range s.Tasks {
		if t.Name == name {
			return true
		}
	}
	return false
}

// nextEventMarkdown renders the next-event task: the model against the
// unigram and bigram baselines on the same targets.
func nextEventMarkdown(b *strings.Builder, h HeldOut) {
	fmt.Fprintf(b, "On %d validation tokens (%d bytes of text, %d documents):\n\n", h.Tokens, h.Bytes, h.Docs)
	b.WriteString("| predictor | bits per byte | perplexity per token | top-1 accuracy |\n|---|---:|---:|---:|\n")
	fmt.Fprintf(b, "| model | %.4f | %.3f | %.1f%% |\n", h.BitsPerByte, h.Perplexity, 100*h.Top1Accuracy)
	fmt.Fprintf(b, "| bigram (train split, add-one) | %.4f | %.3f | %.1f%% |\n", h.BigramBitsPerByte, h.BigramPerplexity, 100*h.BigramTop1Accuracy)
	fmt.Fprintf(b, "| unigram (train split, add-one) | %.4f | %.3f | %.1f%% |\n", h.UnigramBitsPerByte, h.UnigramPerplexity, 100*h.UnigramTop1Accuracy)
	if best := math.Min(h.UnigramBitsPerByte, h.BigramBitsPerByte); best > 0 {
		fmt.Fprintf(b, "\nThe model needs %.1f%% of the best baseline's bits.\n", 100*h.BitsPerByte/best)
	}
}

// etaMarkdown renders the eta task: every predictor's MAE and accuracy on
// the same test orders.
func etaMarkdown(b *strings.Builder, t TaskResult) {
	r := t.ETA
	fmt.Fprintf(b, "Split at %s: %d train orders, %d test orders (%d straddling the cutoff and %d without a delivery left out).\n\n",
		r.Cutoff.UTC().Format(time.RFC3339), r.TrainOrders, r.TestOrders, r.Straddling, r.Undelivered)
	b.WriteString("| predictor | MAE (days) | within ±2 days | fallbacks to the global median |\n|---|---:|---:|---:|\n")
	for _, p := range r.Predictors {
		fmt.Fprintf(b, "| %s | %.3f | %.1f%% | %d of %d |\n", p.Name, p.MAE, 100*p.Within2, p.Fallbacks, p.Orders)
	}
	if t.ModelPolicy != "" {
		fmt.Fprintf(b, "\nThe model's MAE is %.3f days; the best baseline, %s, has %.3f, so the model is %s it (in error).\n",
			t.ModelCost, t.BestBaseline, t.BestBaselineCost, gapWords(t.Gap))
	} else {
		fmt.Fprintf(b, "\nNo model played. The best baseline, %s, has an MAE of %.3f days.\n", t.BestBaseline, t.BestBaselineCost)
	}
}

// optimumExpectation states the optimum's exact expected cost, and says
// that a baseline beating the optimum on the sampled paths is noise.
func optimumExpectation(t TaskResult) string {
	if t.OptimumExpectedCost == nil {
		return ""
	}
	s := fmt.Sprintf("\nThe optimum's exact expected cost is %.3f per day.", *t.OptimumExpectedCost)
	if t.OptimumCost != nil && *t.OptimumCost > t.BestBaselineCost {
		s += " On these sampled demand paths a baseline did better than the optimal policy; that is sampling noise, and more episodes shrink it."
	}
	return s + "\n"
}

// gapWords says a relative gap in words: "12.5% more expensive than".
func gapWords(g float64) string {
	switch {
	case g > 0.0005:
		return fmt.Sprintf("%.1f%% more expensive than", 100*g)
	case g < -0.0005:
		return fmt.Sprintf("%.1f%% cheaper than", -100*g)
	default:
		return "as good as"
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// replenishGoals states the replenish task's goals for the model: within 5%
// of the optimum, and cheaper than the policy that logged its training data.
func replenishGoals(t TaskResult) string {
	if t.ModelPolicy == "" || (t.GapToOptimum == nil && t.LoggingCost == nil) {
		return ""
	}
	var b strings.Builder
	b.WriteString("\nGoals:")
	if t.GapToOptimum != nil {
		fmt.Fprintf(&b, " within 5%% of the optimum: %s (%+.1f%%);", metWord(*t.GapToOptimum <= 0.05), 100**t.GapToOptimum)
	}
	if t.LoggingCost != nil {
		fmt.Fprintf(&b, " cheaper than the logging policy %s (%.3f): %s.", t.LoggingPolicy, *t.LoggingCost, metWord(t.ModelCost < *t.LoggingCost))
	}
	b.WriteString("\n")
	return b.String()
}

func metWord(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}
