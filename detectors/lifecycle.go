package detectors

import (
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/trendwatch/trendwatch/alert"
)

// Lifecycle turns findings into alerts: one alert per detector and term (key
// "detector|term"), which opens on a finding, escalates when a finding is
// escalate_steps more severe than the alert and at least escalate_min_severity,
// and resolves after quiet_buckets buckets without a finding. An alert's
// severity changes only by escalating, so its stored state is always that of its
// latest transition. It pages (opens or escalates) at most once per rise
// in severity: a term flapping on and off stays one open alert (hysteresis), and
// after resolving a key stays cool for cooldown_buckets, in which a finding
// reopens it only if it is more severe than the alert that resolved.
//
// Seq of every event is the event time in Unix milliseconds, or one more than the
// key's previous Seq if that is larger, so it keeps increasing per key across
// transitions, across restarts without a checkpoint and after a cooled key is
// forgotten.
//
// A Lifecycle is safe for concurrent use; it is meant to see one partition's
// terms, bucket by bucket in event time.
type Lifecycle struct {
	cfg         LifecycleConfig
	escalateMin alert.Severity

	mu   sync.Mutex
	open map[string]*tracked
	cool map[string]cooling
	// confirmed are the early alerts a final judgement bore out without
	// escalating them, as they stand now, until TakeConfirmed.
	confirmed []alert.Alert
}

// tracked is an alert that is open or escalated.
type tracked struct {
	a       alert.Alert
	seq     uint64
	last    time.Time // bucket of the latest finding
	width   time.Duration
	reports bool // the latest finding was about reports
	// While the alert is early (a.Early), last is the latest bucket an early
	// finding came from, and prior the key's cooldown before the early page
	// (hadPrior: there was one), which a retraction puts back: an early page
	// taken back leaves the key as the final judgements alone would have.
	prior    cooling
	hadPrior bool
}

// cooling remembers a resolved key until its cooldown ends.
type cooling struct {
	until    time.Time
	severity alert.Severity
	seq      uint64
	// What tells a new episode from the one that resolved: the bucket of the
	// alert's latest finding, the bucket width, the count it expected then
	// (the term's normal level, which the surge did not teach the baseline) and
	// whether that count was of reports. Zero width: not known (an old
	// checkpoint), so only the cooldown decides.
	last    time.Time
	width   time.Duration
	calm    float64
	reports bool
}

// calmedBefore reports whether the term came back to its normal level between
// the alert's latest finding and bucket: at least need buckets (the
// lifecycle's quiet_buckets, how long it takes to call an alert over) of a
// count within a Poisson spread of what was expected before the surge, in the
// history o carries. A surge after that is a new episode, which pages whatever
// the cooldown says: a cooldown holds back repeats of one running surge, never
// a new one. A term that only dips between two bursts of one episode is not
// calm.
func (c *cooling) calmedBefore(o *Observation, bucket time.Time, need int) bool {
	if c.width <= 0 {
		return false
	}
	h := o.MentionHistory
	if c.reports {
		h = o.ReportHistory
	}
	n := min(int(bucket.Sub(c.last)/c.width)-1, len(h))
	level := c.calm + math.Sqrt(math.Max(c.calm, 0))
	calm := 0
	for _, x := range h[len(h)-max(n, 0):] {
		if x <= level {
			calm++
		}
	}
	return calm >= need
}

// NewLifecycle returns an empty Lifecycle. cfg must be valid (Config.Validate);
// an unreadable escalate_min_severity is taken as high.
func NewLifecycle(cfg LifecycleConfig) *Lifecycle {
	min, err := alert.ParseSeverity(cfg.EscalateMinSeverity)
	if err != nil {
		min = alert.SeverityHigh
	}
	return &Lifecycle{cfg: cfg, escalateMin: min, open: map[string]*tracked{}, cool: map[string]cooling{}}
}

func nextSeq(prev uint64, at time.Time) uint64 {
	s := prev + 1
	if ms := at.UnixMilli(); ms > 0 && uint64(ms) > s {
		s = uint64(ms)
	}
	return s
}

// bucketOf is o's bucket in UTC and its width, a minute when not given.
func bucketOf(o *Observation) (time.Time, time.Duration) {
	if o.Width <= 0 {
		return o.Bucket.UTC(), time.Minute
	}
	return o.Bucket.UTC(), o.Width
}

// alertKey is the key of detector's alert on term.
func alertKey(detector, term string) string { return detector + "|" + term }

// Observe applies the findings of one term in o.Bucket and returns the
// transitions they cause, in the order of fs. Findings for a bucket older than
// the alert's latest are stale and ignored.
func (l *Lifecycle) Observe(o *Observation, fs []Finding) []alert.Event {
	if len(fs) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	bucket, width := bucketOf(o)
	var events []alert.Event
	for i := range fs {
		f := &fs[i]
		key := alertKey(f.Detector, o.Term)
		t := l.open[key]
		if t == nil {
			c, cooled := l.cool[key]
			if cooled && bucket.Before(c.until) && f.Severity <= c.severity && !c.calmedBefore(o, bucket, l.cfg.QuietBuckets) {
				continue
			}
			t = &tracked{seq: nextSeq(c.seq, bucket), last: bucket, width: width, reports: f.OnReports}
			t.a = alert.Alert{Key: key, Detector: f.Detector, Term: o.Term, Status: alert.StatusOpen,
				Severity: f.Severity, OpenedAt: bucket}
			l.fill(&t.a, o, f, bucket)
			l.open[key] = t
			delete(l.cool, key)
			events = append(events, alert.Event{Alert: t.a, To: alert.StatusOpen, At: bucket, Seq: t.seq})
			continue
		}
		wasEarly := t.a.Early
		if t.a.Early {
			// A final judgement found what the early one did: the alert
			// stands, and pages again only if this finding escalates it. A
			// finding on a bucket before the early one's confirms it too:
			// without early firing that bucket would have opened the alert.
			// Its evidence and bucket replace the early looks': kept, a
			// later bucket's partial count (and "early=1") stayed on the
			// alert to its resolve, which came a bucket late when that
			// bucket's final judgement found nothing.
			t.a.Early = false
			if bucket.Before(t.last) {
				t.last = bucket
			}
		}
		if bucket.Before(t.last) {
			continue
		}
		t.last, t.width, t.reports = bucket, width, f.OnReports
		l.fill(&t.a, o, f, bucket)
		n := len(events)
		if wasEarly && f.Severity > t.a.Severity {
			// The early look judged part of the bucket, and its severity
			// with it: the final judgement's is the alert's. Held to
			// escalate's steps and bar, an early alert opened at low and
			// confirmed at medium stayed low, below incident.min_severity,
			// and a surge that came back never paged.
			l.raise(t, o, f, bucket, &events)
		} else {
			l.escalate(t, o, f, bucket, &events)
		}
		if wasEarly && len(events) == n {
			l.confirmed = append(l.confirmed, t.a)
		}
	}
	return events
}

// Amend applies f to each open alert of term, and to each of its early
// alerts confirmed but not yet taken: the pipeline completes an alert's
// texts after the lifecycle made them (a family's spellings), and the
// later transitions come from this copy.
func (l *Lifecycle) Amend(term string, f func(a *alert.Alert)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range l.open {
		if t.a.Term == term {
			f(&t.a)
		}
	}
	for i := range l.confirmed {
		if l.confirmed[i].Term == term {
			f(&l.confirmed[i])
		}
	}
}

// TakeConfirmed returns the early alerts final judgements bore out since it
// was last called, as they stand now (Early false, the final bucket's
// evidence), and forgets them. A confirmation is no transition, so no event
// carries it; whoever keeps an early alert's copy to show or re-send it (the
// incident notifier, for Alertmanager) takes it from here.
func (l *Lifecycle) TakeConfirmed() []alert.Alert {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.confirmed
	l.confirmed = nil
	return out
}

// escalate raises t to f's severity when f is escalate_steps more severe and
// at least escalate_min_severity, filling in f's evidence.
func (l *Lifecycle) escalate(t *tracked, o *Observation, f *Finding, bucket time.Time, events *[]alert.Event) {
	if int(f.Severity) < int(t.a.Severity)+l.cfg.EscalateSteps || f.Severity < l.escalateMin {
		return
	}
	l.raise(t, o, f, bucket, events)
}

// raise escalates t to f's severity, filling in f's evidence.
func (l *Lifecycle) raise(t *tracked, o *Observation, f *Finding, bucket time.Time, events *[]alert.Event) {
	l.fill(&t.a, o, f, bucket)
	from := t.a.Status
	t.a.Status, t.a.Severity = alert.StatusEscalated, f.Severity
	t.seq = nextSeq(t.seq, bucket)
	*events = append(*events, alert.Event{Alert: t.a, From: from, To: alert.StatusEscalated, At: bucket, Seq: t.seq})
}

// ObserveEarly applies the findings of an early judgement of o.Bucket, a
// bucket still open (Set.EvaluateEarly), and returns the alerts it opens,
// marked Early. Cooldowns apply as to any finding. An alert already open is
// left alone, escalations being the final judgement's, except that an early
// alert not yet confirmed now rests on o.Bucket: its retraction waits for
// that bucket's final judgement.
func (l *Lifecycle) ObserveEarly(o *Observation, fs []Finding) []alert.Event {
	if len(fs) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	bucket, width := bucketOf(o)
	var events []alert.Event
	for i := range fs {
		f := &fs[i]
		key := alertKey(f.Detector, o.Term)
		// The last bucket whose final judgement may bear the finding out.
		last := bucket
		if f.Lone {
			last = bucket.Add(width)
		}
		if t := l.open[key]; t != nil {
			if t.a.Early && last.After(t.last) {
				t.last = last
				l.fill(&t.a, o, f, bucket)
			}
			continue
		}
		c, cooled := l.cool[key]
		if cooled && bucket.Before(c.until) && f.Severity <= c.severity && !c.calmedBefore(o, bucket, l.cfg.QuietBuckets) {
			continue
		}
		t := &tracked{seq: nextSeq(c.seq, bucket), last: last, width: width, reports: f.OnReports, prior: c, hadPrior: cooled}
		t.a = alert.Alert{Key: key, Detector: f.Detector, Term: o.Term, Status: alert.StatusOpen,
			Severity: f.Severity, OpenedAt: bucket, Early: true}
		l.fill(&t.a, o, f, bucket)
		l.open[key] = t
		delete(l.cool, key)
		events = append(events, alert.Event{Alert: t.a, To: alert.StatusOpen, At: bucket, Seq: t.seq})
	}
	return events
}

// fill copies a finding's evidence onto an alert.
func (l *Lifecycle) fill(a *alert.Alert, o *Observation, f *Finding, bucket time.Time) {
	a.UpdatedAt, a.Bucket = bucket, bucket
	a.Score, a.Observed, a.Expected, a.Growth = f.Score, f.Observed, f.Expected, f.Growth
	a.UniqueCreators, a.Reports = o.UniqueCreators, o.Reports
	a.ReportRate = 0
	if o.Mentions > 0 {
		a.ReportRate = o.Reports / o.Mentions
	}
	a.TopRegions = nil
	for _, r := range o.Regions[:min(l.cfg.MaxRegions, len(o.Regions))] {
		a.TopRegions = append(a.TopRegions, r.Label)
	}
	a.Samples = slices.Clone(o.Samples[:min(l.cfg.MaxSamples, len(o.Samples))])
	a.Watchlisted = o.Watch != nil
	a.Summary, a.Explanation = f.Summary, f.Explanation
}

// EndBucket closes bucket for every term: alerts whose latest finding is
// quiet_buckets or more buckets before it resolve (a term not observed at all is
// quiet), and cooled keys whose cooldown has passed are forgotten. Events come in
// key order.
func (l *Lifecycle) EndBucket(bucket time.Time) []alert.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	bucket = bucket.UTC()
	var events []alert.Event
	for key, t := range l.open {
		if t.a.Early && !bucket.Before(t.last) {
			// The final judgement of every bucket the early alert rested on
			// is in, and none found it.
			events = append(events, l.retract(key, t, bucket))
			continue
		}
		if int(bucket.Sub(t.last)/t.width) < l.cfg.QuietBuckets {
			continue
		}
		from := t.a.Status
		t.a.Status, t.a.ResolvedAt, t.a.UpdatedAt = alert.StatusResolved, bucket, bucket
		t.seq = nextSeq(t.seq, bucket)
		events = append(events, alert.Event{Alert: t.a, From: from, To: alert.StatusResolved, At: bucket, Seq: t.seq})
		delete(l.open, key)
		c := cooling{until: bucket.Add(time.Duration(l.cfg.CooldownBuckets) * t.width), severity: t.a.Severity, seq: t.seq,
			last: t.last, width: t.width, calm: t.a.Expected, reports: t.reports}
		if t.a.Detector == NameTrustedReport {
			// A report from a high-trust channel has no normal level to come
			// back to (its expectation is 0): judged on every report, its
			// term was calm only where users reported nothing, so the
			// cooldown held a regulator's second report back on a term
			// users report and paged it on one they do not. Only the
			// cooldown decides (width 0).
			c.width = 0
		}
		l.cool[key] = c
	}
	for key, c := range l.cool {
		// Kept, past its cooldown, while its Seq is ahead of this bucket:
		// an early alert opened on a later bucket takes that bucket's time
		// as its Seq, and a key forgotten then opened again on that bucket
		// took the same Seq (quiet_buckets 1, cooldown_buckets 0), and its
		// row lost to the older one's.
		if !bucket.Before(c.until) && uint64(bucket.UnixMilli()) >= c.seq {
			delete(l.cool, key)
		}
	}
	slices.SortFunc(events, func(a, b alert.Event) int { return strings.Compare(a.Alert.Key, b.Alert.Key) })
	return events
}

// retract resolves the early alert t with reason retracted and puts the key
// back as it was before the early page, its Seq moved on. l.mu is held.
func (l *Lifecycle) retract(key string, t *tracked, bucket time.Time) alert.Event {
	from := t.a.Status
	t.a.Status, t.a.ResolvedAt, t.a.UpdatedAt = alert.StatusResolved, bucket, bucket
	t.a.Summary = "[retracted] " + t.a.Summary
	t.a.Explanation = "resolution=" + alert.ReasonRetracted + " " + t.a.Explanation
	t.seq = nextSeq(t.seq, bucket)
	delete(l.open, key)
	c := t.prior
	if !t.hadPrior {
		// Nothing to cool; the entry only carries Seq over the next bucket
		// and is forgotten at its end, holding nothing back.
		c = cooling{until: bucket.Add(t.width), severity: alert.SeverityInfo}
	}
	c.seq = t.seq
	l.cool[key] = c
	return alert.Event{Alert: t.a, From: from, To: alert.StatusResolved, At: bucket, Seq: t.seq, Reason: alert.ReasonRetracted}
}

// OpenExplanation is the explanation of detector's alert on term while it is
// open, and whether it is: what the engine adds to an alert's findings for as
// long as the alert stays open (pipeline's same_as) is read back from it.
func (l *Lifecycle) OpenExplanation(detector, term string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.open[alertKey(detector, term)]
	if t == nil {
		return "", false
	}
	return t.a.Explanation, true
}

// Open returns the alerts that are open or escalated, in key order.
func (l *Lifecycle) Open() []alert.Alert {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]alert.Alert, 0, len(l.open))
	for _, t := range l.open {
		out = append(out, t.a)
	}
	slices.SortFunc(out, func(a, b alert.Alert) int { return strings.Compare(a.Key, b.Key) })
	return out
}
