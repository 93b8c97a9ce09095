package eval

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Chart sizes.
const (
	chartWidth  = 8 * vg.Inch
	chartHeight = 4.5 * vg.Inch
	// etaErrorClip folds larger ETA errors into the outermost bars.
	etaErrorClip = 30
)

// WriteCharts draws the scorecard's PNG charts into dir (created when
// missing) and returns their paths:
//   - cost-<task>.png for every task: each policy's cost (per day, bits per
//     byte or MAE in days, as the task's unit says), the model first;
//   - eta-errors.png for the eta task: the error distribution (predicted
//     minus actual days) of the model, when it played, and of the best
//     baseline, errors beyond ±30 days folded into the end bars;
//   - loss.png when the scorecard has a loss curve.
func WriteCharts(dir string, sc Scorecard) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("eval: charts: %w", err)
	}
	var paths []string
	save := func(p *plot.Plot, name string) error {
		path := filepath.Join(dir, name)
		if err := p.Save(chartWidth, chartHeight, path); err != nil {
			return fmt.Errorf("eval: chart %s: %w", name, err)
		}
		paths = append(paths, path)
		return nil
	}
	for _, t := range sc.Tasks {
		p, err := costChart(t)
		if err != nil {
			return paths, err
		}
		if p != nil {
			if err := save(p, "cost-"+fileSafe(t.Name)+".png"); err != nil {
				return paths, err
			}
		}
		if t.ETA != nil {
			p, err := etaErrorChart(t)
			if err != nil {
				return paths, err
			}
			if err := save(p, "eta-errors.png"); err != nil {
				return paths, err
			}
		}
	}
	if len(sc.LossCurve) > 0 {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("Training loss, run %s", orDash(sc.RunID))
		p.X.Label.Text = "step"
		p.Y.Label.Text = "loss"
		xy := make(plotter.XYs, len(sc.LossCurve))
		for i, pt := range sc.LossCurve {
			xy[i].X, xy[i].Y = float64(pt.Step), pt.Loss
		}
		line, err := plotter.NewLine(xy)
		if err != nil {
			return paths, fmt.Errorf("eval: loss chart: %w", err)
		}
		p.Add(line, plotter.NewGrid())
		if err := save(p, "loss.png"); err != nil {
			return paths, err
		}
	}
	return paths, nil
}

// costChart is a bar per policy; nil when the task has no scores.
func costChart(t TaskResult) (*plot.Plot, error) {
	var names []string
	var vals plotter.Values
	switch {
	case t.NextEvent != nil:
		h := t.NextEvent
		names = []string{"model", "bigram", "unigram"}
		vals = plotter.Values{h.BitsPerByte, h.BigramBitsPerByte, h.UnigramBitsPerByte}
	default:
		for _, p := range t.Policies {
			names = append(names, p.Name)
			vals = append(vals, p.CostPerDay)
		}
	}
	if len(vals) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "Task " + t.Name
	switch t.Unit {
	case UnitBitsPerByte:
		p.Y.Label.Text = "bits per byte (lower is better)"
	case UnitMAEDays:
		p.Y.Label.Text = "MAE in days (lower is better)"
	default:
		p.Y.Label.Text = "cost per day (lower is better)"
	}
	bars, err := plotter.NewBarChart(vals, vg.Points(28))
	if err != nil {
		return nil, fmt.Errorf("eval: cost chart %s: %w", t.Name, err)
	}
	bars.Color = plotutil.Color(0)
	bars.LineStyle.Width = 0
	p.Add(bars, plotter.NewGrid())
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.5, float64(len(vals))-0.5
	p.Y.Min, p.Y.Max = 0, p.Y.Max*1.1
	p.X.Tick.Label.Rotation = 0.5
	p.X.Tick.Label.XAlign = -0.9
	return p, nil
}

// etaErrorChart is the error histogram of the model and the best baseline.
func etaErrorChart(t TaskResult) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "ETA error distribution (predicted − actual days)"
	p.X.Label.Text = "error in days"
	p.Y.Label.Text = "orders"
	var show []ETAScore
	for _, s := range t.ETA.Predictors {
		if s.Name == t.ModelPolicy || s.Name == t.BestBaseline {
			show = append(show, s)
		}
	}
	w := vg.Points(5)
	for i, s := range show {
		vals := make(plotter.Values, 2*etaErrorClip+1)
		for _, b := range s.Errors {
			d := max(-etaErrorClip, min(etaErrorClip, b.Days))
			vals[d+etaErrorClip] += float64(b.Count)
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return nil, fmt.Errorf("eval: eta chart: %w", err)
		}
		bars.Color = plotutil.Color(i)
		bars.LineStyle.Width = 0
		bars.Offset = vg.Length(i)*w - w/2*vg.Length(len(show)-1)
		p.Add(bars)
		p.Legend.Add(fmt.Sprintf("%s (MAE %.2f)", s.Name, s.MAE), bars)
	}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	labels := make([]string, 2*etaErrorClip+1)
	for i := range labels {
		if d := i - etaErrorClip; d%5 == 0 {
			labels[i] = fmt.Sprint(d)
		}
	}
	p.NominalX(labels...)
	p.X.Min, p.X.Max = -1, 2*etaErrorClip+1
	p.Y.Min, p.Y.Max = 0, p.Y.Max*1.1
	p.BackgroundColor = color.White
	return p, nil
}

// fileSafe keeps letters, digits, '-' and '_'.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, s)
}
