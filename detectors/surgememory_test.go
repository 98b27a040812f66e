package detectors

import (
	"math"
	"testing"
	"time"
)

func TestSurgeMemory(t *testing.T) {
	day0 := time.Date(2026, 11, 20, 20, 0, 0, 0, time.UTC)
	day1 := day0.Add(24 * time.Hour)
	var m SurgeMemory
	steps := []struct {
		name            string
		start           time.Time
		count, expected float64
		wantExcess      float64
		wantRhythm      bool
		wantKept        int // buckets remembered after the step
		at              time.Time
		wantExcessAt    float64
	}{
		{"a surge is remembered with its excess", day0, 50, 10, 40, false, 1, day1, 40},
		{"the excess is the count above the expectation", day0.Add(time.Minute), 12, 10, 2, false, 2, day1, 42},
		{"a count below its expectation leaves none", day0.Add(2 * time.Minute), 8, 10, 0, false, 3, day1.Add(29 * time.Minute), 42},
		{"an unknown expectation leaves none", day0.Add(3 * time.Minute), 8, math.NaN(), 0, false, 4, day1.Add(31 * time.Minute), 2},
		{"the next day at the hour, a second surge is rhythm", day1.Add(10 * time.Minute), 50, 10, 0, true, 5, day1.Add(24*time.Hour + 10*time.Minute), 0},
		{"a surge at another hour is not; the first day is forgotten", day1.Add(3 * time.Hour), 30, 10, 20, false, 2, day1.Add(27 * time.Hour), 20},
	}
	for _, s := range steps {
		m.Forget(DayAgoFrom(s.start))
		m.Remember(s.start, s.count, s.expected)
		bs := m.Buckets()
		last := bs[len(bs)-1]
		if last.Start != s.start || last.Excess != s.wantExcess || last.Rhythm != s.wantRhythm {
			t.Errorf("%s: remembered %+v, want excess %v rhythm %v", s.name, last, s.wantExcess, s.wantRhythm)
		}
		if len(bs) != s.wantKept {
			t.Errorf("%s: %d buckets remembered, want %d", s.name, len(bs), s.wantKept)
		}
		if got := m.Excess(s.at, nil); got != s.wantExcessAt {
			t.Errorf("%s: Excess(%s) = %v, want %v", s.name, s.at.Format(time.DateTime), got, s.wantExcessAt)
		}
	}
	m.Forget(day1.Add(3*time.Hour + time.Minute))
	if !m.Empty() {
		t.Errorf("after its day, %d buckets still remembered", len(m.Buckets()))
	}
}

func TestSurgeExpected(t *testing.T) {
	cases := []struct {
		name string
		fs   []Finding
		want float64
		ok   bool
	}{
		{"none", nil, 0, false},
		{"the surge's", []Finding{{Detector: NameWatchlist, Expected: 3}, {Detector: NameSurge, Expected: 7}}, 7, true},
		{"not another detector's", []Finding{{Detector: NameWatchlist, Expected: 3}}, 0, false},
		{"not on reports", []Finding{{Detector: NameSurge, Expected: 3, OnReports: true}}, 0, false},
	}
	for _, tc := range cases {
		got, ok := SurgeExpected(tc.fs)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: SurgeExpected = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
