package detectors

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/sim/dist"
)

// resurgeSeries is two days of one-minute counts of a term with a daily cycle
// (30 a minute on average, ±50 %), on the second day surging fourfold for 20
// minutes three times: at 12:00, 90 minutes later, and at 20:00. It is the
// dangerous challenge that comes back after a takedown.
func resurgeSeries(seed uint64) (ts []time.Time, values []float64, onsets []int) {
	r := rand.New(rand.NewPCG(seed, 77))
	const n = 2 * 1440
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	onsets = []int{1440 + 12*60, 1440 + 13*60 + 30, 1440 + 20*60}
	for i := range n {
		lambda := 30 * (1 + 0.5*math.Sin(2*math.Pi*float64(i%1440)/1440-math.Pi/2))
		for _, o := range onsets {
			if i >= o && i < o+20 {
				lambda *= 4
			}
		}
		ts = append(ts, start.Add(time.Duration(i)*time.Minute))
		values = append(values, dist.Poisson(r, lambda))
	}
	return ts, values, onsets
}

// TestResurge: every wave of a term that calmed down in between pages within
// two buckets of its onset, cooldown or not, and its anomaly score stays high
// through the wave: the surge before it taught the term's baseline, dispersion
// and tail nothing.
func TestResurge(t *testing.T) {
	waves, onTime, lowest := 0, 0, 1.0
	defer func() {
		t.Logf("EVAL | re-surge: waves paged within 2 buckets, lowest score inside a wave | %d/%d, %.2f | three waves a day, 5 seeds |", onTime, waves, lowest)
	}()
	for seed := uint64(1); seed <= 5; seed++ {
		ts, v, onsets := resurgeSeries(seed)
		scores, alerts, err := RunSeries(DefaultConfig(), ts, v)
		if err != nil {
			t.Fatal(err)
		}
		for k, o := range onsets {
			paged := -1
			for i := o; i < o+20; i++ {
				if alerts[i] {
					paged = i - o
					break
				}
			}
			low := 1.0
			for i := o + 1; i < o+18; i++ {
				low = math.Min(low, scores[i])
			}
			t.Logf("seed %d wave %d: paged %d buckets after onset, lowest score in the wave %.2f", seed, k+1, paged, low)
			waves++
			if paged >= 0 && paged <= 2 {
				onTime++
			}
			lowest = math.Min(lowest, low)
			if paged < 0 || paged > 2 {
				t.Errorf("seed %d wave %d (onset %s): paged %d buckets after onset, want 0..2", seed, k+1, ts[o].Format(time.DateTime), paged)
			}
			if low < 0.5 {
				t.Errorf("seed %d wave %d: anomaly score fell to %.2f inside the wave", seed, k+1, low)
			}
		}
	}
}

// nightlySeries is four days of two-minute counts of a term at mean level a
// bucket (±50 % over the day, negative binomial of shape 10) surging fivefold
// for 40 minutes from 20:00 on the given days (0-based).
func nightlySeries(seed uint64, level float64, days ...int) (ts []time.Time, values []float64, onsets []int) {
	r := rand.New(rand.NewPCG(seed, math.Float64bits(level)))
	const perDay = 720
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for _, d := range days {
		onsets = append(onsets, d*perDay+20*30)
	}
	for i := range 4 * perDay {
		mu := level * (1 + 0.5*math.Sin(2*math.Pi*float64(i%perDay)/perDay))
		for _, o := range onsets {
			if i >= o && i < o+20 {
				mu *= 5
			}
		}
		ts = append(ts, start.Add(time.Duration(i)*2*time.Minute))
		values = append(values, dist.NegBinomial(r, mu, 10))
	}
	return ts, values, onsets
}

// TestSurgeBackNextEvening: a surge at the hour a surge came the evening
// before is a new episode, paged within two buckets, as a challenge that
// comes back the day after its takedown must be: yesterday's surge does not
// raise today's expectation (SurgeMemory). A surge every evening is the
// term's rhythm from its second evening on, and is paged less often from its
// third than a comeback is. At 5 a bucket the surge is weak at 20:00 (14
// against 2.8) and the first evening's is itself paged late; it is logged.
func TestSurgeBackNextEvening(t *testing.T) {
	var backs, nightlies []string
	defer func() {
		t.Logf("EVAL | a surge back the next evening at its hour, paged within 2 buckets / a nightly surge paged on its third or fourth evening (5, 20, 100 a bucket) | %s / %s | 20 seeds a level, two-minute buckets |",
			strings.Join(backs, ", "), strings.Join(nightlies, ", "))
	}()
	for _, tc := range []struct {
		level   float64
		minBack int // of 20 seeds
	}{{5, 0}, {20, 14}, {100, 18}} {
		back, nightly := 0, 0
		const seeds = 20
		for seed := range uint64(seeds) {
			ts, v, onsets := nightlySeries(seed, tc.level, 2, 3)
			_, alerts, err := RunSeries(DefaultConfig(), ts, v)
			if err != nil {
				t.Fatal(err)
			}
			if slices.Contains(alerts[onsets[1]:onsets[1]+3], true) {
				back++
			}
			ts, v, onsets = nightlySeries(seed, tc.level, 0, 1, 2, 3)
			if _, alerts, err = RunSeries(DefaultConfig(), ts, v); err != nil {
				t.Fatal(err)
			}
			if slices.Contains(alerts[onsets[2]:], true) {
				nightly++
			}
		}
		t.Logf("%g a bucket: the surge back the next evening paged within 2 buckets %d/%d; a nightly surge paged on its third or fourth evening %d/%d", tc.level, back, seeds, nightly, seeds)
		backs, nightlies = append(backs, fmt.Sprintf("%d/%d", back, seeds)), append(nightlies, fmt.Sprintf("%d/%d", nightly, seeds))
		if back < tc.minBack {
			t.Errorf("%g a bucket: the surge back the next evening paged within 2 buckets %d/%d times, want at least %d", tc.level, back, seeds, tc.minBack)
		}
		if tc.minBack > 0 && nightly >= back {
			t.Errorf("%g a bucket: a nightly surge paged on its third or fourth evening %d/%d times, a comeback %d/%d: rhythm not told from a comeback", tc.level, nightly, seeds, back, seeds)
		}
	}
}
