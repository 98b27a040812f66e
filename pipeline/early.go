package pipeline

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/pipeline/tracked"
	"github.com/trendwatch/trendwatch/sketches"
)

// Early firing (detectors.early): a bucket closes only once the slowest
// partition has passed its end and the allowed lateness, minutes after a
// surge began. Every early interval of event time the engine judges each open
// bucket the watermark has entered on the counts so far, and the share of the
// bucket they cover: the watermark is the slowest active partition's event
// time, and records ahead of it are parked, so what is counted is exactly the
// events up to it (but for late ones, which only add). Early pages open
// alerts the bucket's final judgement at close confirms, escalates or
// retracts (detectors.Lifecycle).
//
// The clock is event time, not the wall clock: live, the two move together;
// in a replay or a backtest early firing does what it would have done live,
// and a restart from a checkpoint judges the same buckets again without
// paging twice, because the lifecycle in the checkpoint holds its early
// alerts.

// earlyState is the engine's early-firing configuration and clock.
type earlyState struct {
	every time.Duration // 0: disabled
	// min is the fewest mentions so far on which an early detector can fire
	// (minWatch for a watched term), and growth the least growth the surge
	// needs (growthWatch the watchlist's): most tracked terms are below
	// them and cost a few comparisons (see candidate).
	min, minWatch       float64
	growth, growthWatch float64
	last                time.Time // the latest interval boundary judged
	// hist holds the histories of one early observation; the detectors
	// do not keep them.
	hist []float64
	// A look visits the terms whose counts moved since the last one, not
	// every tracked term: of tens of thousands tracked, a few hundred are
	// mentioned in ten seconds, and the scan of all of them was a tenth of
	// the engine's time. gen numbers the looks; a term's open bucket
	// marked with the current gen is on its bucket's touched list.
	gen     uint32
	buckets map[time.Time]*earlyBucket
	// lastStart and lastB are the bucket touch found last: nearly every
	// mention falls in the same bucket as the one before.
	lastStart time.Time
	lastB     *earlyBucket
	// full is set until the first look, and by a restore: the open buckets'
	// early state is not in the checkpoint, so every tracked term is
	// visited once.
	full bool
}

// earlyBucket is what an open bucket's next early look must visit.
type earlyBucket struct {
	// touched are the tracked terms whose counts in the bucket moved since
	// the last look.
	touched []*tracked.Term
	// looked are the terms the bucket's early looks have judged (Engine.candidate):
	// each gets one more look when the bucket becomes complete.
	looked []*tracked.Term
	// complete is set once a look found the bucket complete.
	complete bool
}

func newEarlyState(c detectors.Config) earlyState {
	if !c.Early.Enabled {
		return earlyState{}
	}
	return earlyState{every: c.Early.Interval, gen: 1, full: true, buckets: make(map[time.Time]*earlyBucket),
		min:      min(c.Surge.MinSupport, c.Novelty.MinCount),
		minWatch: min(c.Surge.MinSupport, c.Novelty.MinCount, c.Watchlist.MinSupport),
		growth:   c.Surge.MinGrowth, growthWatch: min(c.Surge.MinGrowth, c.Watchlist.MinGrowth)}
}

// touch notes that st's counts in its open bucket tb, which starts at
// start, moved: the next early look visits it.
func (s *earlyState) touch(st *tracked.Term, tb *tracked.Bucket, start time.Time) {
	if s.every <= 0 || tb.Early.Mark == s.gen {
		return
	}
	tb.Early.Mark = s.gen
	s.bucket(start).touched = append(s.bucket(start).touched, st)
}

// bucket returns the early state of the open bucket at start.
func (s *earlyState) bucket(start time.Time) *earlyBucket {
	if s.lastB != nil && s.lastStart.Equal(start) {
		return s.lastB
	}
	b := s.buckets[start]
	if b == nil {
		b = &earlyBucket{}
		s.buckets[start] = b
	}
	s.lastStart, s.lastB = start, b
	return b
}

// rescan makes the next look visit every tracked term.
func (s *earlyState) rescan() {
	if s.every <= 0 {
		return
	}
	s.full = true
	s.gen++
	clear(s.buckets)
	s.lastB = nil
}

// forget drops the early state of the buckets before first, which are closed.
func (s *earlyState) forget(first time.Time) {
	for start := range s.buckets {
		if start.Before(first) {
			delete(s.buckets, start)
		}
	}
	if s.lastB != nil && s.lastStart.Before(first) {
		s.lastB = nil
	}
}

// candidate reports whether st, with mentions so far in the open bucket tb
// (nil when it has none), elapsed of the bucket counted, is worth an early
// judgement: the full one fits a baseline and costs tens of microseconds,
// and runs for every tracked term at every look otherwise. A term is not
// worth it below the least support, or when its count has not moved since
// its last look at this bucket (with less time left, the same count is
// weaker evidence) unless the bucket has just become complete; nor when the
// count so far plus the rest of the bucket at the term's recent level cannot
// reach the least growth over half that level: a page on the bucket's own
// test needs mentions + (1-elapsed)·E ≥ growth·E, and the baseline's E is
// rarely under half the recent median. The surge's window tests need less
// of the bucket itself (a surge some buckets old, which has usually paged
// already), so the filter passes over some of their early pages, and the
// riskiest: with it, none of the 366 early pages over the NAB corpus was
// retracted; without it, one of the first 245 (34 files) was. A term it
// passes over still pages at close.
func (e *Engine) candidate(st *tracked.Term, tb *tracked.Bucket, mentions, elapsed float64) bool {
	least, growth := e.early.min, e.early.growth
	if st.Watch != nil {
		least, growth = e.early.minWatch, e.early.growthWatch
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

// judgeEarly judges the open buckets if event time has crossed an early
// interval boundary since the last judgement.
func (e *Engine) judgeEarly(ctx context.Context) error {
	if e.early.every <= 0 || e.watermark.IsZero() {
		return nil
	}
	tick := e.watermark.Truncate(e.early.every)
	if !tick.After(e.early.last) {
		return nil
	}
	e.early.last = tick
	first := e.window.Closed()
	if first.IsZero() {
		return nil
	}
	var open []*sketches.Bucket
	for b := first; b.Before(e.watermark); b = b.Add(e.bucket) {
		if wb := e.window.Open(b); wb != nil {
			open = append(open, wb)
		}
	}
	evs := e.judgeOpenEarly(open, first)
	if len(evs) == 0 {
		return nil
	}
	if err := e.write(ctx, nil, evs, nil); err != nil {
		return err
	}
	for _, o := range e.obs {
		for _, ev := range evs {
			o.Alert(ev)
		}
	}
	for _, ev := range evs {
		e.m.alerts.WithLabelValues(ev.Alert.Detector, string(ev.To)).Inc()
		if ev.Alert.Early && ev.To == alert.StatusOpen {
			e.m.early.WithLabelValues(ev.Alert.Detector).Inc()
		}
	}
	e.m.openAlert.Set(float64(len(e.life.Open())))
	return nil
}

// judgeOpenEarly judges the tracked terms in the open buckets, oldest
// first, and returns the alerts that opens. first is the oldest open bucket.
func (e *Engine) judgeOpenEarly(open []*sketches.Bucket, first time.Time) []alert.Event {
	if len(open) == 0 {
		return nil
	}
	elapsed := make([]float64, len(open))
	for i, wb := range open {
		elapsed[i] = min(float64(e.watermark.Sub(wb.Start))/float64(e.bucket), 1)
	}
	type look struct {
		bucket int
		key    string
		st     *tracked.Term
	}
	var looks []look
	consider := func(i int, st *tracked.Term) {
		wb := open[i]
		tb := st.Open[wb.Start]
		// A family is judged only when its mentions so far are spread over
		// several spellings, as at the close: a surge split to slip under
		// each spelling's bar is the evasion families are for, and it must
		// page as soon as one on a single spelling would. Should the rest
		// of the bucket come by one spelling, the close retracts the page.
		if st.Kind == event.KindFamily && !spread(tb) {
			return
		}
		wasLooked := tb != nil && tb.Early.Looked
		if m, _ := e.countsOf(st, wb, tb); e.candidate(st, tb, m, elapsed[i]) || e.trustedReport(tb) {
			looks = append(looks, look{i, st.Key, st})
		}
		if tb != nil && tb.Early.Looked && !wasLooked {
			eb := e.early.bucket(wb.Start)
			eb.looked = append(eb.looked, st)
		}
	}
	e.early.forget(first)
	if e.early.full {
		// Most are passed over in a few comparisons (see candidate).
		e.early.full = false
		for _, st := range e.tracked {
			for i := range open {
				consider(i, st)
			}
		}
		for _, eb := range e.early.buckets {
			clear(eb.touched)
			eb.touched = eb.touched[:0]
		}
	} else {
		for i, wb := range open {
			eb := e.early.bucket(wb.Start)
			visit := eb.touched
			if elapsed[i] >= 1 && !eb.complete {
				eb.complete = true
				visit = append(visit, eb.looked...)
			}
			for _, st := range visit {
				// A term no longer tracked, or tracked anew, is not the
				// one touched.
				if e.tracked[st.Hash] == st {
					consider(i, st)
				}
			}
			clear(eb.touched)
			eb.touched = eb.touched[:0]
		}
	}
	// Counts that move from here on are the next look's.
	e.early.gen++
	if len(looks) == 0 {
		return nil
	}
	slices.SortFunc(looks, func(a, b look) int {
		if a.bucket != b.bucket {
			return a.bucket - b.bucket
		}
		return strings.Compare(a.key, b.key)
	})
	// A term both touched and looked at before is visited twice when its
	// bucket becomes complete; it is judged once.
	looks = slices.Compact(looks)
	var evs []alert.Event
	var platform detectors.Platform
	e.noteAlerting()
	// Each look's observation is done with before the next is made.
	for j, l := range looks {
		e.topCounts.Reset()
		wb := open[l.bucket]
		if j == 0 || looks[j-1].bucket != l.bucket {
			platform = detectors.Platform{
				Mentions: float64(wb.Mentions.Total() - e.familyMentions.get(wb.Start)),
				Events:   float64(wb.Events),
				Reports:  float64(wb.ReportEvents),
			}
			if wb.Events > 0 {
				platform.ReportRate = float64(wb.ReportEvents) / float64(wb.Events)
			}
		}
		st := l.st
		e.catchUp(st, first)
		o := e.earlyObservation(st, wb, first)
		o.Platform = platform
		n := len(evs)
		fs := e.set.EvaluateEarly(&o, elapsed[l.bucket])
		e.withSameAs(fs, st, st.Open[wb.Start], wb)
		evs = append(evs, e.life.ObserveEarly(&o, fs)...)
		if tb := st.Open[wb.Start]; tb != nil && st.Kind == event.KindFamily {
			withMembers(evs[n:], tb, e.cfg.TopLabels)
		}
	}
	return evs
}

// earlyObservation is st in the open bucket wb so far: its history is the
// closed buckets' followed by the open ones before wb, as they stand.
func (e *Engine) earlyObservation(st *tracked.Term, wb *sketches.Bucket, first time.Time) detectors.Observation {
	open := int(wb.Start.Sub(first) / e.bucket)
	if need := 3 * (len(st.Mentions.View()) + open); cap(e.early.hist) < need {
		e.early.hist = make([]float64, 0, need)
	}
	buf := e.early.hist[:0]
	history := func(s *tracked.Series, open func(ob *sketches.Bucket) float64) []float64 {
		from := len(buf)
		buf = s.AppendTo(buf)
		for b := first; b.Before(wb.Start); b = b.Add(e.bucket) {
			var v float64
			if ob := e.window.Open(b); ob != nil {
				v = open(ob)
			}
			buf = append(buf, v)
		}
		h := buf[from:len(buf):len(buf)]
		return h[max(0, len(h)-e.cfg.History):]
	}
	mh := history(st.Mentions, func(ob *sketches.Bucket) float64 { m, _ := e.counts(st, ob); return m })
	rh := history(st.Reports, func(ob *sketches.Bucket) float64 { _, r := e.counts(st, ob); return r })
	ch := history(st.Creators, func(*sketches.Bucket) float64 { return 0 })
	m, r := e.counts(st, wb)
	o := detectors.Observation{
		Term: st.Key, Bucket: wb.Start, Width: e.bucket,
		Mentions: m, Reports: r,
		MentionHistory:  e.known(mh, wb.Start),
		ReportHistory:   e.known(rh, wb.Start),
		CreatorHistory:  e.known(ch, wb.Start),
		PartialCreators: true,
		DayAgo:          e.dayAgo(st.Hash, wb.Start),
		Watch:           st.Watch,
		IncidentOpen:    e.incidentOpen(st),
		Tail:            st.Tail,
	}
	if tb := st.Open[wb.Start]; tb != nil {
		tb.Describe(&o, e.cfg.TopLabels, &e.topCounts)
	}
	return o
}

// counts are st's mentions and reports in the open bucket wb so far, as
// the detectors judge them at close (see judged).
func (e *Engine) counts(st *tracked.Term, wb *sketches.Bucket) (mentions, reports float64) {
	return e.countsOf(st, wb, st.Open[wb.Start])
}

// countsOf is counts with st's open bucket tb (nil: none) already looked up.
func (e *Engine) countsOf(st *tracked.Term, wb *sketches.Bucket, tb *tracked.Bucket) (mentions, reports float64) {
	return e.judged(st, wb, tb)
}

// trustedReport reports whether tb holds a report from a high-trust channel.
func (e *Engine) trustedReport(tb *tracked.Bucket) bool {
	if tb == nil {
		return false
	}
	for c, n := range tb.ByChannel {
		if n > 0 && e.set.HighTrustChannel(event.Channel(c)) {
			return true
		}
	}
	return false
}
