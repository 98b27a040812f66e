// Package looks keeps the bookkeeping of early firing (detectors.early):
// when the next early look is due in event time, and which tracked terms it
// must visit in each open bucket. A look visits the terms whose counts moved
// since the one before, not every tracked term: of tens of thousands
// tracked, a few hundred are mentioned in ten seconds, and a scan of all of
// them was a tenth of the engine's time. Most of those it visits are passed
// over in a few comparisons (Candidate); the engine judges the rest.
//
// The clock is event time, not the wall clock: live, the two move together;
// in a replay or a backtest the looks fall where they would have live.
package looks

import (
	"time"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/pipeline/tracked"
)

// Looks is the early looks' schedule and what the next one must visit. Its
// methods are not safe for concurrent use: the engine's goroutine owns it.
type Looks struct {
	every time.Duration // 0: disabled
	// urgentEvery is how often the urgent terms (UrgentTerm) are looked at
	// between the looks at every term (detectors.EarlyConfig.WatchEvery);
	// 0 when that is every.
	urgentEvery time.Duration
	// min is the fewest mentions so far on which an early detector can fire
	// (minWatch for a watched term), and growth the least growth the surge
	// needs (growthWatch the watchlist's): most tracked terms are below
	// them and cost a few comparisons (see Candidate).
	min, minWatch       float64
	growth, growthWatch float64
	last                time.Time // the latest interval boundary looked at
	lastUrgent          time.Time // the latest urgent boundary looked at
	// gen numbers the looks at every term, urgentGen all looks; a term's
	// open bucket marked with the current one is on its bucket's touched
	// (urgent) list.
	gen, urgentGen uint32
	buckets        map[time.Time]*bucket
	// lastStart and lastB are the bucket Touch found last: nearly every
	// mention falls in the same bucket as the one before.
	lastStart time.Time
	lastB     *bucket
	// full is set until the first look, and by Rescan: the open buckets'
	// touched lists are not in the checkpoint, so every tracked term is
	// visited once.
	full bool
}

// bucket is what an open bucket's next look must visit.
type bucket struct {
	// touched are the tracked terms whose counts in the bucket moved since
	// the last look at every term.
	touched []*tracked.Term
	// urgent are the urgent terms (see Touch) whose counts moved since the
	// last look of either kind.
	urgent []*tracked.Term
	// looked are the terms the bucket's looks have judged (Candidate): each
	// gets one more look when the bucket becomes complete.
	looked []*tracked.Term
	// complete is set once a look found the bucket complete.
	complete bool
}

// New returns the looks of c.Early; none when early firing is off.
func New(c detectors.Config) *Looks {
	if !c.Early.Enabled || c.Early.Interval <= 0 {
		return &Looks{}
	}
	l := &Looks{every: c.Early.Interval, gen: 1, urgentGen: 1, full: true, buckets: make(map[time.Time]*bucket),
		min:      min(c.Surge.MinSupport, c.Novelty.MinCount),
		minWatch: min(c.Surge.MinSupport, c.Novelty.MinCount, c.Watchlist.MinSupport),
		growth:   c.Surge.MinGrowth, growthWatch: min(c.Surge.MinGrowth, c.Watchlist.MinGrowth)}
	if w := c.Early.WatchEvery(); w > 0 && w < l.every {
		l.urgentEvery = w
	}
	return l
}

// Look is which terms a look visits.
type Look int

const (
	// None: no look is due.
	None Look = iota
	// Urgent looks visit only the urgent terms whose counts moved.
	Urgent
	// All looks visit every term whose counts moved.
	All
)

// Due reports which look is due now that event time is at watermark: All
// when it has crossed an interval boundary since the last look at every
// term, Urgent when only an urgent boundary; the look is taken as made.
// The first look, and the first after Rescan, is All.
func (l *Looks) Due(watermark time.Time) Look {
	if l.every <= 0 || watermark.IsZero() {
		return None
	}
	if tick := watermark.Truncate(l.every); tick.After(l.last) {
		l.last = tick
		if l.urgentEvery > 0 {
			l.lastUrgent = watermark.Truncate(l.urgentEvery)
		}
		return All
	}
	if l.urgentEvery <= 0 {
		return None
	}
	tick := watermark.Truncate(l.urgentEvery)
	if !tick.After(l.lastUrgent) {
		return None
	}
	l.lastUrgent = tick
	if l.full {
		return All
	}
	return Urgent
}

// Touch notes that st's counts in its open bucket tb, which starts at
// start, moved: the next look visits it, and, when the term is urgent
// (UrgentTerm), the next urgent look too.
func (l *Looks) Touch(st *tracked.Term, tb *tracked.Bucket, start time.Time) {
	if l.every <= 0 {
		return
	}
	if tb.Early.Mark != l.gen {
		tb.Early.Mark = l.gen
		b := l.bucket(start)
		b.touched = append(b.touched, st)
	}
	if l.urgentEvery > 0 && tb.Early.UrgentMark != l.urgentGen && UrgentTerm(st, tb) {
		tb.Early.UrgentMark = l.urgentGen
		b := l.bucket(start)
		b.urgent = append(b.urgent, st)
	}
}

// UrgentTerm reports whether st's open bucket tb is looked at every
// early.watch_interval: the term is watched, or tb is marked urgent (a
// high-trust channel reported the term in it, or its bucket before jumped).
// Never a family: it is judged only while its mentions so far are spread
// over its spellings (detect.spread), which a few seconds of posts do not
// tell, and judged every two seconds a watched family paged on the first
// posts of a bucket, one of each spelling, and its close, the Latin
// spelling on nine posts of ten, retracted it
// (pipeline.TestSpellingJoinsIncident).
func UrgentTerm(st *tracked.Term, tb *tracked.Bucket) bool {
	return st.Kind != event.KindFamily && (st.Watch != nil || tb != nil && tb.Early.Urgent)
}

// Jumped reports whether a term whose bucket before was prev jumped there:
// at least the least support and the least growth over the term's recent
// level, as Candidate asks of a bucket so far. Its next bucket is then
// urgent: a known term's surge pages in its second bucket at the earliest,
// once that bucket's counts confirm the first (the lone-outlier rule), and
// looked at every two seconds it pages as soon as they do rather than at the
// next ten-second look.
func (l *Looks) Jumped(st *tracked.Term, prev *tracked.Bucket) bool {
	if l.urgentEvery <= 0 || prev == nil {
		return false
	}
	m := float64(prev.Mentions)
	return m >= l.min && m >= l.growth*st.RecentLevel()
}

func (l *Looks) bucket(start time.Time) *bucket {
	if l.lastB != nil && l.lastStart.Equal(start) {
		return l.lastB
	}
	b := l.buckets[start]
	if b == nil {
		b = &bucket{}
		l.buckets[start] = b
	}
	l.lastStart, l.lastB = start, b
	return b
}

// Rescan makes the next look visit every tracked term, as after a restore.
func (l *Looks) Rescan() {
	if l.every <= 0 {
		return
	}
	l.full = true
	l.gen++
	l.urgentGen++
	clear(l.buckets)
	l.lastB = nil
}

// Visit calls consider with each tracked term look must visit in each
// open bucket: open are the buckets' starts, oldest first, and elapsed the
// share of each that event time has passed (1: complete). A look at All
// visits each term whose counts moved since the last one, and, once its
// bucket has become complete, each the bucket's looks judged before (the
// rest of the bucket may have taken their evidence back); an Urgent look
// visits the urgent terms whose counts moved since the last look of either
// kind. terms are the tracked terms by hash: a term no longer in it, or
// tracked anew, is not the one touched. Open buckets older than open[0]
// have closed and are forgotten.
func (l *Looks) Visit(look Look, open []time.Time, elapsed []float64, terms map[uint64]*tracked.Term, consider func(i int, st *tracked.Term)) {
	if l.every <= 0 || len(open) == 0 || look == None {
		return
	}
	l.forget(open[0])
	visit := func(i int, st *tracked.Term) {
		tb := st.At(open[i])
		was := tb != nil && tb.Early.Looked
		consider(i, st)
		if tb != nil && tb.Early.Looked && !was {
			b := l.bucket(open[i])
			b.looked = append(b.looked, st)
		}
	}
	// Urgent terms visited now, by a look of either kind, are the next
	// urgent look's only if their counts move again.
	defer func() {
		for _, b := range l.buckets {
			clear(b.urgent)
			b.urgent = b.urgent[:0]
		}
		l.urgentGen++
	}()
	if look == Urgent {
		for i, start := range open {
			for _, st := range l.bucket(start).urgent {
				if terms[st.Hash] == st {
					visit(i, st)
				}
			}
		}
		return
	}
	if l.full {
		l.full = false
		for _, st := range terms {
			for i := range open {
				visit(i, st)
			}
		}
		for _, b := range l.buckets {
			clear(b.touched)
			b.touched = b.touched[:0]
		}
	} else {
		for i, start := range open {
			b := l.bucket(start)
			due := b.touched
			if elapsed[i] >= 1 && !b.complete {
				b.complete = true
				due = append(due, b.looked...)
			}
			for _, st := range due {
				if terms[st.Hash] == st {
					visit(i, st)
				}
			}
			clear(b.touched)
			b.touched = b.touched[:0]
		}
	}
	// Counts that move from here on are the next look's.
	l.gen++
}

// forget drops what it knows of the buckets before first, which are closed.
func (l *Looks) forget(first time.Time) {
	for start := range l.buckets {
		if start.Before(first) {
			delete(l.buckets, start)
		}
	}
	if l.lastB != nil && l.lastStart.Before(first) {
		l.lastB = nil
	}
}

// Candidate reports whether st, with mentions so far in its open bucket tb
// (nil when it has none), elapsed of the bucket counted, is worth an early
// judgement: the full one fits a baseline and costs tens of microseconds,
// and would run for every term visited otherwise. A term is not worth it
// below the least support, or when its count has not moved since its last
// look at this bucket (with less time left, the same count is weaker
// evidence) unless the bucket has just become complete; nor when the count
// so far plus the rest of the bucket at the term's recent level cannot reach
// the least growth over half that level: a page on the bucket's own test
// needs mentions + (1-elapsed)·E ≥ growth·E, and the baseline's E is rarely
// under half the recent median. The surge's window tests need less of the
// bucket itself (a surge some buckets old, which has usually paged already),
// so the filter passes over some of their early pages, and the riskiest:
// with it, none of the 366 early pages over the NAB corpus was retracted;
// without it, one of the first 245 (34 files) was. A term it passes over
// still pages at close.
func (l *Looks) Candidate(st *tracked.Term, tb *tracked.Bucket, mentions, elapsed float64) bool {
	least, growth := l.min, l.growth
	if st.Watch != nil {
		least, growth = l.minWatch, l.growthWatch
	}
	if mentions < least {
		return false
	}
	if tb != nil {
		complete := elapsed >= 1
		if tb.Early.Looked && tb.Early.Mentions == mentions && (tb.Early.Complete || !complete) {
			return false
		}
		tb.Early.Looked, tb.Early.Mentions, tb.Early.Complete = true, mentions, complete
	}
	return mentions >= 0.5*(growth-1+elapsed)*st.RecentLevel()
}
