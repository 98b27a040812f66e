package detectors

import (
	"math"
	"slices"
	"testing"
	"time"
)

// TestOutlierLongAfterARun: a run of outliers (a surge) holds the forecast
// where it was for as long as the term stays above it, so a term that came
// back to a little above its normal level is still "in" the run hours later.
// An outlier there with no other within surgeGap buckets before it is a lone
// one, counted at the clip limit, as on a term that never surged; a second
// one within surgeGap confirms it, and both count whole. An outlier while
// the run's outliers still come counts whole, as before.
func TestOutlierLongAfterARun(t *testing.T) {
	mp := newMentionParams(DefaultConfig())
	calm := steadyHistory(50, 120, 11)
	// Two outliers start a run; the term then stays a spread or so above
	// the forecast the run holds, never an outlier, for ten buckets.
	run := append(slices.Clone(calm), 250, 250)
	after := append(slices.Clone(run), slices.Repeat([]float64{60}, 10)...)
	spike := 300.0
	cases := []struct {
		name      string
		h         []float64
		wantWhole bool
		wantSurge bool // the surge's finding on this bucket
	}{
		{"an outlier two buckets after the run's last", append(slices.Clone(run), 60), true, true},
		{"an outlier ten buckets after the run's last", after, false, false},
		{"a second outlier right after that one", append(slices.Clone(after), spike), true, true},
	}
	s := mustSet(t, DefaultConfig())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := fitBaseline(tc.h, spike, mp.window, mp.shift, mp.hold, mp.minHistory, &mp.base, mp.inflate, false)
			if !b.inSurge {
				t.Fatalf("not in the run: the history %v should hold it", tc.h[len(tc.h)-14:])
			}
			if whole := b.obs == spike; whole != tc.wantWhole {
				t.Errorf("counted %.1f of %.0f: whole %v, want %v", b.obs, spike, whole, tc.wantWhole)
			}
			if tc.wantWhole {
				// A confirmed outlier before it counts whole in the window too.
				w := b.win.w
				if want := sum(tc.h[len(tc.h)-(w-1):]) + spike; b.win.obs != want {
					t.Errorf("window of %d counts %.1f, want %.1f: every outlier in it whole", w, b.win.obs, want)
				}
			}
			o := &Observation{Term: "hashtag:x", Bucket: simStart, Width: time.Minute, Mentions: spike, UniqueCreators: uint64(spike),
				MentionHistory: tc.h, ReportHistory: make([]float64, len(tc.h)), DayAgo: math.NaN()}
			surge := false
			for _, f := range s.Evaluate(o) {
				surge = surge || f.Detector == NameSurge
			}
			if surge != tc.wantSurge {
				t.Errorf("surge finding %v, want %v", surge, tc.wantSurge)
			}
		})
	}
}

// TestSurgeStartsOnOneSide: two outliers within surgeGap buckets start a
// surge only on one side of the forecast; a drop and then a jump are two
// unrelated outliers, and the jump is a lone one.
func TestSurgeStartsOnOneSide(t *testing.T) {
	mp := newMentionParams(DefaultConfig())
	calm := steadyHistory(50, 120, 11)
	spike := 300.0
	cases := []struct {
		name      string
		before    []float64
		wantWhole bool
	}{
		{"a jump after a jump", []float64{250}, true},
		{"a jump two buckets after a jump", []float64{250, 50}, true},
		{"a jump after a drop", []float64{5}, false},
		{"a jump two buckets after a drop", []float64{5, 50}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := append(slices.Clone(calm), tc.before...)
			b := fitBaseline(h, spike, mp.window, mp.shift, mp.hold, mp.minHistory, &mp.base, mp.inflate, false)
			if whole := b.obs == spike; whole != tc.wantWhole {
				t.Errorf("counted %.1f of %.0f: whole %v, want %v", b.obs, spike, whole, tc.wantWhole)
			}
		})
	}
}
