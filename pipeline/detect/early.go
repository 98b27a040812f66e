package detect

import (
	"slices"
	"strings"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/pipeline/looks"
	"github.com/trendwatch/trendwatch/pipeline/tracked"
	"github.com/trendwatch/trendwatch/sketches"
)

// Early firing (detectors.early): a bucket closes only once the slowest
// partition has passed its end and the allowed lateness, minutes after a
// surge began. Every early interval of event time (pipeline/looks) the judge
// judges each open bucket the watermark has entered on the counts so far,
// and the share of the bucket they cover: the watermark is the slowest
// active partition's event time, and records ahead of it are parked, so
// what is counted is exactly the events up to it (but for late ones, which
// only add). Early pages open alerts the bucket's final judgement at close
// confirms, escalates or retracts (detectors.Lifecycle).
//
// The clock is event time, not the wall clock: live, the two move together;
// in a replay or a backtest early firing does what it would have done live,
// and a restart from a checkpoint judges the same buckets again without
// paging twice, because the lifecycle in the checkpoint holds its early
// alerts.

// Early judges the open buckets at watermark if event time has crossed an
// early interval boundary since the last look, and returns the alert
// transitions that makes.
func (j *Judge) Early(watermark time.Time) []alert.Event {
	kind := j.looks.Due(watermark)
	if kind == looks.None {
		return nil
	}
	first := j.window.Closed()
	if first.IsZero() {
		return nil
	}
	var open []*sketches.Bucket
	for b := first; b.Before(watermark); b = b.Add(j.cfg.Bucket) {
		if wb := j.window.Open(b); wb != nil {
			open = append(open, wb)
		}
	}
	return j.judgeOpenEarly(kind, open, first, watermark)
}

// judgeOpenEarly judges the tracked terms in the open buckets, oldest
// first, at watermark, and returns the alerts that opens. first is the
// oldest open bucket.
func (j *Judge) judgeOpenEarly(kind looks.Look, open []*sketches.Bucket, first, watermark time.Time) []alert.Event {
	if len(open) == 0 {
		return nil
	}
	starts := make([]time.Time, len(open))
	elapsed := make([]float64, len(open))
	for i, wb := range open {
		starts[i] = wb.Start
		elapsed[i] = min(float64(watermark.Sub(wb.Start))/float64(j.cfg.Bucket), 1)
	}
	type look struct {
		bucket int
		key    string
		st     *tracked.Term
	}
	var looks []look
	j.looks.Visit(kind, starts, elapsed, j.tracked, func(i int, st *tracked.Term) {
		wb := open[i]
		tb := st.At(wb.Start)
		// A family is judged only when its mentions so far are spread over
		// several spellings, as at the close: a surge split to slip under
		// each spelling's bar is the evasion families are for, and it must
		// page as soon as one on a single spelling would. Should the rest
		// of the bucket come by one spelling, the close retracts the page.
		if st.Kind == event.KindFamily && !spread(tb) {
			return
		}
		if m, _ := j.judged(st, wb, tb); j.looks.Candidate(st, tb, m, elapsed[i]) || j.trustedReport(tb) {
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
	j.noteAlerting()
	// Each look's observation is done with before the next is made.
	for k, l := range looks {
		j.topCounts.Reset()
		wb := open[l.bucket]
		if k == 0 || looks[k-1].bucket != l.bucket {
			norm = j.platform.Open(wb)
		}
		st := l.st
		j.catchUp(st, first)
		o := j.earlyObservation(st, wb, first)
		o.Platform = norm
		n := len(evs)
		fs := j.det.EvaluateEarly(&o, elapsed[l.bucket])
		j.withSameAs(fs, st, st.At(wb.Start), wb)
		evs = append(evs, j.life.ObserveEarly(&o, fs)...)
		if tb := st.At(wb.Start); tb != nil && st.Kind == event.KindFamily && len(fs) > 0 {
			j.describeMembers(evs[n:], st.Key, tb)
		}
	}
	return evs
}

// earlyObservation is st in the open bucket wb so far: its history is the
// closed buckets' followed by the open ones before wb, as they stand.
func (j *Judge) earlyObservation(st *tracked.Term, wb *sketches.Bucket, first time.Time) detectors.Observation {
	open := int(wb.Start.Sub(first) / j.cfg.Bucket)
	if need := 3 * (len(st.Mentions.View()) + open); cap(j.earlyHist) < need {
		j.earlyHist = make([]float64, 0, need)
	}
	buf := j.earlyHist[:0]
	history := func(s *tracked.Series, open func(ob *sketches.Bucket) float64) []float64 {
		from := len(buf)
		buf = s.AppendTo(buf)
		for b := first; b.Before(wb.Start); b = b.Add(j.cfg.Bucket) {
			var v float64
			if ob := j.window.Open(b); ob != nil {
				v = open(ob)
			}
			buf = append(buf, v)
		}
		h := buf[from:len(buf):len(buf)]
		return h[max(0, len(h)-j.cfg.History):]
	}
	mh := history(st.Mentions, func(ob *sketches.Bucket) float64 { m, _ := j.counts(st, ob); return m })
	rh := history(st.Reports, func(ob *sketches.Bucket) float64 { _, r := j.counts(st, ob); return r })
	ch := history(st.Creators, func(*sketches.Bucket) float64 { return 0 })
	m, r := j.counts(st, wb)
	o := detectors.Observation{
		Term: st.Key, Bucket: wb.Start, Width: j.cfg.Bucket,
		Mentions: m, Reports: r,
		MentionHistory:  j.known(mh, wb.Start),
		ReportHistory:   j.known(rh, wb.Start),
		CreatorHistory:  j.known(ch, wb.Start),
		PartialCreators: true,
		DayAgo:          j.dayAgo(st.Hash, wb.Start),
		Watch:           st.Watch,
		IncidentOpen:    j.incidentOpen(st),
		Tail:            st.Tail,
	}
	tb := st.At(wb.Start)
	if tb != nil {
		tb.Describe(&o, j.cfg.TopLabels, &j.topCounts)
	}
	o.Urgent = looks.UrgentTerm(st, tb)
	return o
}

// counts are st's mentions and reports in the open bucket wb so far, as
// the detectors judge them at close (see judged).
func (j *Judge) counts(st *tracked.Term, wb *sketches.Bucket) (mentions, reports float64) {
	return j.judged(st, wb, st.At(wb.Start))
}

// trustedReport reports whether tb holds a report from a high-trust channel.
func (j *Judge) trustedReport(tb *tracked.Bucket) bool {
	if tb == nil {
		return false
	}
	for c, n := range tb.ByChannel {
		if n > 0 && j.det.HighTrustChannel(event.Channel(c)) {
			return true
		}
	}
	return false
}
