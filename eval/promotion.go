package eval

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Metric names a Summary carries. Every metric is lower-is-better.
const (
	// MetricBitsPerByte is the held-out next-token loss in bits per byte.
	MetricBitsPerByte = "heldout.bits_per_byte"
	// metricTaskCost is "<task>.model_cost": the model's cost per period on a decision task.
	metricTaskCost = "%s.model_cost"
)

// Summary is the part of a scorecard that champion/challenger promotion
// compares. It is small enough to live in a workflow's state and memo.
type Summary struct {
	RunID      string `json:"run_id"`
	Checkpoint string `json:"checkpoint"`
	Step       int    `json:"step"`
	// Metrics are all lower-is-better (see the Metric constants).
	Metrics map[string]float64 `json:"metrics"`
}

// Summary extracts the comparable metrics of s.
func (s Scorecard) Summary() Summary {
	m := map[string]float64{}
	if s.HeldOut != nil {
		m[MetricBitsPerByte] = s.HeldOut.BitsPerByte
	}
	for _, t := range s.Tasks {
		if t.ModelPolicy != "" {
			m[fmt.Sprintf(metricTaskCost, t.Name)] = t.ModelCost
		}
	}
	return Summary{RunID: s.RunID, Checkpoint: s.Checkpoint, Step: s.Step, Metrics: m}
}

// Validate reports what makes a summary unusable for a promotion decision.
func (s Summary) Validate() error {
	var errs []error
	if s.RunID == "" {
		errs = append(errs, errors.New("run_id: required"))
	}
	if len(s.Metrics) == 0 {
		errs = append(errs, errors.New("metrics: none"))
	}
	names := make([]string, 0, len(s.Metrics))
	for k := range s.Metrics {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if v := s.Metrics[k]; math.IsNaN(v) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Errorf("metrics.%s: %v is not finite", k, v))
		}
	}
	return errors.Join(errs...)
}

// PromotionRule decides whether a challenger replaces the champion: its
// primary metric must be better, and no other metric both share may be
// worse by more than MaxRegression.
type PromotionRule struct {
	// Primary is the deciding metric. Empty means MetricBitsPerByte.
	Primary string `json:"primary,omitempty"`
	// MaxRegression is the largest relative worsening allowed on any other
	// metric (0.05 = 5%). Zero means 0.05; negative means none allowed.
	MaxRegression float64 `json:"max_regression,omitempty"`
}

// WithDefaults returns r with zero fields set to their defaults.
func (r PromotionRule) WithDefaults() PromotionRule {
	if r.Primary == "" {
		r.Primary = MetricBitsPerByte
	}
	if r.MaxRegression == 0 {
		r.MaxRegression = 0.05
	}
	if r.MaxRegression < 0 {
		r.MaxRegression = 0
	}
	return r
}

// Decision is the outcome of a promotion rule, with its reasons in words.
type Decision struct {
	Promote bool     `json:"promote"`
	Reasons []string `json:"reasons"`
}

// Decide applies r to a challenger against the current champion (nil when
// there is none yet: the first valid challenger is promoted).
func (r PromotionRule) Decide(champion *Summary, challenger Summary) (Decision, error) {
	r = r.WithDefaults()
	if err := challenger.Validate(); err != nil {
		return Decision{}, fmt.Errorf("challenger: %w", err)
	}
	cv, ok := challenger.Metrics[r.Primary]
	if !ok {
		return Decision{}, fmt.Errorf("challenger %s has no primary metric %q", challenger.RunID, r.Primary)
	}
	if champion == nil {
		return Decision{Promote: true, Reasons: []string{"no champion yet"}}, nil
	}
	d := Decision{Promote: true}
	pv, ok := champion.Metrics[r.Primary]
	switch {
	case !ok:
		d.Reasons = append(d.Reasons, fmt.Sprintf("champion %s has no %s; the challenger's %.4g stands", champion.RunID, r.Primary, cv))
	case cv < pv:
		d.Reasons = append(d.Reasons, fmt.Sprintf("%s improves: %.4g < %.4g", r.Primary, cv, pv))
	default:
		d.Promote = false
		d.Reasons = append(d.Reasons, fmt.Sprintf("%s does not improve: %.4g >= %.4g", r.Primary, cv, pv))
	}
	names := make([]string, 0, len(challenger.Metrics))
	for k := range challenger.Metrics {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		old, ok := champion.Metrics[k]
		if k == r.Primary || !ok {
			continue
		}
		if v := challenger.Metrics[k]; v > old*(1+r.MaxRegression) && v > old {
			d.Promote = false
			d.Reasons = append(d.Reasons, fmt.Sprintf("%s regresses by more than %.0f%%: %.4g vs %.4g", k, 100*r.MaxRegression, v, old))
		}
	}
	return d, nil
}
