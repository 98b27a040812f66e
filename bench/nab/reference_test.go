package nab

import (
	"fmt"
	"math"
	"os"
	"testing"
)

// ewmaPages is the simple detector the detector issue compares with: an
// exponentially weighted mean and variance of the series (weight alpha), a
// page where a row is more than z standard deviations above the mean, then no
// page for cooldown rows. The first 20 rows only learn.
func ewmaPages(v []float64, alpha, z float64, cooldown int) []float64 {
	out := make([]float64, len(v))
	if len(v) == 0 {
		return out
	}
	mean, variance := v[0], 0.0
	last := math.MinInt / 2
	for i, x := range v {
		if i > 20 {
			sd := math.Max(math.Sqrt(variance), 1)
			if (x-mean)/sd > z && i-last > cooldown {
				out[i], last = 1, i
			}
		}
		d := x - mean
		mean += alpha * d
		variance = (1 - alpha) * (variance + alpha*d*d)
	}
	return out
}

// TestReferenceDetectors scores the EWMA z-score detector on the shared
// realTweets files over a grid of its settings, as make eval reports it
// (TRENDWATCH_EVAL_REFERENCE=1): what a simple volume detector gets on these
// labels, with the z > 6 and, as a ceiling, the best of the grid,
// fitted to these very labels. It asserts only that every setting was scored;
// the numbers are context for the detector's own row, not a target.
func TestReferenceDetectors(t *testing.T) {
	if os.Getenv("TRENDWATCH_EVAL_REFERENCE") == "" {
		t.Skip("TRENDWATCH_EVAL_REFERENCE is not set; make eval sets it")
	}
	files, windows, profiles := loadTweets(t)
	type result struct {
		alpha, z float64
		cooldown int
		r        Result
	}
	var at6, all []result
	for _, alpha := range []float64{0.01, 0.02, 0.05, 0.1} {
		for _, z := range []float64{4, 5, 6, 8} {
			// An hour, four hours, a day of five-minute rows.
			for _, cooldown := range []int{12, 48, 288} {
				c := Corpus{Windows: windows}
				for _, f := range files {
					c.Files = append(c.Files, File{Name: f.name, Times: f.ts, Scores: ewmaPages(f.values, alpha, z, cooldown)})
				}
				r, err := c.ScoreAt(profiles[Standard], 1)
				if err != nil {
					t.Fatal(err)
				}
				if math.IsNaN(r.Normalized) || r.Windows != 16 {
					t.Fatalf("alpha %v, z %v, cooldown %d: score %v over %d windows", alpha, z, cooldown, r.Normalized, r.Windows)
				}
				res := result{alpha, z, cooldown, r}
				all = append(all, res)
				if z == 6 {
					at6 = append(at6, res)
				}
			}
		}
	}
	span := func(rs []result) (lo, hi result) {
		lo, hi = rs[0], rs[0]
		for _, r := range rs {
			if r.r.Normalized < lo.r.Normalized {
				lo = r
			}
			if r.r.Normalized > hi.r.Normalized {
				hi = r
			}
		}
		return lo, hi
	}
	lo, hi := span(at6)
	_, best := span(all)
	desc := func(r result) string {
		return fmt.Sprintf("α %g, z > %g, cooldown %d rows: %.1f, %d/16 windows, %d false pages", r.alpha, r.z, r.cooldown, r.r.Normalized, r.r.Hit, r.r.FP)
	}
	t.Logf("EVAL | NAB realTweets, EWMA z > 6 with a cooldown (standard), over %d settings | %.1f to %.1f | worst %s; best %s |", len(at6), lo.r.Normalized, hi.r.Normalized, desc(lo), desc(hi))
	t.Logf("EVAL | NAB realTweets, EWMA z-score, best of %d settings fitted to these labels (standard) | %.1f | %s |", len(all), best.r.Normalized, desc(best))
}
