package detectors

import "math"

// baseline is what a term's own history predicts for the bucket being judged.
//
// The model is Holt's linear smoothing (a level and a trend), made robust in the
// way of Gelper, Fried and Croux (2010): each bucket's forecast error is clipped at
// Clip spreads before it updates the level and trend, so one surge in the history
// barely moves the baseline. Because the trend is learnt, a term that grows slowly
// or follows a smooth daily bump is forecast where it is going, not where it was;
// a plain lagging mean would call every ramp a surge.
//
// The spread is a dispersion index: an exponentially weighted mean of squared
// (clipped) forecast errors divided by the forecast, i.e. variance per unit of
// mean. Count series are over-dispersed, so this is typically well above 1; it is
// never taken below 1, the Poisson floor, because no count is less noisy than
// Poisson. Keeping the ratio rather than the variance lets the spread follow the
// level through a diurnal cycle.
type baseline struct {
	next float64 // expected count of the current bucket, floored at MinExpected
	disp float64 // dispersion index for next, >= 1, inflated for the level's own error

	// The short-window test judges the sum of the last w buckets (w-1 of history
	// and the current one) against the forecast made before them.
	w         int
	winObs    float64
	winExpect float64
	winDisp   float64
}

// holt is the running state of the robust smoother.
type holt struct {
	level, trend, disp float64
}

// fitBaseline reads history h (oldest first) and returns the forecast for the
// bucket after it, and for the window of the last w buckets ending with the one
// after it, whose current count is x.
func fitBaseline(h []float64, x float64, w int, c *BaselineConfig) baseline {
	b := baseline{next: c.MinExpected, disp: 1, w: 1, winObs: x, winExpect: c.MinExpected, winDisp: 1}
	if len(h) == 0 {
		return b
	}
	if w > len(h)+1 {
		w = len(h) + 1
	}
	s := initHolt(h, c.MinExpected)
	split := len(h) - (w - 1) // buckets before the window
	var snap holt
	for i, y := range h {
		if i == split {
			snap = s
		}
		s.step(y, c)
	}
	if split == len(h) {
		snap = s
	}

	// The level is an exponentially weighted mean, whose own variance is
	// alpha/(2-alpha) of one bucket's; over a window of w buckets that error is
	// shared by all w, so it grows with w while the noise grows with sqrt(w).
	levelVar := c.Alpha / (2 - c.Alpha)

	b.next = math.Max(s.level+s.trend, c.MinExpected)
	b.disp = math.Max(s.disp, 1) * (1 + levelVar)

	b.w = w
	b.winObs = x
	for _, y := range h[split:] {
		b.winObs += y
	}
	sum := 0.0
	for j := 1; j <= w; j++ {
		sum += math.Max(snap.level+float64(j)*snap.trend, c.MinExpected)
	}
	b.winExpect = sum
	b.winDisp = math.Max(snap.disp, 1) * (1 + float64(w)*levelVar)
	return b
}

// initHolt starts the smoother on the first few buckets: the median for the level
// (one early spike must not set it), no trend, and a dispersion from the mean
// absolute successive difference, which a slow level change hardly affects.
func initHolt(h []float64, minExpected float64) holt {
	var buf [9]float64
	k := copy(buf[:], h)
	level := median(buf[:k])
	m := min(len(h), 16)
	disp := 1.0
	if m >= 3 {
		sum := 0.0
		for i := 1; i < m; i++ {
			sum += math.Abs(h[i] - h[i-1])
		}
		// For Gaussian noise E|X_i - X_(i-1)| = 2σ/√π.
		sigma := sum / float64(m-1) * math.Sqrt(math.Pi) / 2
		disp = sigma * sigma / math.Max(level, minExpected)
	}
	return holt{level: level, disp: math.Max(disp, 1)}
}

func (s *holt) step(y float64, c *BaselineConfig) {
	f := s.level + s.trend
	fp := max(f, c.MinExpected)
	e := y - f
	ec := e
	// Compared squared, so the square root is only taken for the rare clipped bucket.
	if limit2 := c.Clip * c.Clip * max(s.disp, 1) * fp; e*e > limit2 {
		ec = math.Copysign(math.Sqrt(limit2), e)
	}
	level := f + c.Alpha*ec
	s.trend = c.Beta*(level-s.level) + (1-c.Beta)*s.trend
	s.level = level
	s.disp = (1-c.Gamma)*s.disp + c.Gamma*ec*ec/fp
}

// significance is the signed square root of the deviance of observing x when mu
// is expected with variance disp·mu: a z-like number (≈ (x-mu)/sqrt(disp·mu) for
// large counts near mu) that is honest about small counts and heavy tails.
//
// The count is taken as negative binomial with that mean and variance (shape
// k = mu/(disp-1)), Poisson when disp is 1. For the same variance the negative
// binomial's right tail is much heavier than a scaled Poisson's, which is what
// over-dispersed counts look like: a quiet term that sometimes jumps is not
// surprising every time it jumps. At disp 1 this is the Poisson deviance: 5 where
// 0.5 is expected scores 3.7 (about a one-sided Poisson p of 1e-4), not the 6.4
// a z-score would claim.
func significance(x, mu, disp float64) float64 {
	if !(mu > 0) {
		return 0
	}
	var d float64
	if kappa := (disp - 1) / mu; kappa > 1e-9 {
		k := 1 / kappa
		if x > 0 {
			d = x*math.Log(x/mu) - (x+k)*math.Log((x+k)/(mu+k))
		} else {
			d = k * math.Log1p(mu/k)
		}
	} else if x > 0 {
		d = x*math.Log(x/mu) - (x - mu)
	} else {
		d = mu
	}
	z := math.Sqrt(math.Max(2*d, 0))
	if x < mu {
		z = -z
	}
	return z
}

// evidence is one test of a count against what was expected.
type evidence struct {
	observed, expected float64
	z, growth          float64
	window             int // buckets the test spans
}

func newEvidence(x, mu, disp float64, window int) evidence {
	return evidence{observed: x, expected: mu, z: significance(x, mu, disp), growth: x / mu, window: window}
}

// strength folds a test and its thresholds into one number that is 1 exactly
// where all of them are met: significance, growth and support. Below 1 it says
// how far the weakest of them falls short; above 1, how far the weakest is
// exceeded. Everything downstream (severity, anomaly scores) is a function of it.
func (e evidence) strength(minZ, minGrowth, support, minSupport float64) float64 {
	if !(e.z > 0) || !(e.growth > 1) {
		return 0
	}
	r := e.z / minZ
	if g := math.Log(e.growth) / math.Log(minGrowth); g < r {
		r = g
	}
	if s := support / minSupport; s < r {
		r = s
	}
	return r
}

// median sorts a small slice in place and returns its median.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
