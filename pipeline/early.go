package pipeline

import (
	"context"
	"slices"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
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
	// min is the fewest mentions so far on which any early detector can
	// fire; most tracked terms are below it and cost one comparison.
	min  float64
	last time.Time // the latest interval boundary judged
}

func newEarlyState(c detectors.Config) earlyState {
	if !c.Early.Enabled {
		return earlyState{}
	}
	return earlyState{every: c.Early.Interval, min: min(c.Surge.MinSupport, c.Novelty.MinCount, c.Watchlist.MinSupport)}
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
	var evs []alert.Event
	for b := first; b.Before(e.watermark); b = b.Add(e.bucket) {
		wb := e.window.Open(b)
		if wb == nil {
			continue
		}
		elapsed := min(float64(e.watermark.Sub(b))/float64(e.bucket), 1)
		evs = e.judgeBucketEarly(wb, first, elapsed, evs)
	}
	if len(evs) == 0 {
		return nil
	}
	if err := e.write(ctx, nil, evs); err != nil {
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

// judgeBucketEarly judges the tracked terms of the open bucket wb, elapsed
// of it counted, and appends the alerts that opens to evs. first is the
// oldest open bucket.
func (e *Engine) judgeBucketEarly(wb *sketches.Bucket, first time.Time, elapsed float64, evs []alert.Event) []alert.Event {
	var keys []string
	for k, st := range e.tracked {
		// A family is judged only when its mentions are spread over several
		// spellings, which a partial bucket cannot tell yet; its hashtags
		// page early on their own.
		if st.kind == event.KindFamily {
			continue
		}
		if m, _ := e.counts(st, wb); m >= e.early.min || e.trustedReport(st.open[wb.Start]) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return evs
	}
	slices.Sort(keys)
	platform := detectors.Platform{
		Mentions: float64(wb.Mentions.Total() - e.familyMentions.get(wb.Start)),
		Events:   float64(wb.Events),
		Reports:  float64(wb.ReportEvents),
	}
	if wb.Events > 0 {
		platform.ReportRate = float64(wb.ReportEvents) / float64(wb.Events)
	}
	for _, k := range keys {
		st := e.tracked[k]
		e.catchUp(st, first)
		o := e.earlyObservation(st, wb, first)
		o.Platform = platform
		evs = append(evs, e.life.ObserveEarly(&o, e.set.EvaluateEarly(&o, elapsed))...)
	}
	return evs
}

// earlyObservation is st in the open bucket wb so far: its history is the
// closed buckets' followed by the open ones before wb, as they stand.
func (e *Engine) earlyObservation(st *termState, wb *sketches.Bucket, first time.Time) detectors.Observation {
	mh := st.mentions.appendTo(nil)
	rh := st.reports.appendTo(nil)
	ch := st.creators.appendTo(nil)
	for b := first; b.Before(wb.Start); b = b.Add(e.bucket) {
		var m, r float64
		if ob := e.window.Open(b); ob != nil {
			m, r = e.counts(st, ob)
		}
		mh, rh, ch = append(mh, m), append(rh, r), append(ch, 0)
	}
	if n := e.cfg.History; len(mh) > n {
		mh, rh, ch = mh[len(mh)-n:], rh[len(rh)-n:], ch[len(ch)-n:]
	}
	m, r := e.counts(st, wb)
	o := detectors.Observation{
		Term: st.key, Bucket: wb.Start, Width: e.bucket,
		Mentions: m, Reports: r,
		MentionHistory:  e.known(mh, wb.Start),
		ReportHistory:   e.known(rh, wb.Start),
		CreatorHistory:  e.known(ch, wb.Start),
		PartialCreators: true,
		DayAgo:          e.dayAgo(st.hash, wb.Start),
		Watch:           st.watch,
		Tail:            st.tail,
	}
	if tb := st.open[wb.Start]; tb != nil {
		o.UniqueCreators = tb.creators.estimate()
		o.UniqueReporters = tb.reporters.estimate()
		o.Regions = tb.regions.top(e.cfg.TopLabels)
		o.ReportReasons = tb.reasons.top(e.cfg.TopLabels)
		o.Samples = tb.samples
		for c, n := range tb.byChannel {
			o.ReportsByChannel[c] = float64(n)
		}
	}
	return o
}

// counts are st's mentions and reports in the open bucket wb so far: its own
// exact counts when it was tracked before the bucket began, the sketch's
// otherwise, as at close.
func (e *Engine) counts(st *termState, wb *sketches.Bucket) (mentions, reports float64) {
	if wb.Start.Before(st.exactFrom) {
		return float64(wb.Mentions.Estimate(st.hash)), float64(wb.Reports.Estimate(st.hash))
	}
	if tb := st.open[wb.Start]; tb != nil {
		return float64(tb.mentions), float64(tb.reports)
	}
	return 0, 0
}

// trustedReport reports whether tb holds a report from a high-trust channel.
func (e *Engine) trustedReport(tb *termBucket) bool {
	if tb == nil {
		return false
	}
	for c, n := range tb.byChannel {
		if n > 0 && e.set.HighTrustChannel(event.Channel(c)) {
			return true
		}
	}
	return false
}
