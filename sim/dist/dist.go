// Package dist draws from the distributions the simulations need and
// math/rand/v2 does not have: Poisson, Gamma, negative binomial and binomial
// counts. The generator and every synthetic series in the tests draw from
// these, so one sampler's correctness is everyone's.
package dist

import (
	"math"
	"math/rand/v2"
)

// Poisson draws from Poisson(lambda): Knuth's product of uniforms for means
// below 30, Hörmann's transformed rejection (PTRS, 1993, as numpy does) above,
// where the product would take too many draws and e^-λ underflows. Both are
// exact. lambda ≤ 0 (or NaN) draws 0.
func Poisson(r *rand.Rand, lambda float64) float64 {
	switch {
	case !(lambda > 0):
		return 0
	case lambda < 30:
		limit := math.Exp(-lambda)
		k, p := 0, r.Float64()
		for p > limit {
			k++
			p *= r.Float64()
		}
		return float64(k)
	}
	slam := math.Sqrt(lambda)
	loglam := math.Log(lambda)
	b := 0.931 + 2.53*slam
	a := -0.059 + 0.02483*b
	invAlpha := 1.1239 + 1.1328/(b-3.4)
	vr := 0.9277 - 3.6224/(b-2)
	for {
		u := r.Float64() - 0.5
		v := r.Float64()
		us := 0.5 - math.Abs(u)
		k := math.Floor((2*a/us+b)*u + lambda + 0.43)
		if us >= 0.07 && v <= vr {
			return k
		}
		if k < 0 || (us < 0.013 && v > us) {
			continue
		}
		lg, _ := math.Lgamma(k + 1)
		if math.Log(v)+math.Log(invAlpha)-math.Log(a/(us*us)+b) <= -lambda+k*loglam-lg {
			return k
		}
	}
}

// Gamma draws from Gamma(shape, 1) (Marsaglia and Tsang, 2000).
func Gamma(r *rand.Rand, shape float64) float64 {
	if shape < 1 {
		return Gamma(r, shape+1) * math.Pow(r.Float64(), 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		if math.Log(r.Float64()) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v
		}
	}
}

// NegBinomial draws a count of mean mu and variance mu + mu²/k: Poisson with a
// Gamma-distributed rate, the usual model of over-dispersed counts. k ≤ 0
// means Poisson.
func NegBinomial(r *rand.Rand, mu, k float64) float64 {
	if k <= 0 {
		return Poisson(r, mu)
	}
	return Poisson(r, mu*Gamma(r, k)/k)
}

// Binomial draws the successes of n trials of probability p: exactly for few
// trials, by the Poisson limit for rare successes, by the normal one otherwise.
func Binomial(r *rand.Rand, n, p float64) float64 {
	switch {
	case n < 50:
		k := 0.0
		for range int(n) {
			if r.Float64() < p {
				k++
			}
		}
		return k
	case p < 0.05:
		return math.Min(n, Poisson(r, n*p))
	default:
		return math.Max(0, math.Round(n*p+math.Sqrt(n*p*(1-p))*r.NormFloat64()))
	}
}
