package pipeline

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/pipeline/termkey"
	"github.com/trendwatch/trendwatch/pipeline/tracked"
	"github.com/trendwatch/trendwatch/sketches"
	"github.com/trendwatch/trendwatch/trend"
)

// The bucket close: which terms to judge, their observations, the
// detectors and the lifecycle, the rows, and writing them.

// Drain applies every parked record and closes every open bucket, as at the
// end of a finite input: nothing earlier can arrive any more.
func (e *Engine) Drain(ctx context.Context) error {
	if err := e.endHold(ctx, time.Now(), true); err != nil {
		return err
	}
	end := e.watermark
	if last := e.parked.Latest(); last.After(end) {
		end = last
	}
	if end.IsZero() {
		return nil
	}
	return e.Advance(ctx, end.Add(e.bucket+e.lateness+time.Nanosecond))
}

// close turns one closed bucket into rows, detector runs and alert transitions.
func (e *Engine) close(ctx context.Context, b *sketches.Bucket) error {
	began := time.Now()
	e.lastClosed = b.Start
	e.nominate(b)
	norm := e.platform.Close(b)
	sts := e.trackedByKey(e.closing.sts[:0])
	e.noteAlerting()
	obs, estimated := e.observe(b, sts, &norm)
	rows, evs, surging := e.judgeBucket(b, sts, obs, estimated, norm)
	defer e.closing.release(obs, estimated, rows, sts)
	e.evict()
	in := e.intake(b)
	var intake *trend.Intake
	if e.cfg.Shard == 0 {
		// Every shard reads the whole stream: the first writes its intake, or
		// a query summing ingest_stats would count each event once per shard.
		intake = &in
	}
	if err := e.write(ctx, rows, evs, intake); err != nil {
		return err
	}
	e.reportBucket(b, norm, len(obs), evs, surging, in, began)
	return nil
}

// intake is what closed bucket b took in: its content events, and the
// messages refused and events dropped as late since the bucket before it
// closed.
func (e *Engine) intake(b *sketches.Bucket) trend.Intake {
	return trend.Intake{
		Bucket: b.Start, Instance: e.cfg.Instance, Events: b.Events,
		Invalid: e.invalid - e.reported.invalid, Late: e.window.Dropped() - e.reported.late,
		Version: RowVersion(e.epoch, time.Now()),
	}
}

// nominate starts tracking the heavy hitters of closed bucket b that crossed
// the tracking bar without being noticed on the way (e.g. a term whose first
// mentions were in a late event).
func (e *Engine) nominate(b *sketches.Bucket) {
	for _, top := range [2]struct {
		summary *sketches.TopK
		min     uint32
	}{{b.Top, e.cfg.TrackMin}, {b.ReportTop, e.cfg.TrackMinReports}} {
		// Space-Saving counts overestimate by up to Err; nominate only on
		// the guaranteed part, or every slot of the summary would qualify.
		e.heavy = top.summary.AppendHeavy(e.heavy[:0], uint64(top.min))
		for _, it := range e.heavy {
			if len(e.tracked) >= e.cfg.MaxTracked {
				break
			}
			if _, ok := e.tracked[it.Hash]; !ok && (termkey.Kind(it.Key) != event.KindFamily || e.families.Tracks(it.Hash)) && e.ownsKey(it.Key, it.Hash) {
				e.count.Track(it.Key, it.Hash, nil, b.Start)
			}
		}
	}
	clear(e.heavy) // let go of the keys
}

// trackedByKey appends the tracked terms to sts sorted by key: the order of a
// bucket's observations, rows and alerts, and of the snapshot.
func (e *Engine) trackedByKey(sts []*tracked.Term) []*tracked.Term {
	for _, st := range e.tracked {
		sts = append(sts, st)
	}
	slices.SortFunc(sts, func(a, b *tracked.Term) int { return strings.Compare(a.Key, b.Key) })
	return sts
}

// observe makes an Observation of each tracked term sts (trackedByKey) in
// closed bucket b, in that order, with the counts its row states beside each
// (estimated), and sets norm's MentionsPerCreator from them.
func (e *Engine) observe(b *sketches.Bucket, sts []*tracked.Term, norm *detectors.Platform) (obs []detectors.Observation, estimated [][2]float64) {
	// The previous close's observations are gone.
	e.topCounts.Reset()

	obs = slices.Grow(e.closing.obs[:0], len(sts))
	// estimated holds each observation's count-min counts where the term
	// was tracked only part of the bucket: what its row says, never below
	// the truth. The detectors judge a lower bound instead (see below).
	estimated = slices.Grow(e.closing.estimated[:0], len(sts))
	var ratios []float64
	// The histories are the series' own memory, not copies: detectors do
	// not keep them, and the series are pushed only after every term is judged.
	history := func(s *tracked.Series) []float64 {
		return e.known(s.View(), b.Start)
	}
	for _, st := range sts {
		e.catchUp(st, b.Start)
		tb := st.Open[b.Start]
		mentions, reports := e.judged(st, b, tb)
		if b.Start.Before(st.ExactFrom) {
			// The row says the count-min's counts, never below the truth.
			estimated = append(estimated, [2]float64{float64(b.Mentions.Estimate(st.Hash)), float64(b.Reports.Estimate(st.Hash))})
		} else {
			estimated = append(estimated, [2]float64{mentions, reports})
		}
		o := detectors.Observation{
			Term: st.Key, Bucket: b.Start, Width: e.bucket,
			Mentions:        mentions,
			Reports:         reports,
			MentionHistory:  history(st.Mentions),
			ReportHistory:   history(st.Reports),
			CreatorHistory:  history(st.Creators),
			PartialCreators: b.Start.Before(st.ExactFrom),
			DayAgo:          e.dayAgo(st.Hash, b.Start),
			LearnDayAgo:     e.dayAgo(st.Hash, b.Start.Add(-time.Duration(e.set.LearnLag())*e.bucket)),
			Watch:           st.Watch,
			IncidentOpen:    e.incidentOpen(st),
		}
		if tb != nil {
			tb.Describe(&o, e.cfg.TopLabels, &e.topCounts)
		}
		if o.Mentions >= 10 && o.UniqueCreators > 0 {
			ratios = append(ratios, o.Mentions/float64(o.UniqueCreators))
		}
		obs = append(obs, o)
	}
	norm.MentionsPerCreator = median(ratios)
	return obs, estimated
}

// judgeBucket runs the detectors and the alert lifecycle on the observations
// of closed bucket b, one of each term of sts, makes its rows, and moves every
// tracked term's history on by the bucket. surging are the terms at twice the
// tracking bar, for the bucket report.
func (e *Engine) judgeBucket(b *sketches.Bucket, sts []*tracked.Term, obs []detectors.Observation, estimated [][2]float64, norm detectors.Platform) (rows []trend.Minute, evs []alert.Event, surging []TermStat) {
	version := RowVersion(e.epoch, time.Now())
	rows = e.closing.rows[:0]
	for i := range obs {
		o := &obs[i]
		o.Platform = norm
		st := sts[i]
		o.Tail = st.Tail
		var fs []detectors.Finding
		// A family whose bucket came by one spelling is that hashtag's copy:
		// not judged, and not listed among the fastest-growing terms beside it.
		judged := st.Kind != event.KindFamily || spread(st.Open[b.Start])
		if judged {
			fs = e.set.Evaluate(o)
			e.withSameAs(fs, st, st.Open[b.Start], b)
		}
		if exp, ok := detectors.SurgeExpected(fs); ok {
			e.rememberSurge(st.Hash, b.Start, o.Mentions, exp)
		}
		st.Tail = e.set.Learn(o)
		n := len(evs)
		evs = append(evs, e.life.Observe(o, fs)...)
		if tb := st.Open[b.Start]; tb != nil && st.Kind == event.KindFamily {
			withMembers(evs[n:], tb, e.cfg.TopLabels)
		}
		if est := estimated[i]; est[0] > 0 || est[1] > 0 {
			var langs []string
			var byChannel [event.NumChannels]uint64
			if tb := st.Open[b.Start]; tb != nil {
				langs = e.rowNames.Names(e.topCounts.Top(tb.Langs, e.cfg.TopLabels))
				byChannel = tb.ByChannel
			}
			rows = append(rows, trend.Minute{
				ReportsByChannel: byChannel,
				Bucket:           b.Start, Term: o.Term, Kind: st.Kind.String(),
				Mentions: uint64(estimated[i][0]), UniqueCreators: o.UniqueCreators,
				Reports: uint64(estimated[i][1]), UniqueReporters: o.UniqueReporters,
				TopRegions: e.rowNames.Names(o.Regions), Langs: langs, ReportReasons: e.rowNames.Names(o.ReportReasons),
				Exact:   !b.Start.Before(st.ExactFrom),
				Family:  st.Family,
				Version: version,
			})
			if judged && o.Mentions >= float64(2*e.cfg.TrackMin) {
				exp := recentMean(o.MentionHistory, 30)
				surging = append(surging, TermStat{Term: o.Term, Mentions: o.Mentions, Expected: exp,
					Growth: (o.Mentions + 1) / (exp + 1), UniqueCreators: o.UniqueCreators, Reports: o.Reports})
			}
		}
		creators := float64(o.UniqueCreators)
		if o.PartialCreators {
			creators = 0 // an undercount would overstate the term's norm
		}
		st.PushHistory(o.Mentions, o.Reports, creators)
		st.HistEnd = b.Start.Add(e.bucket)
		st.Close(b.Start, &e.buckets)
		if o.Mentions < float64(e.cfg.TrackMin) && o.Reports < float64(e.cfg.TrackMinReports) {
			st.Quiet++
		} else {
			st.Quiet = 0
		}
	}
	evs = append(evs, e.life.EndBucket(b.Start)...)
	e.forgetSurges(b.Start)
	return rows, evs, surging
}

// reportBucket tells the observers, the log and the metrics what closing bucket b
// found: observed terms, alert events evs, the fastest-growing terms surging;
// began is when the close began.
func (e *Engine) reportBucket(b *sketches.Bucket, norm detectors.Platform, observed int, evs []alert.Event, surging []TermStat, in trend.Intake, began time.Time) {
	sort.Slice(surging, func(i, j int) bool { return surging[i].Growth > surging[j].Growth })
	if len(surging) > 10 {
		surging = surging[:10]
	}
	report := &BucketReport{
		Start: b.Start, Events: b.Events, Reports: b.ReportEvents, Mentions: uint64(norm.Mentions),
		Tracked: len(e.tracked), Observed: observed, Late: in.Late, Invalid: in.Invalid,
		WindowMiB: float64(e.window.Bytes()) / (1 << 20), Surging: surging,
	}
	e.log.Debug("bucket closed", "bucket", b.Start, "events", b.Events, "mentions", report.Mentions, "reports", b.ReportEvents,
		"tracked", report.Tracked, "late", report.Late, "parked", e.parked.Len(), "watermark", e.watermark, "alerts", len(evs),
		"slowest", e.in.Slowest(time.Now()))
	e.reported.late, e.reported.invalid = e.window.Dropped(), e.invalid
	for _, o := range e.obs {
		o.Bucket(report)
		for _, ev := range evs {
			o.Alert(ev)
		}
	}
	for _, ev := range evs {
		e.m.alerts.WithLabelValues(ev.Alert.Detector, string(ev.To)).Inc()
		if ev.Reason == alert.ReasonRetracted {
			e.m.retracted.WithLabelValues(ev.Alert.Detector).Inc()
		}
	}
	e.m.buckets.Inc()
	e.m.tracked.Set(float64(len(e.tracked)))
	e.m.openAlert.Set(float64(len(e.life.Open())))
	e.m.windowB.Set(float64(e.window.Bytes()))
	if b.Events > 0 {
		// The cache holds the last posts, as many as its bounds let it: at
		// this rate they reach this far back. Reports come minutes to hours
		// after the post; an operator sizes pipeline.join_cache by it.
		e.m.joinReach.Set(float64(e.join.Len()) * e.bucket.Seconds() / float64(b.Events))
	}
	e.m.closeDur.Observe(time.Since(began).Seconds())
}

// judged is what the detectors judge of st's counts in bucket b, closed or
// still open; tb is st's own bucket (nil: none). Tracked since before the
// bucket saw any event, its own counts are exact, where the count-min's may
// overestimate and depend on the order events arrived in. Tracked part of
// the bucket, the estimate can exceed the truth by up to ε·N, which in a
// flood is hundreds: judged as a count it made every ordinary term tracked in
// the flood's minute surge, at close and early alike. What is certain is
// judged instead: the larger of the estimate less ε·N (certain) and the exact count
// since tracking began.
func (e *Engine) judged(st *tracked.Term, b *sketches.Bucket, tb *tracked.Bucket) (mentions, reports float64) {
	var since [2]float64
	if tb != nil {
		since = [2]float64{float64(tb.Mentions), float64(tb.Reports)}
	}
	if !b.Start.Before(st.ExactFrom) {
		return since[0], since[1]
	}
	mentions = max(since[0], certain(b.Mentions, st.Hash))
	reports = max(since[1], certain(b.Reports, st.Hash))
	return mentions, reports
}

// certain is the least count of the term of hash h that cm can vouch for:
// its estimate less ε·N, the most it can overestimate by, rounded up, as a
// count at least that large is at least the next whole number.
func certain(cm *sketches.CountMin, h uint64) float64 {
	return math.Ceil(float64(cm.Estimate(h)) - cm.Epsilon()*float64(cm.Total()))
}

// catchUp fills the history of st up to start, for buckets in which it was not
// evaluated (none in steady state; a term restored from an older checkpoint).
func (e *Engine) catchUp(st *tracked.Term, start time.Time) {
	if !st.HistEnd.Before(start) {
		return
	}
	n := int(start.Sub(st.HistEnd) / e.bucket)
	if n > e.cfg.History {
		n = e.cfg.History
	}
	m, r := e.window.Series(st.Hash, start, n)
	for i := range m {
		st.PushHistory(m[i], r[i], 0)
	}
	st.HistEnd = start
}

// known trims a history ending before start to the buckets the window has seen:
// before the first event the counts are unknown, not zero, and a detector told
// "zero" would see every term of a fresh start as new.
func (e *Engine) known(hist []float64, start time.Time) []float64 {
	n := int(start.Sub(e.count.First()) / e.bucket)
	if n < 0 {
		n = 0
	}
	if len(hist) > n {
		return hist[len(hist)-n:]
	}
	return hist
}

// dayAgo is the mean count per bucket in the hour around this time yesterday,
// less the surges the term paged in it (see Engine.surges), or NaN while the
// window does not reach that far back.
func (e *Engine) dayAgo(h uint64, start time.Time) float64 {
	from := detectors.DayAgoFrom(start)
	if e.count.First().IsZero() || from.Before(e.count.First()) {
		return math.NaN()
	}
	m, _, err := e.window.Count(h, from, from.Add(time.Hour))
	if err != nil {
		return math.NaN()
	}
	n := float64(m)
	n = math.Max(0, n-e.surges.Excess(h, start, e.window.Share))
	return n / float64(time.Hour/e.bucket)
}

// rememberSurge records that the final judgement's surge paged on term h's
// bucket at start, of count mentions against expected.
func (e *Engine) rememberSurge(h uint64, start time.Time, count, expected float64) {
	if !e.surges.Remember(h, start, count, expected) {
		// A flood of surging terms: the newest go unremembered, and a
		// comeback of theirs tomorrow is judged against raw counts.
		e.m.surgesLost.Inc()
	}
}

// maxSurgeBuckets bounds the surged buckets the engine remembers, 4 MiB of
// them: a day of hour-long surges on over four thousand terms.
const maxSurgeBuckets = 1 << 18

// forgetSurges drops what the day-ago levels still to be asked for, from the
// bucket after start on, no longer cover: a coarse bucket's width before the
// hour, which the window pro-rates from coarse buckets.
func (e *Engine) forgetSurges(start time.Time) {
	learn := start.Add(e.bucket - time.Duration(e.set.LearnLag())*e.bucket)
	before := detectors.DayAgoFrom(learn).Add(-e.windowConfig.CoarseBucket)
	e.surges.Forget(before)
	e.m.surges.Set(float64(e.surges.Len()))
}

func (e *Engine) evict() {
	var open map[string]bool
	for h, st := range e.tracked {
		if st.Quiet < e.cfg.EvictAfter || st.Watch != nil || len(st.Open) > 0 {
			continue
		}
		if open == nil {
			open = make(map[string]bool)
			for _, a := range e.life.Open() {
				open[a.Term] = true
			}
		}
		if !open[st.Key] {
			delete(e.tracked, h)
			if st.Kind == event.KindFamily {
				e.families.Untracked(st.Hash)
			}
		}
	}
}

// write hands a closed bucket's rows, alert transitions and intake (nil:
// none to write) to every sink, then its transitions to the notifier.
func (e *Engine) write(ctx context.Context, rows []trend.Minute, evs []alert.Event, intake *trend.Intake) error {
	// Asked before every write, not only at commit rounds: a primary woken
	// beside the standby that took over must not page or write what it
	// judges in the moment before its next round.
	if e.fence != nil {
		if err := e.fence.Superseded(); err != nil {
			e.superseded = err
			return fmt.Errorf("stopping: %w", err)
		}
	}
	for _, s := range e.sinks {
		if len(rows) > 0 {
			if err := s.WriteMinutes(ctx, rows); err != nil {
				return fmt.Errorf("write %d minute rows: %w", len(rows), err)
			}
		}
		if len(evs) > 0 {
			if err := s.WriteAlerts(ctx, evs); err != nil {
				return fmt.Errorf("write %d alert transitions: %w", len(evs), err)
			}
		}
		if intake != nil {
			if err := s.WriteIntake(ctx, *intake); err != nil {
				return fmt.Errorf("write the intake of bucket %s: %w", intake.Bucket.Format(time.RFC3339), err)
			}
		}
	}
	if len(evs) > 0 && e.notifier != nil {
		if err := e.notifier.Notify(ctx, evs); err != nil {
			return fmt.Errorf("page %d alert transitions: %w", len(evs), err)
		}
	}
	return nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	mid := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[mid]
	}
	return (xs[mid-1] + xs[mid]) / 2
}

func recentMean(xs []float64, n int) float64 {
	if len(xs) > n {
		xs = xs[len(xs)-n:]
	}
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
