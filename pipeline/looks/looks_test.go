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

// TestDue: a look at every term is due once each interval of event time,
// an urgent one at each urgent boundary between them, and none with early
// firing off or before event time has begun.
func TestDue(t *testing.T) {
	const n, u, a = None, Urgent, All
	for _, tt := range []struct {
		name    string
		enabled bool
		watch   time.Duration   // early.watch_interval; 0: the default
		marks   []time.Duration // watermarks after t0; -1: none yet
		want    []Look
	}{
		{"off", false, 0, []time.Duration{0, 10 * time.Second, time.Minute}, []Look{n, n, n}},
		{"no event time yet", true, 0, []time.Duration{-1}, []Look{n}},
		{"once an interval", true, 10 * time.Second,
			[]time.Duration{0, 3 * time.Second, 9999 * time.Millisecond, 10 * time.Second, 15 * time.Second, 45 * time.Second, 44 * time.Second},
			[]Look{a, n, n, a, n, a, n}},
		{"urgent ones between", true, 0,
			[]time.Duration{0, 1 * time.Second, 3 * time.Second, 3500 * time.Millisecond, 9999 * time.Millisecond, 10 * time.Second, 11 * time.Second, 15 * time.Second, 45 * time.Second, 44 * time.Second, 47 * time.Second},
			[]Look{a, n, u, n, u, a, n, u, a, n, u}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := detectors.DefaultConfig()
			c.Early.Enabled = tt.enabled
			if tt.watch > 0 {
				c.Early.WatchInterval = tt.watch
			}
			l := New(c)
			for i, d := range tt.marks {
				wm := t0.Add(d)
				if d < 0 {
					wm = time.Time{}
				}
				got := l.Due(wm)
				if got != tt.want[i] {
					t.Errorf("watermark %v: due %v, want %v", d, got, tt.want[i])
				}
				// Made, as the engine makes it: the first look at every
				// term, until which every look is one, is then behind.
				l.Visit(got, []time.Time{t0}, []float64{0}, nil, func(int, *tracked.Term) {})
			}
		})
	}
}

// visited is who a look visited: "key@bucket index".
func visited(l *Looks, open []time.Time, elapsed []float64, terms map[uint64]*tracked.Term) []string {
	return visitedBy(l, All, open, elapsed, terms)
}

func visitedBy(l *Looks, look Look, open []time.Time, elapsed []float64, terms map[uint64]*tracked.Term) []string {
	var got []string
	l.Visit(look, open, elapsed, terms, func(i int, st *tracked.Term) {
		got = append(got, st.Key+"@"+string(rune('0'+i)))
	})
	slices.Sort(got)
	return got
}

// termSet returns tracked terms by hash and a constructor that adds to them.
func termSet() (map[uint64]*tracked.Term, func(key string, h uint64) *tracked.Term) {
	terms := map[uint64]*tracked.Term{}
	return terms, func(key string, h uint64) *tracked.Term {
		st := tracked.NewTerm(key, event.KindHashtag, h, 10)
		terms[h] = st
		return st
	}
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
	terms, term := termSet()
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
	l.Visit(All, open, []float64{0.9, 0.3}, terms, func(i int, st *tracked.Term) {
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

// TestVisitUrgent: an urgent look visits only the urgent terms touched since
// the last look of either kind, and leaves the others to the next look at
// every term, which visits the urgent ones too if they moved.
func TestVisitUrgent(t *testing.T) {
	var pool tracked.Pool
	l := newLooks(t, true)
	b0 := t0
	terms, term := termSet()
	w, r, p := term("watched", 1), term("reported", 2), term("plain", 3)
	w.Watch = &detectors.WatchMatch{}
	// reported: a high-trust channel reported it in this bucket (count.Counter
	// marks the bucket urgent); plain: not urgent, whatever it is touched by.
	touch := func(st *tracked.Term, urgent bool) {
		tb := st.Bucket(b0, &pool)
		tb.Early.Urgent = tb.Early.Urgent || urgent && st != p
		l.Touch(st, tb, b0)
	}
	open := []time.Time{b0}
	visitedBy(l, All, open, []float64{0.1}, terms) // the first look visits every term

	for _, step := range []struct {
		name    string
		touch   func()
		look    Look
		elapsed float64
		want    []string
	}{
		{"urgent: the watched and the reported", func() { touch(w, true); touch(r, true); touch(p, false) }, Urgent, 0.2, []string{"reported@0", "watched@0"}},
		{"urgent: nothing moved since", func() {}, Urgent, 0.25, nil},
		{"urgent: the reported bucket stays urgent", func() { touch(w, true); touch(w, true); touch(r, false); touch(p, true) }, Urgent, 0.3, []string{"reported@0", "watched@0"}},
		{"every term moved since the last such look", func() {}, All, 0.4, []string{"plain@0", "reported@0", "watched@0"}},
		{"urgent: none after the look at every term", func() {}, Urgent, 0.45, nil},
		{"urgent: one touched after it", func() { touch(w, true) }, Urgent, 0.5, []string{"watched@0"}},
	} {
		step.touch()
		if got := visitedBy(l, step.look, open, []float64{step.elapsed}, terms); !slices.Equal(got, step.want) {
			t.Errorf("%s: visited %v, want %v", step.name, got, step.want)
		}
	}

	// After a restore the touched lists are gone: the next look, due at an
	// urgent boundary, visits every term.
	if got := l.Due(t0.Add(20 * time.Second)); got != All {
		t.Fatalf("due %v at a boundary of both", got)
	}
	l.Rescan()
	if got := l.Due(t0.Add(22 * time.Second)); got != All {
		t.Errorf("first look after a rescan: due %v, want All", got)
	}
	if got, want := visitedBy(l, All, open, []float64{0.6}, terms), []string{"plain@0", "reported@0", "watched@0"}; !slices.Equal(got, want) {
		t.Errorf("after a rescan visited %v, want %v", got, want)
	}
	if got := l.Due(t0.Add(24 * time.Second)); got != Urgent {
		t.Errorf("the look after it: due %v, want Urgent", got)
	}

	// Without an urgent cadence of its own (early.watch_interval at
	// early.interval) nothing is urgent.
	c := detectors.DefaultConfig()
	c.Early.WatchInterval = c.Early.Interval
	same := New(c)
	visitedBy(same, All, open, []float64{0.1}, terms)
	same.Touch(w, w.Bucket(b0, &pool), b0)
	if got := visitedBy(same, Urgent, open, []float64{0.2}, terms); len(got) != 0 {
		t.Errorf("no urgent cadence: an urgent look visited %v", got)
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

// TestJumped: a term's next bucket is urgent when its bucket before reached
// the least support and the least growth over its recent level, and only
// where urgent looks have a cadence of their own.
func TestJumped(t *testing.T) {
	var pool tracked.Pool
	for _, tt := range []struct {
		name  string
		level float64 // the term's recent buckets
		prev  uint64  // mentions in the bucket before; 0: none open
		same  bool    // early.watch_interval at early.interval
		want  bool
	}{
		{"no bucket before", 0, 0, false, false},
		{"under the least support", 0, 9, false, false},
		{"a new term at the least support", 0, 10, false, true},
		{"under the least growth", 20, 39, false, false},
		{"at the least growth", 20, 40, false, true},
		{"no urgent cadence", 20, 40, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := detectors.DefaultConfig()
			if tt.same {
				c.Early.WatchInterval = c.Early.Interval
			}
			l := New(c)
			st := tracked.NewTerm("hashtag:x", event.KindHashtag, 1, 10)
			for range 5 {
				st.PushHistory(tt.level, 0, 0)
			}
			var prev *tracked.Bucket
			if tt.prev > 0 {
				prev = st.Bucket(t0, &pool)
				prev.Mentions = tt.prev
			}
			if got := l.Jumped(st, prev); got != tt.want {
				t.Errorf("Jumped = %v, want %v", got, tt.want)
			}
		})
	}
}
