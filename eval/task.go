package eval

import (
	"context"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// Task is one evaluation task: a decision problem with its references
// (replenish, multi-echelon) or a language-modelling score (next-event).
// Run plays the agent, where the task has a part for it, and every
// reference on the same random draws (common random numbers), so the
// differences between policies are not sampling noise. Run spreads its
// episodes over goroutines; the result does not depend on how many (or on
// GOMAXPROCS), because every episode draws from its own random stream and the
// episodes are summed in a fixed order.
type Task interface {
	// Name is the task's scorecard name, such as "replenish".
	Name() string
	// Params are the task's parameters, defaults applied, as recorded in
	// the scorecard.
	Params() map[string]any
	// Run scores the agent (its nil hooks skip the agent's part) and the references.
	Run(ctx context.Context, agent Agent) (TaskResult, error)
}

// Agent is what a task may ask of the model under evaluation. Every hook is
// optional: a task whose hook is nil reports its references alone.
type Agent struct {
	// Replenisher returns the policy that plays a replenishment task
	// described by spec. A policy that keeps state between decisions
	// implements Forker.
	Replenisher func(spec ReplenishSpec) (Policy, error)
	// Echelon returns the policy that plays the multi-echelon task whose
	// stage i is reached in leadTimes[i] days.
	Echelon func(leadTimes []int) (EchelonPolicy, error)
	// ETA returns a predictor of delivered days for the eta task; it is
	// called once per goroutine.
	ETA func() (ETAPredictor, error)
	// LM scores the next-event task on ShardManifest, decoding with Tokenizer.
	LM            LogitModel
	Tokenizer     Tokenizer
	ShardManifest string
}

// ModelAgent is the Agent of a loaded model: it plays replenishment through
// ModelPolicy, decides at every stage of a chain through
// EchelonModelPolicy, predicts delivery times through ModelETA and scores
// next-event on the shards at manifest.
func ModelAgent(m *Model, tok Tokenizer, manifest string) Agent {
	return Agent{
		Replenisher: func(spec ReplenishSpec) (Policy, error) {
			p, err := NewModelPolicy(m, tok, spec.LeadTime)
			if err != nil {
				return nil, err
			}
			p.Location, p.SKU, p.TargetCost7, p.Preamble, p.Median = spec.Location, spec.SKU, spec.TargetCost7, spec.Preamble, spec.Median
			return p, nil
		},
		Echelon: func(leadTimes []int) (EchelonPolicy, error) {
			return NewEchelonModelPolicy(m, tok, leadTimes)
		},
		ETA: func() (ETAPredictor, error) {
			return NewModelETA(m, tok)
		},
		LM:            m,
		Tokenizer:     tok,
		ShardManifest: manifest,
	}
}

// Forker is implemented by policies that keep state between decisions, such
// as ModelPolicy's key/value cache. The simulators play every episode on a
// fresh Fork, so episodes run in parallel and a policy's result does not
// depend on which episodes came before. A Policy that does not implement
// Forker is shared by all episodes at once and must be safe for concurrent use.
type Forker interface {
	Fork() Policy
}

// forEach calls f(0..n-1) on up to workers goroutines (zero or less means
// GOMAXPROCS) and returns the error of the lowest index that failed, so the
// outcome is the same however the calls interleave. Once a call fails, calls
// not yet started are skipped.
func forEach(ctx context.Context, n, workers int, f func(i int) error) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)
	errs := make([]error, n)
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || failed.Load() {
					return
				}
				if err := ctx.Err(); err != nil {
					errs[i] = err
					failed.Store(true)
					return
				}
				if errs[i] = f(i); errs[i] != nil {
					failed.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// ci95 is the half-width of the 95% confidence interval of the mean of xs
// (Student's t, n-1 degrees of freedom); zero for fewer than two values.
func ci95(xs []float64) float64 {
	n := len(xs)
	if n < 2 {
		return 0
	}
	var mean float64
	for _, x := range xs {
		mean += x
	}
	mean /= float64(n)
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return tQuantile975(n-1) * math.Sqrt(ss/float64(n-1)/float64(n))
}

// tQuantile975 is the 0.975 quantile of Student's t with df degrees of
// freedom: a table to 30, then the Cornish-Fisher expansion around the
// normal's 1.96, which is within 1e-3 beyond it.
func tQuantile975(df int) float64 {
	table := [...]float64{0, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
		2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
		2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}
	if df < 1 {
		return math.Inf(1)
	}
	if df < len(table) {
		return table[df]
	}
	z, v := 1.959964, float64(df)
	return z + (z*z*z+z)/(4*v) + (5*math.Pow(z, 5)+16*z*z*z+3*z)/(96*v*v)
}
