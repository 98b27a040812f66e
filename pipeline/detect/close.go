package detect

import (
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

// The bucket close: which terms to judge, their observations, the detectors
// and the lifecycle, the rows; and which tracked terms to let go.

// Verdict is what closing a bucket found: its rows, the alert transitions,
// the fastest-growing terms, the platform's norm and how many terms were
// observed. Its slices are the judge's until Release.
type Verdict struct {
	Rows   []trend.Minute
	Events []alert.Event
	// Confirmed are the early alerts this bucket's final judgement bore out
	// without a transition (detectors.Lifecycle.TakeConfirmed).
	Confirmed []alert.Alert
	Surging   []TermStat // the terms at twice the tracking bar, by growth, most first, at most 10
	Norm      detectors.Platform
	Observed  int
	obs       []detectors.Observation
	estimated [][2]float64
	sts       []*tracked.Term
}

// TermStat is one of a closed bucket's fastest-growing terms.
type TermStat struct {
	Term           string
	Mentions       float64
	Expected       float64
	Growth         float64
	UniqueCreators uint64
	Reports        float64
}

// Close judges window bucket b, which has closed: it starts tracking the
// heavy hitters counting passed over, observes every tracked term, runs the
// detectors and the lifecycle, makes the rows (of row version version),
// moves every term's history on by the bucket, and lets go of the terms
// quiet long enough.
func (j *Judge) Close(b *sketches.Bucket, version uint64) Verdict {
	j.nominate(b)
	norm := j.platform.Close(b)
	sts := tracked.ByKey(j.tracked, j.closing.sts[:0])
	j.noteAlerting()
	obs, estimated := j.observe(b, sts, &norm)
	rows, evs, surging := j.judgeBucket(b, sts, obs, estimated, norm, version)
	j.evict()
	sort.Slice(surging, func(a, b int) bool { return surging[a].Growth > surging[b].Growth })
	if len(surging) > 10 {
		surging = surging[:10]
	}
	return Verdict{Rows: rows, Events: evs, Confirmed: j.life.TakeConfirmed(), Surging: surging, Norm: norm, Observed: len(obs), obs: obs, estimated: estimated, sts: sts}
}

// Release takes v's slices back for the next close, once its rows are
// written: they are cleared, so that they hold on to no term's history or
// strings.
func (j *Judge) Release(v Verdict) {
	clear(v.obs)
	clear(v.Rows)
	clear(v.sts)
	j.closing.obs, j.closing.estimated, j.closing.rows, j.closing.sts = v.obs[:0], v.estimated[:0], v.Rows[:0], v.sts[:0]
}

// nominate starts tracking the heavy hitters of closed bucket b that crossed
// the tracking bar without being noticed on the way (e.g. a term whose first
// mentions were in a late event).
func (j *Judge) nominate(b *sketches.Bucket) {
	for _, top := range [2]struct {
		summary *sketches.TopK
		min     uint32
	}{{b.Top, j.cfg.TrackMin}, {b.ReportTop, j.cfg.TrackMinReports}} {
		// Space-Saving counts overestimate by up to Err; nominate only on
		// the guaranteed part, or every slot of the summary would qualify.
		j.heavy = top.summary.AppendHeavy(j.heavy[:0], uint64(top.min))
		for _, it := range j.heavy {
			if len(j.tracked) >= j.cfg.MaxTracked {
				break
			}
			if _, ok := j.tracked[it.Hash]; !ok && (termkey.Kind(it.Key) != event.KindFamily || j.families.Tracks(it.Hash)) && j.counter.OwnsKey(it.Key, it.Hash) {
				j.counter.Track(it.Key, it.Hash, nil, b.Start)
			}
		}
	}
	clear(j.heavy) // let go of the keys
}

// observe makes an Observation of each tracked term sts (tracked.ByKey) in
// closed bucket b, in that order, with the counts its row states beside each
// (estimated), and sets norm's MentionsPerCreator from them.
func (j *Judge) observe(b *sketches.Bucket, sts []*tracked.Term, norm *detectors.Platform) (obs []detectors.Observation, estimated [][2]float64) {
	// The previous close's observations are gone.
	j.topCounts.Reset()

	obs = slices.Grow(j.closing.obs[:0], len(sts))
	// estimated holds each observation's count-min counts where the term
	// was tracked only part of the bucket: what its row says, never below
	// the truth. The detectors judge a lower bound instead (see below).
	estimated = slices.Grow(j.closing.estimated[:0], len(sts))
	var ratios []float64
	// The histories are the series' own memory, not copies: detectors do
	// not keep them, and the series are pushed only after every term is judged.
	history := func(s *tracked.Series) []float64 {
		return j.known(s.View(), b.Start)
	}
	for _, st := range sts {
		j.catchUp(st, b.Start)
		tb := st.At(b.Start)
		mentions, reports := j.judged(st, b, tb)
		if b.Start.Before(st.ExactFrom) {
			// The row says the count-min's counts, never below the truth.
			estimated = append(estimated, [2]float64{float64(b.Mentions.Estimate(st.Hash)), float64(b.Reports.Estimate(st.Hash))})
		} else {
			estimated = append(estimated, [2]float64{mentions, reports})
		}
		o := detectors.Observation{
			Term: st.Key, Bucket: b.Start, Width: j.cfg.Bucket,
			Mentions:        mentions,
			Reports:         reports,
			MentionHistory:  history(st.Mentions),
			ReportHistory:   history(st.Reports),
			CreatorHistory:  history(st.Creators),
			PartialCreators: b.Start.Before(st.ExactFrom),
			DayAgo:          j.dayAgo(st.Hash, b.Start),
			LearnDayAgo:     j.dayAgo(st.Hash, b.Start.Add(-time.Duration(j.det.LearnLag())*j.cfg.Bucket)),
			Watch:           st.Watch,
			IncidentOpen:    j.incidentOpen(st),
		}
		if tb != nil {
			tb.Describe(&o, j.cfg.TopLabels, &j.topCounts)
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
func (j *Judge) judgeBucket(b *sketches.Bucket, sts []*tracked.Term, obs []detectors.Observation, estimated [][2]float64, norm detectors.Platform, version uint64) (rows []trend.Minute, evs []alert.Event, surging []TermStat) {
	rows = j.closing.rows[:0]
	for i := range obs {
		o := &obs[i]
		o.Platform = norm
		st := sts[i]
		o.Tail = st.Tail
		var fs []detectors.Finding
		// A family whose bucket came by one spelling is that hashtag's copy:
		// not judged, and not listed among the fastest-growing terms beside it.
		judged := st.Kind != event.KindFamily || spread(st.At(b.Start))
		if judged {
			fs = j.det.Evaluate(o)
			j.withSameAs(fs, st, st.At(b.Start), b)
		}
		if exp, ok := detectors.SurgeExpected(fs); ok {
			j.rememberSurge(st.Hash, b.Start, o.Mentions, exp)
		}
		st.Tail = j.det.Learn(o)
		n := len(evs)
		evs = append(evs, j.life.Observe(o, fs)...)
		if tb := st.At(b.Start); tb != nil && st.Kind == event.KindFamily && len(fs) > 0 {
			// On the bucket whose evidence the alerts now carry, not a
			// quiet one's few posts.
			j.describeMembers(evs[n:], st.Key, tb)
		}
		if est := estimated[i]; est[0] > 0 || est[1] > 0 {
			var langs []string
			var byChannel [event.NumChannels]uint64
			if tb := st.At(b.Start); tb != nil {
				langs = j.rowNames.Names(j.topCounts.Top(tb.Langs, j.cfg.TopLabels))
				byChannel = tb.ByChannel
			}
			rows = append(rows, trend.Minute{
				ReportsByChannel: byChannel,
				Bucket:           b.Start, Term: o.Term, Kind: st.Kind.String(),
				Mentions: uint64(estimated[i][0]), UniqueCreators: o.UniqueCreators,
				Reports: uint64(estimated[i][1]), UniqueReporters: o.UniqueReporters,
				TopRegions: j.rowNames.Names(o.Regions), Langs: langs, ReportReasons: j.rowNames.Names(o.ReportReasons),
				Exact:   !b.Start.Before(st.ExactFrom),
				Family:  st.Family,
				Version: version,
			})
			if judged && o.Mentions >= float64(2*j.cfg.TrackMin) {
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
		st.HistEnd = b.Start.Add(j.cfg.Bucket)
		st.Close(b.Start, j.pool)
		if o.Mentions < float64(j.cfg.TrackMin) && o.Reports < float64(j.cfg.TrackMinReports) {
			st.Quiet++
		} else {
			st.Quiet = 0
		}
	}
	evs = append(evs, j.life.EndBucket(b.Start)...)
	j.forgetSurges(b.Start)
	return rows, evs, surging
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
func (j *Judge) judged(st *tracked.Term, b *sketches.Bucket, tb *tracked.Bucket) (mentions, reports float64) {
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
func (j *Judge) catchUp(st *tracked.Term, start time.Time) {
	if !st.HistEnd.Before(start) {
		return
	}
	n := int(start.Sub(st.HistEnd) / j.cfg.Bucket)
	if n > j.cfg.History {
		n = j.cfg.History
	}
	m, r := j.window.Series(st.Hash, start, n)
	for i := range m {
		st.PushHistory(m[i], r[i], 0)
	}
	st.HistEnd = start
}

// known trims a history ending before start to the buckets the window has seen:
// before the first event the counts are unknown, not zero, and a detector told
// "zero" would see every term of a fresh start as new.
func (j *Judge) known(hist []float64, start time.Time) []float64 {
	n := int(start.Sub(j.counter.First()) / j.cfg.Bucket)
	if n < 0 {
		n = 0
	}
	if len(hist) > n {
		return hist[len(hist)-n:]
	}
	return hist
}

// dayAgo is the mean count per bucket in the hour around this time yesterday,
// less the surges the term paged in it (see Parts.Surges), or NaN while the
// window does not reach that far back.
func (j *Judge) dayAgo(h uint64, start time.Time) float64 {
	from := detectors.DayAgoFrom(start)
	if j.counter.First().IsZero() || from.Before(j.counter.First()) || j.cfg.Bucket > detectors.MaxDayAgoWidth {
		return math.NaN()
	}
	m, _, err := j.window.Count(h, from, from.Add(time.Hour))
	if err != nil {
		return math.NaN()
	}
	n := float64(m)
	n = math.Max(0, n-j.surges.Excess(h, start, j.window.Share))
	return perBucket(n, j.cfg.Bucket)
}

// perBucket is an hour's count as a mean per bucket of width bucket. In
// floats: the buckets an hour holds as a Duration quotient are 0 for a
// bucket over an hour (the level then infinite) and 1 for 45 minutes (a
// third too high).
func perBucket(hour float64, bucket time.Duration) float64 {
	return hour * float64(bucket) / float64(time.Hour)
}

// rememberSurge records that the final judgement's surge paged on term h's
// bucket at start, of count mentions against expected.
func (j *Judge) rememberSurge(h uint64, start time.Time, count, expected float64) {
	if !j.surges.Remember(h, start, count, expected) {
		// A flood of surging terms: the newest go unremembered, and a
		// comeback of theirs tomorrow is judged against raw counts.
		j.m.SurgesLost.Inc()
	}
}

// forgetSurges drops what the day-ago levels still to be asked for, from the
// bucket after start on, no longer cover: a coarse bucket's width before the
// hour, which the window pro-rates from coarse buckets.
func (j *Judge) forgetSurges(start time.Time) {
	learn := start.Add(j.cfg.Bucket - time.Duration(j.det.LearnLag())*j.cfg.Bucket)
	before := detectors.DayAgoFrom(learn).Add(-j.cfg.CoarseBucket)
	j.surges.Forget(before)
	j.m.Surges.Set(float64(j.surges.Len()))
}

func (j *Judge) evict() {
	var (
		open map[string]bool
		gone []*tracked.Term
	)
	alerting := func(st *tracked.Term) bool {
		if open == nil {
			open = make(map[string]bool)
			for _, a := range j.life.Open() {
				open[a.Term] = true
			}
		}
		return open[st.Key]
	}
	for h, st := range j.tracked {
		if st.Quiet < j.cfg.EvictAfter || st.Watch != nil || st.OpenBuckets() > 0 {
			continue
		}
		if !alerting(st) {
			j.counter.Untrack(h)
			if st.Kind == event.KindFamily {
				gone = append(gone, st)
			}
		}
	}
	gone = j.makeRoom(gone, alerting)
	// In key order, not the map's: the families' table of those let go
	// keeps one per slot, the last told, and which one it keeps decides
	// whether that family can be tracked again from spellings it knows.
	slices.SortFunc(gone, func(a, b *tracked.Term) int { return strings.Compare(a.Key, b.Key) })
	for _, st := range gone {
		j.families.Untracked(st.Hash)
	}
}

// makeRoom lets go of the quietest tracked terms when pipeline.max_tracked
// are tracked, down to a tenth below it, and returns gone with the families
// among them. Full, new terms are refused (count.Counter.refuse): one
// account's 24,000 made-up tags, each posted six times in a minute, filled
// the table, and a real surge the minute after went untracked, and unpaged,
// until the tags had been quiet for pipeline.evict_after buckets. Only terms
// quiet in the bucket just closed go, the quietest longest first, and never
// a watched term, one with an open bucket or one alerting; a term let go and
// mentioned again is tracked again with its history from the sketches.
func (j *Judge) makeRoom(gone []*tracked.Term, alerting func(*tracked.Term) bool) []*tracked.Term {
	if len(j.tracked) < j.cfg.MaxTracked {
		return gone
	}
	var quiet []*tracked.Term
	for _, st := range j.tracked {
		if st.Quiet > 0 && st.Watch == nil && st.OpenBuckets() == 0 {
			quiet = append(quiet, st)
		}
	}
	last := func(st *tracked.Term) float64 {
		if v := st.Mentions.View(); len(v) > 0 {
			return v[len(v)-1]
		}
		return 0
	}
	// In an order of the terms alone, not the map's, so that a restart
	// from a checkpoint lets the same terms go.
	slices.SortFunc(quiet, func(a, b *tracked.Term) int {
		if a.Quiet != b.Quiet {
			return b.Quiet - a.Quiet
		}
		if la, lb := last(a), last(b); la != lb {
			if la < lb {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Key, b.Key)
	})
	want := len(j.tracked) - (j.cfg.MaxTracked - j.cfg.MaxTracked/10)
	for _, st := range quiet {
		if want <= 0 {
			break
		}
		if alerting(st) {
			continue
		}
		j.counter.Untrack(st.Hash)
		want--
		if j.m.Evicted != nil {
			j.m.Evicted.Inc()
		}
		if st.Kind == event.KindFamily {
			gone = append(gone, st)
		}
	}
	return gone
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
