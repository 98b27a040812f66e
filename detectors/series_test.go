package detectors

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/sim/dist"
)

func fiveMinutes(n int) []time.Time {
	ts := make([]time.Time, n)
	for i := range ts {
		ts[i] = simStart.Add(time.Duration(i) * 5 * time.Minute)
	}
	return ts
}

func TestRunSeries(t *testing.T) {
	const n = 2000
	r := rand.New(rand.NewPCG(7, 7))
	ts := fiveMinutes(n)
	values := counts(r, n, func(i int) float64 {
		v := 50 * diurnal(float64(i*5), 0, 0.5)
		switch {
		case i >= 1000 && i < 1006: // a surge of half an hour
			v *= 6
		case i >= 1500 && i < 1501: // a one-bucket spike
			v *= 10
		}
		return v
	})
	scores, alerts, err := RunSeries(DefaultConfig(), ts, values)
	if err != nil {
		t.Fatal(err)
	}
	if len(scores) != n || len(alerts) != n {
		t.Fatalf("%d scores, %d alerts for %d rows", len(scores), len(alerts), n)
	}
	var pages []int
	for i, s := range scores {
		if !(s >= 0 && s <= 1) {
			t.Fatalf("row %d: score %v outside [0,1]", i, s)
		}
		if alerts[i] {
			pages = append(pages, i)
			if s < 0.5 {
				t.Errorf("row %d pages with score %v: a page is a finding, which scores at least 0.5", i, s)
			}
		}
	}
	// The surge's first row is a lone outlier until its second confirms it
	// (see holt.step): the page comes on the second. The one-bucket spike is
	// no surge and does not page.
	if len(pages) == 0 || pages[0] != 1001 {
		t.Fatalf("pages at rows %v, want the first on the surge's second row, 1001", pages)
	}
	for _, p := range pages {
		if !(p >= 1000 && p < 1006) {
			t.Errorf("page at row %d, outside the surge", p)
		}
	}
	if scores[1500] >= 0.5 {
		t.Errorf("the one-bucket spike at row 1500 scores %.2f, want below 0.5: a lone spike is no surge", scores[1500])
	}
	// The same series without its anomalies is never paged for.
	calm := counts(rand.New(rand.NewPCG(7, 7)), n, func(i int) float64 { return 50 * diurnal(float64(i*5), 0, 0.5) })
	_, alerts, _ = RunSeries(DefaultConfig(), ts, calm)
	for i, a := range alerts {
		if a {
			t.Errorf("calm series pages at row %d", i)
		}
	}
}

func TestRunSeriesRefuses(t *testing.T) {
	ts := fiveMinutes(3)
	bad := DefaultConfig()
	bad.Surge.MinZ = -1
	cases := []struct {
		name   string
		cfg    Config
		ts     []time.Time
		values []float64
		want   string
	}{
		{"config", bad, ts, []float64{1, 2, 3}, "detectors.surge.min_z"},
		{"lengths", DefaultConfig(), ts, []float64{1, 2}, "3 timestamps but 2 values"},
		{"negative", DefaultConfig(), ts, []float64{1, -2, 3}, "row 1"},
		{"NaN", DefaultConfig(), ts, []float64{1, 2, math.NaN()}, "row 2"},
		{"order", DefaultConfig(), []time.Time{ts[0], ts[2], ts[1]}, []float64{1, 2, 3}, "row 2"},
	}
	for _, tc := range cases {
		_, _, err := RunSeries(tc.cfg, tc.ts, tc.values)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
	if s, a, err := RunSeries(DefaultConfig(), nil, nil); err != nil || len(s) != 0 || len(a) != 0 {
		t.Errorf("empty series: %v %v %v", s, a, err)
	}
}

func TestDayAgo(t *testing.T) {
	ts := fiveMinutes(24*12 + 24) // a day and two hours of 5-minute buckets
	values := make([]float64, len(ts))
	for i := range values {
		values[i] = float64(i / 12) // the hour's index
	}
	d := newDayAgo(ts, values, medianStep(ts))
	cases := []struct {
		at   time.Time
		want float64
	}{
		{ts[12*24+6], 0},             // the hour around this time yesterday is the first
		{ts[12*24+18], 1},            // the second
		{ts[12*24+18].Add(-25e9), 1}, // between buckets: the rows in the hour from 24h30m before
		{ts[12*24+12], 0.5},          // half of each
		{ts[12*24], math.NaN()},      // the hour began before the series
		{ts[5], math.NaN()},          // before a day of history
	}
	for _, tc := range cases {
		got := d.at(tc.at, nil)
		if got != tc.want && !(math.IsNaN(got) && math.IsNaN(tc.want)) {
			t.Errorf("at(%s) = %v, want %v", tc.at.Format(time.DateTime), got, tc.want)
		}
	}
	// A surge paged in the hour is taken out of it: the second hour's twelve
	// rows of 1 with 6 of excess remembered mean 0.5; the first hour's rows
	// of 0 cannot go below 0; an hour with no surge in it keeps its mean.
	surges := RestoreSurgeMemory([]SurgedBucket{{Start: ts[3], Excess: 6}, {Start: ts[15], Excess: 6}})
	for _, tc := range []struct {
		at   time.Time
		want float64
	}{{ts[12*24+18], 0.5}, {ts[12*24+6], 0}, {ts[12*24+23], 17.0 / 12}} {
		if got := d.at(tc.at, &surges); got != tc.want {
			t.Errorf("with surges remembered, at(%s) = %v, want %v", tc.at.Format(time.DateTime), got, tc.want)
		}
	}
}

// spikySeries is twenty days of five-minute counts of a term that spikes a few
// times a day (one bucket, Pareto sizes: now and then ten times its level), with
// an hour-long surge to six times its level at row surgeAt.
func spikySeries(seed uint64) (ts []time.Time, values []float64, surgeAt int) {
	const n = 20 * 288
	surgeAt = 15 * 288
	r := rand.New(rand.NewPCG(seed, 17))
	ts = fiveMinutes(n)
	values = make([]float64, n)
	for i := range values {
		mu := 40 * diurnal(float64(i)*5, 0, 0.5)
		if r.Float64() < 4.0/288 {
			mu *= 1 + math.Pow(1-r.Float64(), -1/1.5)
		}
		if i >= surgeAt && i < surgeAt+12 {
			mu *= 6
		}
		values[i] = dist.NegBinomial(r, mu, 10)
	}
	return ts, values, surgeAt
}

// TestRunSeriesSpiky: on a term whose ordinary spikes the count model cannot
// explain (several a day, Pareto sizes of shape 1.5, so one in a hundred is 20
// times the level), the term's own tail keeps the pages to about one in four
// days where the count model alone pages almost daily, and the hour-long surge
// still pages within three buckets and outranks all but the very largest
// ordinary spikes.
func TestRunSeriesSpiky(t *testing.T) {
	untailed := DefaultConfig()
	untailed.Baseline.TailPrior = 1e12 // the count model's tail, whatever the term does
	var pages, untailedPages, seeds int
	for seed := range uint64(5) {
		ts, values, surgeAt := spikySeries(seed)
		scores, alerts, err := RunSeries(DefaultConfig(), ts, values)
		if err != nil {
			t.Fatal(err)
		}
		during := func(i int) bool { return i >= surgeAt && i < surgeAt+12 }
		first := -1
		for i, a := range alerts {
			switch {
			case !a:
			case during(i):
				if first < 0 {
					first = i
				}
			default:
				pages++
			}
		}
		if first < 0 || first > surgeAt+3 {
			t.Errorf("seed %d: the surge at row %d paged first at %d", seed, surgeAt, first)
		}
		// After a day of warm-up, few rows of the other nineteen days outrank
		// it: the score is each row's surprise, and the largest of the
		// ordinary one-bucket spikes (twenty times the level) may surprise
		// more than a six-fold hour, but no more than one row in a thousand.
		top := slices.Max(scores[surgeAt : surgeAt+12])
		above := 0
		for i := 288; i < len(scores); i++ {
			if !during(i) && scores[i] >= top {
				above++
			}
		}
		if above > 5 {
			t.Errorf("seed %d: %d ordinary rows score at least the surge's %.3f", seed, above, top)
		}
		_, alerts, err = RunSeries(untailed, ts, values)
		if err != nil {
			t.Fatal(err)
		}
		for i, a := range alerts {
			if a && !during(i) {
				untailedPages++
			}
		}
		seeds++
	}
	days := float64(seeds) * 20
	t.Logf("pages outside the surge: %d in %.0f days with the term's tail, %d with the count model's", pages, days, untailedPages)
	if float64(pages) > days/3 {
		t.Errorf("%d pages outside the surge in %.0f days, want at most one in three days", pages, days)
	}
	if pages*2 > untailedPages {
		t.Errorf("the term's tail cut %d pages to %d, want at least half", untailedPages, pages)
	}
}

// TestRunSeriesScoresSurprise: the anomaly score is each row's surprise,
// whatever the lifecycle does: high from the plateau's second row (its first
// is a lone outlier until the second confirms it) for as long as it
// is a surge (baseline.max_surge rows, after which it is the term's new
// level), low before it and after the term is back, and RunSeries threads Tail
// as the pipeline would with Set.Learn: its findings are the Set's.
func TestRunSeriesScoresSurprise(t *testing.T) {
	const n = 3000
	r := rand.New(rand.NewPCG(3, 3))
	ts := fiveMinutes(n)
	values := counts(r, n, func(i int) float64 {
		if i >= 2000 && i < 2100 { // a plateau of eight hours at five times the level
			return 250
		}
		return 50
	})
	cfg := DefaultConfig()
	scores, _, err := RunSeries(cfg, ts, values)
	if err != nil {
		t.Fatal(err)
	}
	var before, during, after int
	for i, s := range scores {
		switch {
		case s < 0.5:
		case i < 2000:
			before++
		case i < 2000+cfg.Baseline.MaxSurge:
			during++
		case i >= 2100+cfg.Surge.ShiftWindow:
			after++
		}
	}
	if scores[2001] < 0.5 || before > 0 || during < cfg.Baseline.MaxSurge*9/10 || after > 0 {
		t.Errorf("rows scoring 0.5 or more: onset's second row %.2f, %d before it, %d of the surge's first %d, %d once the term is back; want the surge, nothing else",
			scores[2001], before, during, cfg.Baseline.MaxSurge, after)
	}

	// The pipeline: Evaluate each bucket, keep what Learn returns for the next.
	s := mustSet(t, cfg)
	var tl Tail
	for i, v := range values {
		o := &Observation{Term: "series", Bucket: ts[i], Width: 5 * time.Minute, Mentions: v, UniqueCreators: uint64(v),
			MentionHistory: values[max(0, i-cfg.Surge.History):i], DayAgo: math.NaN(), Tail: tl}
		surged := false
		for _, f := range s.Evaluate(o) {
			surged = surged || f.Detector == NameSurge
		}
		if scores[i] >= 0.5 && !surged {
			t.Errorf("row %d scores %.3f in RunSeries but the Set finds no surge", i, scores[i])
		}
		tl = s.Learn(o)
	}
}

// TestDailySeriesSurge checks a series of whole days: yesterday is the bucket
// before, so it is no daily rhythm and no second expectation, and a fourfold
// surge over three days pages within two buckets of its onset, where judged
// against its own first day its second was not a surge.
func TestDailySeriesSurge(t *testing.T) {
	for _, tc := range []struct {
		width time.Duration
		known bool
	}{{5 * time.Minute, true}, {time.Hour, true}, {12 * time.Hour, true}, {24 * time.Hour, false}, {7 * 24 * time.Hour, false}} {
		ts := make([]time.Time, max(60, int(48*time.Hour/tc.width)))
		for i := range ts {
			ts[i] = simStart.Add(time.Duration(i) * tc.width)
		}
		d := newDayAgo(ts, make([]float64, len(ts)), tc.width)
		if got := d.at(ts[len(ts)-1], nil); math.IsNaN(got) == tc.known {
			t.Errorf("buckets of %s: yesterday's level %v, want known %v", tc.width, got, tc.known)
		}
	}
	r := rand.New(rand.NewPCG(7, 8))
	const n, onset = 400, 300
	ts := make([]time.Time, n)
	values := make([]float64, n)
	for i := range values {
		ts[i] = simStart.Add(time.Duration(i) * 24 * time.Hour)
		mu := 260.0 // weekdays
		if i%7 >= 5 {
			mu = 140
		}
		if i >= onset && i < onset+3 {
			mu *= 4
		}
		values[i] = dist.NegBinomial(r, mu, 50)
	}
	_, alerts, err := RunSeries(DefaultConfig(), ts, values)
	if err != nil {
		t.Fatal(err)
	}
	if first := slices.Index(alerts, true); first < onset || first > onset+1 {
		t.Errorf("first page at day %d, want %d or %d", first, onset, onset+1)
	}
}
