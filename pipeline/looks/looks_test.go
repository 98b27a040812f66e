package looks

import (
	"slices"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/pipeline/tracked"
)

var t0 = time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)

func newLooks(t *testing.T, enabled bool) *Looks {
	t.Helper()
	c := detectors.DefaultConfig()
	c.Early.Enabled = enabled
	return New(c)
}

// TestDue: a look is due once each interval of event time, never with
// early firing off or before event time has begun.
func TestDue(t *testing.T) {
	for _, tt := range []struct {
		name    string
		enabled bool
		marks   []time.Duration // watermarks after t0; -1: none yet
		want    []bool
	}{
		{"off", false, []time.Duration{0, 10 * time.Second, time.Minute}, []bool{false, false, false}},
		{"no event time yet", true, []time.Duration{-1}, []bool{false}},
		{"once an interval", true,
			[]time.Duration{0, 3 * time.Second, 9999 * time.Millisecond, 10 * time.Second, 15 * time.Second, 45 * time.Second, 44 * time.Second},
			[]bool{true, false, false, true, false, true, false}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := newLooks(t, tt.enabled)
			for i, d := range tt.marks {
				wm := t0.Add(d)
				if d < 0 {
					wm = time.Time{}
				}
				if got := l.Due(wm); got != tt.want[i] {
					t.Errorf("watermark %v: due %v, want %v", d, got, tt.want[i])
				}
			}
		})
	}
}

// visited is who a look visited: "key@bucket index".
func visited(l *Looks, open []time.Time, elapsed []float64, terms map[uint64]*tracked.Term) []string {
	var got []string
	l.Visit(open, elapsed, terms, func(i int, st *tracked.Term) {
		got = append(got, st.Key+"@"+string(rune('0'+i)))
	})
	slices.Sort(got)
	return got
}

// TestVisit: the first look, and the first after a Rescan, visits every
// tracked term in every open bucket; the others each term touched since the
// look before, once however often it was touched, and not at all a term no
// longer tracked or tracked anew; once a bucket is complete, the terms its
// looks judged before are visited once more.
func TestVisit(t *testing.T) {
	var pool tracked.Pool
	l := newLooks(t, true)
	b0, b1 := t0, t0.Add(time.Minute)
	terms := map[uint64]*tracked.Term{}
	term := func(key string, h uint64) *tracked.Term {
		st := tracked.NewTerm(key, event.KindHashtag, h, 10)
		terms[h] = st
		return st
	}
	a, b, c := term("a", 1), term("b", 2), term("c", 3)
	touch := func(st *tracked.Term, start time.Time) { l.Touch(st, st.Bucket(start, &pool), start) }
	open := []time.Time{b0, b1}

	if got, want := visited(l, open, []float64{0.5, 0}, terms), []string{"a@0", "a@1", "b@0", "b@1", "c@0", "c@1"}; !slices.Equal(got, want) {
		t.Fatalf("first look visited %v, want every term in every bucket %v", got, want)
	}
	if got := visited(l, open, []float64{0.6, 0}, terms); len(got) != 0 {
		t.Fatalf("nothing touched: visited %v", got)
	}

	touch(a, b0)
	touch(a, b0)
	touch(b, b1)
	touch(c, b0)
	delete(terms, 3) // c is no longer tracked
	if got, want := visited(l, open, []float64{0.7, 0.1}, terms), []string{"a@0", "b@1"}; !slices.Equal(got, want) {
		t.Fatalf("visited %v, want the touched terms still tracked %v", got, want)
	}
	touch(b, b1)
	term("c", 3) // tracked anew: the old c's touch is not its
	touch(c, b0)
	if got, want := visited(l, open, []float64{0.8, 0.2}, terms), []string{"b@1"}; !slices.Equal(got, want) {
		t.Fatalf("visited %v, want %v", got, want)
	}

	// a judged in b0: marked looked by Candidate, as the engine does.
	touch(a, b0)
	l.Visit(open, []float64{0.9, 0.3}, terms, func(i int, st *tracked.Term) {
		l.Candidate(st, st.At(open[i]), 100, 0.9)
	})
	if got, want := visited(l, open, []float64{1, 0.4}, terms), []string{"a@0"}; !slices.Equal(got, want) {
		t.Fatalf("bucket 0 complete: visited %v, want the term its looks judged %v", got, want)
	}
	if got := visited(l, open, []float64{1, 0.5}, terms); len(got) != 0 {
		t.Fatalf("complete bucket looked at again: visited %v, want none", got)
	}

	l.Rescan()
	if got, want := visited(l, open[1:], []float64{0.6}, terms), []string{"a@0", "b@0", "c@0"}; !slices.Equal(got, want) {
		t.Fatalf("after a rescan visited %v, want every term %v", got, want)
	}
	if n := len(l.buckets); n > 1 {
		t.Errorf("%d buckets known after bucket 0 closed, want at most 1", n)
	}

	off := newLooks(t, false)
	off.Touch(a, a.Bucket(b1, &pool), b1)
	if got := visited(off, open, []float64{1, 1}, terms); len(got) != 0 {
		t.Errorf("early firing off: visited %v", got)
	}
}

// TestCandidate: a term is judged early only at the least support, when its
// count moved since its last look (or its bucket has just become complete),
// and when the rest of the bucket at its recent level could make the least
// growth.
func TestCandidate(t *testing.T) {
	var pool tracked.Pool
	type look struct {
		mentions, elapsed float64
		want              bool
	}
	for _, tt := range []struct {
		name    string
		watched bool
		level   float64 // the term's recent buckets
		looks   []look
	}{
		{"under the least support", false, 0, []look{{9, 0.5, false}, {10, 0.5, true}}},
		{"watched: a lower support", true, 0, []look{{4, 0.5, false}, {5, 0.5, true}}},
		{"count unchanged", false, 0, []look{{20, 0.3, true}, {20, 0.6, false}, {21, 0.7, true}}},
		{"unchanged but now complete", false, 0, []look{{20, 0.9, true}, {20, 1, true}, {20, 1, false}}},
		// At a level of 40 a bucket, 2× growth needs mentions ≥ 0.5·(1+e)·40.
		{"cannot reach the growth", false, 40, []look{{29, 0.5, false}, {30, 0.5, true}, {39, 1, false}, {40, 1, true}}},
		{"watched: less growth", true, 40, []look{{19, 0.5, false}, {20, 0.5, true}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := newLooks(t, true)
			st := tracked.NewTerm("hashtag:x", event.KindHashtag, 1, 10)
			for range 5 {
				st.PushHistory(tt.level, 0, 0)
			}
			if tt.watched {
				st.Watch = &detectors.WatchMatch{}
			}
			tb := st.Bucket(t0, &pool)
			for _, lk := range tt.looks {
				if got := l.Candidate(st, tb, lk.mentions, lk.elapsed); got != lk.want {
					t.Errorf("%v mentions at %v of the bucket: candidate %v, want %v", lk.mentions, lk.elapsed, got, lk.want)
				}
			}
		})
	}
}
