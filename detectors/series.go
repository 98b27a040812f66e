package detectors

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/trendwatch/trendwatch/alert"
)

// RunSeries runs the surge detector, with the lifecycle, over one count series,
// as `trendwatch backtest --series` does and as the pipeline would see the term:
// each row is a bucket, its history the cfg.Surge.History rows before it, its
// DayAgo the mean of the rows in the hour around the same time 24 h earlier
// less the surges paged in it (NaN until the series covers it; see
// SurgeMemory), its Tail the one Set.Learn returned for the
// row before, its bucket width the median spacing of the timestamps.
//
// alerts[i] is true on the rows where the surge alert opens or escalates: the
// pages, exactly as production would send them.
//
// scores[i] is how surprising row i is for the series, whatever the lifecycle
// is doing: s/(1+s), where s is the surge's decision statistic (1 exactly at
// its thresholds; see evidence.strength). So it is 0.5 where the thresholds are
// just met, tends to 1 as the weakest of significance, growth and support
// grows (never reaching it, so the strongest rows stay ranked: 1 - 2^(-s) was
// 1.0 in floating point for every s above 53), and stays high through a surge
// whether or not its alert is open or cooling down. Paging is the lifecycle's
// decision, in alerts.
func RunSeries(cfg Config, ts []time.Time, values []float64) (scores []float64, alerts []bool, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("run series: %w", err)
	}
	if len(ts) != len(values) {
		return nil, nil, fmt.Errorf("run series: %d timestamps but %d values", len(ts), len(values))
	}
	for i, v := range values {
		if !(v >= 0) || math.IsInf(v, 0) {
			return nil, nil, fmt.Errorf("run series: row %d (%s): value %v is not a count", i, ts[i].Format(time.DateTime), v)
		}
		if i > 0 && !ts[i].After(ts[i-1]) {
			return nil, nil, fmt.Errorf("run series: row %d: timestamp %s not after %s", i, ts[i].Format(time.DateTime), ts[i-1].Format(time.DateTime))
		}
	}
	scores = make([]float64, len(values))
	alerts = make([]bool, len(values))
	if len(values) == 0 {
		return scores, alerts, nil
	}

	d := newSurge(cfg)
	lc := NewLifecycle(cfg.Lifecycle)
	width := medianStep(ts)
	day := newDayAgo(ts, values, width)
	var surges SurgeMemory
	var tail Tail
	fs := make([]Finding, 1)
	for i, v := range values {
		o := Observation{
			Term:           "series",
			Bucket:         ts[i],
			Width:          width,
			Mentions:       v,
			MentionHistory: values[max(0, i-cfg.Surge.History):i],
			DayAgo:         day.at(ts[i], &surges),
			LearnDayAgo:    math.NaN(),
			Tail:           tail,
		}
		if j := i - (d.mp.shift - 1); j >= 0 {
			o.LearnDayAgo = day.at(ts[j], &surges)
			surges.Forget(DayAgoFrom(ts[j]))
		}
		a := analysis{o: &o, mp: &d.mp}
		r, _ := d.strength(&a)
		if f, ok := d.judge(&a); ok {
			fs[0] = f
			for _, ev := range lc.Observe(&o, fs) {
				alerts[i] = alerts[i] || ev.To == alert.StatusOpen || ev.To == alert.StatusEscalated
			}
			if exp, ok := SurgeExpected(fs); ok {
				surges.Remember(ts[i], v, exp)
			}
		}
		scores[i] = r / (1 + r)
		lc.EndBucket(ts[i])
		tail = a.learnTail()
	}
	return scores, alerts, nil
}

func medianStep(ts []time.Time) time.Duration {
	if len(ts) < 2 {
		return time.Minute
	}
	steps := make([]time.Duration, len(ts)-1)
	for i := range steps {
		steps[i] = ts[i+1].Sub(ts[i])
	}
	slices.Sort(steps)
	return steps[len(steps)/2]
}

// dayAgo answers "mean count per bucket in the hour around t, 24 h before" from
// a series, as the pipeline does: the rows in [t-24h30m, t-23h30m), less the
// excess of the surges remembered in them (SurgeMemory).
//
// A series of buckets wider than MaxDayAgoWidth has none: yesterday is then
// the bucket before, or the one before that, which the baseline follows
// already, and a surge's second bucket was judged against its first (a
// daily series' three-day fourfold surge was never paged).
type dayAgo struct {
	ts  []time.Time
	sum []float64 // sum[i] = values[0] + … + values[i-1]
}

// MaxDayAgoWidth is the widest bucket for which yesterday's level is a daily
// rhythm's: at least two buckets a day, so that yesterday lies two buckets
// back or more.
const MaxDayAgoWidth = 12 * time.Hour

func newDayAgo(ts []time.Time, values []float64, width time.Duration) dayAgo {
	if width > MaxDayAgoWidth {
		return dayAgo{}
	}
	sum := make([]float64, len(values)+1)
	for i, v := range values {
		sum[i+1] = sum[i] + v
	}
	return dayAgo{ts: ts, sum: sum}
}

func (d dayAgo) at(t time.Time, surges *SurgeMemory) float64 {
	from := DayAgoFrom(t)
	to := from.Add(dayAgoSpan)
	if len(d.ts) == 0 || d.ts[0].After(from) {
		return math.NaN()
	}
	lo := sort.Search(len(d.ts), func(i int) bool { return !d.ts[i].Before(from) })
	hi := sort.Search(len(d.ts), func(i int) bool { return !d.ts[i].Before(to) })
	if hi <= lo {
		return math.NaN()
	}
	sum := d.sum[hi] - d.sum[lo]
	if surges != nil {
		sum = math.Max(0, sum-surges.Excess(t, nil))
	}
	return sum / float64(hi-lo)
}
