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

// judgeEarly judges the open buckets if event time has crossed an early
// interval boundary since the last judgement.
func (e *Engine) judgeEarly(ctx context.Context) error {
	if !e.looks.Due(e.watermark) {
		return nil
	}
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
	starts := make([]time.Time, len(open))
	elapsed := make([]float64, len(open))
	for i, wb := range open {
		starts[i] = wb.Start
		elapsed[i] = min(float64(e.watermark.Sub(wb.Start))/float64(e.bucket), 1)
	}
	type look struct {
		bucket int
		key    string
		st     *tracked.Term
	}
	var looks []look
	e.looks.Visit(starts, elapsed, e.tracked, func(i int, st *tracked.Term) {
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
		if m, _ := e.countsOf(st, wb, tb); e.looks.Candidate(st, tb, m, elapsed[i]) || e.trustedReport(tb) {
			looks = append(looks, look{i, st.Key, st})
		}
	})
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
	var norm detectors.Platform
	e.noteAlerting()
	// Each look's observation is done with before the next is made.
	for j, l := range looks {
		e.topCounts.Reset()
		wb := open[l.bucket]
		if j == 0 || looks[j-1].bucket != l.bucket {
			norm = e.platform.Open(wb)
		}
		st := l.st
		e.catchUp(st, first)
		o := e.earlyObservation(st, wb, first)
		o.Platform = norm
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
	if need := 3 * (len(st.Mentions.View()) + open); cap(e.earlyHist) < need {
		e.earlyHist = make([]float64, 0, need)
	}
	buf := e.earlyHist[:0]
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
