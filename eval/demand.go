package eval

import (
	"fmt"
	"math"

	"github.com/supplyline/supplyline/dataset"
)

// Stationary daily demand as an exact distribution. A dataset.DemandProcess
// without weekly, yearly or trend terms draws independent, identically
// distributed days: Poisson(m), or negative binomial when Dispersion is set
// (the simulator's gamma-Poisson mixture with shape k = 1/Dispersion, which
// is NB(r = k, mean m)), and with promotions a two-point mixture of the mean
// m and m*PromoLift. The dynamic program, the stationary analysis of fixed
// policies and the newsvendor quantile all use this distribution, so they
// agree with the simulator wherever it samples exactly: the simulator's
// Poisson draw switches to a normal approximation above mean 60, and
// demandPMF refuses (ErrNoOptimum) any process whose mixing mean exceeds 60
// with more than negligible probability.

// stationaryDemand reports whether every day of d has the same distribution.
func stationaryDemand(d dataset.DemandProcess) bool {
	return d.WeeklyAmp == 0 && d.YearlyAmp == 0 && d.Trend == 0
}

// demandComponents are the (weight, mean) pairs of the daily mixture.
func demandComponents(d dataset.DemandProcess) [][2]float64 {
	if d.PromoProb > 0 && d.PromoLift != 1 {
		return [][2]float64{{1 - d.PromoProb, d.Base}, {d.PromoProb, d.Base * d.PromoLift}}
	}
	return [][2]float64{{1, d.Base}}
}

// dailyMean is the exact mean daily demand of a stationary process, promotions included.
func dailyMean(d dataset.DemandProcess) float64 {
	var m float64
	for _, c := range demandComponents(d) {
		m += c[0] * c[1]
	}
	return m
}

// checkExactDemand returns ErrNoOptimum when d is not stationary or the
// simulator would sample it through its normal approximation. The
// negative-binomial bound m(1+10*sqrt(Dispersion)) <= 60, with Dispersion <= 1,
// puts the gamma mixing mean above 60 with probability below about 1e-5.
func checkExactDemand(d dataset.DemandProcess) error {
	if !stationaryDemand(d) {
		return fmt.Errorf("%w: demand %+v is not stationary (weekly, yearly or trend terms)", ErrNoOptimum, d)
	}
	if d.Dispersion > 1 {
		return fmt.Errorf("%w: dispersion %g above 1, where the simulator's normal approximation is not negligible", ErrNoOptimum, d.Dispersion)
	}
	for _, c := range demandComponents(d) {
		if c[0] == 0 {
			continue
		}
		if top := c[1] * (1 + 10*math.Sqrt(d.Dispersion)); top > 60 {
			return fmt.Errorf("%w: mean demand %g reaches %g, above 60, where the simulator samples a normal approximation", ErrNoOptimum, c[1], top)
		}
	}
	return nil
}

// demandPMF returns P(D = k) for k in [0, n] of one day of d, which must be stationary.
func demandPMF(d dataset.DemandProcess, n int) []float64 {
	out := make([]float64, n+1)
	for _, c := range demandComponents(d) {
		w, m := c[0], c[1]
		if w == 0 {
			continue
		}
		if m <= 0 {
			out[0] += w
			continue
		}
		if d.Dispersion > 0 {
			// NB(r, p): P(0) = (r/(r+m))^r, P(k+1) = P(k) (r+k)/(k+1) m/(r+m).
			r := 1 / d.Dispersion
			p := math.Exp(r * math.Log(r/(r+m)))
			for k := 0; k <= n; k++ {
				out[k] += w * p
				p *= (r + float64(k)) / float64(k+1) * m / (r + m)
			}
			continue
		}
		p := math.Exp(-m)
		for k := 0; k <= n; k++ {
			out[k] += w * p
			p *= m / float64(k+1)
		}
	}
	return out
}

// convolvePow returns the pmf on [0, n] of the sum of days independent
// draws from pmf (itself on [0, n] at least).
func convolvePow(pmf []float64, days, n int) []float64 {
	out := make([]float64, n+1)
	out[0] = 1
	for i := 0; i < days; i++ {
		next := make([]float64, n+1)
		for a, pa := range out {
			if pa == 0 {
				continue
			}
			for b := 0; a+b <= n && b < len(pmf); b++ {
				next[a+b] += pa * pmf[b]
			}
		}
		out = next
	}
	return out
}

// demandQuantile is the smallest k with P(D_1 + ... + D_days <= k) >= q for
// stationary d: the critical fractile of the demand over days days.
func demandQuantile(d dataset.DemandProcess, days int, q float64) int {
	mean := dailyMean(d) * float64(days)
	sd := math.Sqrt(mean + d.Dispersion*mean*mean)
	n := int(math.Ceil(mean+8*sd)) + 16
	for {
		pmf := convolvePow(demandPMF(d, n), days, n)
		var cdf float64
		for k, p := range pmf {
			cdf += p
			if cdf >= q {
				return k
			}
		}
		if n > 1<<20 {
			return n
		}
		n *= 2
	}
}
