package detectors

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
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
	if len(pages) == 0 || pages[0] != 1000 {
		t.Fatalf("pages at rows %v, want the first at the surge's onset, row 1000", pages)
	}
	for _, p := range pages {
		if !(p >= 1000 && p < 1006 || p == 1500) {
			t.Errorf("page at row %d, outside the surge and the spike", p)
		}
	}
	if !alertAt(alerts, 1500) {
		t.Errorf("the spike at row 1500 did not page")
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

func alertAt(a []bool, i int) bool { return i < len(a) && a[i] }

func TestRunSeriesRefuses(t *testing.T) {
	ts := fiveMinutes(3)
	bad := DefaultConfig()
	bad.Surge.MinZ = 0
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
	d := newDayAgo(ts, values)
	cases := []struct {
		at   time.Time
		want float64
	}{
		{ts[12*24], 0},               // a day after the first hour: its mean
		{ts[12*24+13], 1},            // the second hour
		{ts[12*24+13].Add(-25e9), 1}, // any time within it
		{ts[5], math.NaN()},          // before a day of history
	}
	for _, tc := range cases {
		got := d.at(tc.at)
		if got != tc.want && !(math.IsNaN(got) && math.IsNaN(tc.want)) {
			t.Errorf("at(%s) = %v, want %v", tc.at.Format(time.DateTime), got, tc.want)
		}
	}
}
