package dataset

import (
	"math"
	"math/rand/v2"
)

// DemandProcess is the daily demand of one (location, SKU). The synthetic
// world draws store demand from it, and eval's simulators draw from the very
// same process, so that training data and decision tasks agree.
//
// With Trend, Promo and Dispersion zero the process is "known": stationary
// Poisson (or periodic with WeeklyAmp), and eval's dynamic-programming optimum is exact.
type DemandProcess struct {
	// Base is the mean daily demand before seasonality, in units.
	Base float64 `json:"base"`
	// WeeklyAmp is the relative amplitude of the weekly cycle (0.3 = ±30%).
	WeeklyAmp float64 `json:"weekly_amp"`
	// YearlyAmp is the relative amplitude of the yearly cycle.
	YearlyAmp float64 `json:"yearly_amp"`
	// Trend is the relative growth per year.
	Trend float64 `json:"trend"`
	// PromoLift multiplies the mean on promotion days; PromoProb is their daily probability.
	PromoLift float64 `json:"promo_lift"`
	PromoProb float64 `json:"promo_prob"`
	// Dispersion is the negative-binomial over-dispersion (variance = mean + Dispersion*mean²); 0 is Poisson.
	Dispersion float64 `json:"dispersion"`
}

// Mean is the expected demand on day (days since the world's start), without promotions.
func (d DemandProcess) Mean(day int) float64 {
	m := d.Base * (1 + d.Trend*float64(day)/365)
	m *= 1 + d.WeeklyAmp*math.Sin(2*math.Pi*float64(day%7)/7)
	m *= 1 + d.YearlyAmp*math.Sin(2*math.Pi*float64(day%365)/365)
	return math.Max(m, 0)
}

// Sample draws the demand of day; promo reports whether the day was a promotion.
func (d DemandProcess) Sample(rng *rand.Rand, day int) (units int, promo bool) {
	m := d.Mean(day)
	if d.PromoProb > 0 && rng.Float64() < d.PromoProb {
		promo = true
		m *= d.PromoLift
	}
	if d.Dispersion > 0 && m > 0 {
		// Gamma-Poisson mixture: shape k = 1/Dispersion, scale m/k.
		k := 1 / d.Dispersion
		m = gamma(rng, k) * m / k
	}
	return poisson(rng, m), promo
}

// poisson draws from Poisson(mean): inversion for small means, a rounded
// normal approximation above 60 where inversion gets slow.
func poisson(rng *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean > 60 {
		return max(0, int(math.Round(mean+math.Sqrt(mean)*rng.NormFloat64())))
	}
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// gamma draws from Gamma(shape, 1) by Marsaglia and Tsang.
func gamma(rng *rand.Rand, shape float64) float64 {
	if shape < 1 {
		return gamma(rng, shape+1) * math.Pow(rng.Float64(), 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v
		}
	}
}
