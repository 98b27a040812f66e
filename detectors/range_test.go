package detectors

import (
	"math"
	"testing"
	"time"
)

// quiet is n buckets of a term at about 10 a bucket, the same every time.
func quiet(n int) []float64 {
	h := make([]float64, n)
	for i := range h {
		h[i] = []float64{10, 11, 9, 10, 12, 8, 10, 11}[i%8]
	}
	return h
}

// TestRanges: the history's ranges (baseline.ordinary) keep the spikes a term
// came straight back from and leave out its surges, and an outlier at the end
// of the history that the current bucket may yet join; a window's range is
// the largest sum of as many ordinary buckets.
func TestRanges(t *testing.T) {
	with := func(h []float64, at int, v ...float64) []float64 {
		copy(h[at:], v)
		return h
	}
	for _, tc := range []struct {
		name           string
		h              []float64
		bucket, window float64 // ranges of the one-bucket test and the 3-bucket window
	}{
		{"quiet", quiet(40), 12, 32},
		{"a lone spike it came back from", with(quiet(40), 15, 60), 60, 81},
		{"a surge", with(quiet(40), 15, 80, 85, 90, 80, 85), 12, 32},
		{"two spikes far apart", with(with(quiet(40), 10, 50), 25, 60), 60, 81},
		{"a spike in the last buckets", with(quiet(40), 38, 60), 12, 32},
		{"history shorter than the window", quiet(2), 11, 31.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			mp := newMentionParams(c)
			b := fitBaseline(tc.h, 10, mp.window, mp.shift, mp.hold, mp.minHistory, &mp.base, mp.inflate, false)
			if one, win := b.ordinary.rangeOf(tc.h, 1), b.ordinary.rangeOf(tc.h, mp.window); one != tc.bucket || win != tc.window {
				t.Errorf("ranges: bucket %v, window %v; want %v, %v", one, win, tc.bucket, tc.window)
			}
		})
	}
}

// TestSurgeYoungTermLeavesRange: a young term's surge pages only where a test
// that passes the bar leaves the range its history has shown for it: a lone
// spike to 80 it came straight back from holds back a rise to 40 over two
// buckets, not a rise to 70, nor one to 45 that lasts three buckets, whose
// windows are beyond any window the spike filled. Once the term's tail is
// grown, or the term is watched, the forecast alone decides, as before.
func TestSurgeYoungTermLeavesRange(t *testing.T) {
	c := DefaultConfig()
	s := mustSet(t, c)
	d := detector(t, s, NameSurge).(*Surge)
	p := newTailParams(c.Baseline)
	var grown Tail
	for i := range TailTests {
		// A term that follows the count model, its tail learnt in full.
		b := float64(c.Baseline.TailMemory)
		*grown.Test(i) = TailTest{Buckets: b, Over: b * refOver, Excess: b * refOver * refScale * p.bias, Far: b * refOver * (1 - p.bias)}
	}
	watched := &WatchMatch{Pattern: "x", Category: "dangerous_challenge"}
	for _, tc := range []struct {
		name  string
		surge []float64 // the last buckets of history and the current one
		tail  Tail
		watch *WatchMatch
		pages bool
	}{
		{"young, to 40 for two buckets", []float64{40, 40}, Tail{}, nil, false},
		{"young, to 70 for two buckets", []float64{70, 70}, Tail{}, nil, true},
		{"young, to 45 for three buckets", []float64{45, 45, 45}, Tail{}, nil, true},
		{"grown tail, to 40 for two buckets", []float64{40, 40}, grown, nil, true},
		{"watched, to 40 for two buckets", []float64{40, 40}, Tail{}, watched, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := quiet(60)
			h[20] = 80 // a spike it came straight back from
			n := len(tc.surge)
			copy(h[len(h)-(n-1):], tc.surge[:n-1])
			x := tc.surge[n-1]
			o := &Observation{Term: "hashtag:x", Width: time.Minute, Mentions: x, MentionHistory: h,
				DayAgo: math.NaN(), LearnDayAgo: math.NaN(), Tail: tc.tail, Watch: tc.watch}
			if _, ok := d.Detect(o); ok != tc.pages {
				t.Errorf("paged %v, want %v", ok, tc.pages)
			}
			// Held back or not, the bucket is as surprising: its strength,
			// and so its anomaly score, passes the thresholds.
			if r, _ := d.strength(&analysis{o: o, mp: &d.mp}); r < 1 {
				t.Errorf("strength %.2f, below the thresholds", r)
			}
		})
	}
}
