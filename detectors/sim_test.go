package detectors

import (
	"math"
	"math/rand/v2"
	"time"
)

// Samplers for synthetic count series. math/rand/v2 has none for counts.

// poisson draws from Poisson(lambda): Knuth's product method for small means,
// Hörmann's transformed rejection (PTRS, 1993) for large ones, both exact.
func poisson(r *rand.Rand, lambda float64) float64 {
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
	invalpha := 1.1239 + 1.1328/(b-3.4)
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
		if math.Log(v)+math.Log(invalpha)-math.Log(a/(us*us)+b) <= -lambda+k*loglam-lg {
			return k
		}
	}
}

// gamma draws from Gamma(shape, 1) (Marsaglia and Tsang, 2000).
func gamma(r *rand.Rand, shape float64) float64 {
	if shape < 1 {
		return gamma(r, shape+1) * math.Pow(r.Float64(), 1/shape)
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
		u := r.Float64()
		if math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v
		}
	}
}

// negBinomial draws a count of mean mu and variance mu + mu²/k: Poisson with a
// Gamma-distributed rate, the usual model of over-dispersed counts. k = 0 means
// Poisson.
func negBinomial(r *rand.Rand, mu, k float64) float64 {
	if k <= 0 {
		return poisson(r, mu)
	}
	return poisson(r, mu*gamma(r, k)/k)
}

// binomial draws successes of n trials of probability p: exactly for few
// trials, by the Poisson limit for rare successes, by the normal one otherwise.
func binomial(r *rand.Rand, n, p float64) float64 {
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
		return math.Min(n, poisson(r, n*p))
	default:
		return math.Max(0, math.Round(n*p+math.Sqrt(n*p*(1-p))*r.NormFloat64()))
	}
}

// diurnal is the platform's daily rhythm, ±amp around 1, phase in minutes.
func diurnal(minute, phase, amp float64) float64 {
	return 1 + amp*math.Sin(2*math.Pi*(minute+phase)/1440)
}

// track is one term's simulated counts, bucket by bucket.
type track struct {
	term     string
	mentions []float64
	reports  []float64
	creators []float64
	regions  [][]Count
	watch    *WatchMatch
}

func newTrack(term string, n int) *track {
	return &track{term: term, mentions: make([]float64, n), reports: make([]float64, n),
		creators: make([]float64, n), regions: make([][]Count, n)}
}

var simStart = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// observe is what the pipeline would hand the detectors for bucket i.
func (t *track) observe(i, history int, p Platform) *Observation {
	lo := max(0, i-history)
	return &Observation{
		Term:            t.term,
		Bucket:          simStart.Add(time.Duration(i) * time.Minute),
		Width:           time.Minute,
		Mentions:        t.mentions[i],
		Reports:         t.reports[i],
		UniqueCreators:  uint64(t.creators[i]),
		UniqueReporters: uint64(t.reports[i]),
		Regions:         t.regions[i],
		Samples:         []string{t.term + "#1", t.term + "#2"},
		MentionHistory:  t.mentions[lo:i],
		ReportHistory:   t.reports[lo:i],
		CreatorHistory:  t.creators[lo:i],
		DayAgo:          math.NaN(),
		Watch:           t.watch,
		Platform:        p,
	}
}

// spread splits n mentions over regions in fixed Zipf shares, the first the
// largest; the detectors only compare shares with a threshold.
func spread(n float64, labels ...string) []Count {
	w := 0.0
	for i := range labels {
		w += 1 / float64(i+1)
	}
	out := make([]Count, len(labels))
	for i, l := range labels {
		out[i] = Count{Label: l, N: uint64(math.Round(n / float64(i+1) / w))}
	}
	return out
}

// platform is the platform context for simulated buckets.
func platform(minute, phase float64) Platform {
	d := diurnal(minute, phase, 0.5)
	return Platform{Mentions: 9000 * d, Events: 3000 * d, UniqueCreators: uint64(2500 * d),
		MentionsPerCreator: 1.1, Reports: 6 * d, ReportRate: 0.002}
}
