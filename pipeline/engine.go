package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/family"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/sketches"
	"github.com/trendwatch/trendwatch/trend"
)

// Sink receives what the engine derives. Writes may buffer and may block while
// the sink is behind (backpressure); Flush returns nil only once everything
// written before it is durable, and the engine commits offsets only after that.
// A sink must not keep the slices it is given.
type Sink interface {
	WriteMinutes(ctx context.Context, rows []trend.Minute) error
	WriteAlerts(ctx context.Context, evs []alert.Event) error
	Flush(ctx context.Context) error
	Close() error
}

// Notifier pages: it is told every alert transition after the sinks were
// given it, and holds the deliveries it has not made yet. Its pending
// transitions go into the checkpoint and are handed back on restore, so an
// endpoint that is down when the process stops still gets them. Notify must
// not wait for the endpoint: the engine calls it on its own goroutine.
// Paging is apart from the sinks, as Prometheus' notifier is from its
// storage: a sink stores rows whose write the commit waits for; a notifier
// delivers pages whose state the checkpoint keeps.
type Notifier interface {
	Notify(ctx context.Context, evs []alert.Event) error
	Pending() []alert.Event
	Restore(evs []alert.Event)
}

// Observer is told about each closed bucket and each alert transition, after the
// sinks were given them. The demo prints them; tests collect them.
type Observer interface {
	Bucket(r *BucketReport)
	Alert(ev alert.Event)
}

// TermStat is one term in a bucket report.
type TermStat struct {
	Term           string
	Mentions       float64
	Expected       float64
	Growth         float64
	UniqueCreators uint64
	Reports        float64
}

// BucketReport summarises a closed bucket.
type BucketReport struct {
	Start     time.Time
	Events    uint64
	Reports   uint64
	Mentions  uint64
	Tracked   int
	Observed  int    // tracked terms the detectors judged in this bucket
	Late      uint64 // events dropped as too late since the previous report
	Invalid   uint64 // dead-lettered messages since the previous report
	WindowMiB float64
	Surging   []TermStat // by growth, most first
}

// detectorSet is what the engine asks of a detectors.Set; a test wraps one to
// see the observations the detectors are given.
type detectorSet interface {
	Watch(term string) *detectors.WatchMatch
	WatchTerms() []string
	Evaluate(o *detectors.Observation) []detectors.Finding
	EvaluateEarly(o *detectors.Observation, elapsed float64) []detectors.Finding
	Learn(o *detectors.Observation) detectors.Tail
	HighTrustChannel(c event.Channel) bool
}

// Engine is the single-goroutine core. Its methods are not safe for concurrent use.
type Engine struct {
	cfg          Config
	log          *slog.Logger
	window       *sketches.Window
	windowConfig sketches.WindowConfig
	bucket       time.Duration
	lateness     time.Duration
	set          detectorSet
	life         *detectors.Lifecycle
	sinks        []Sink
	notifier     Notifier // nil: nothing pages
	obs          []Observer

	tracked  map[string]*termState
	join     *joinCache
	dedup    *dedupFilter
	door     *door
	creators map[time.Time]*sketches.HLL // platform-wide unique creators per open bucket
	// lastCreators is creators[lastCreatorsStart], the one content used last.
	lastCreators      *sketches.HLL
	lastCreatorsStart time.Time
	// doorWarned is the last bucket whose door was full, said once a bucket;
	// joinWarned the same for the join cache's byte bound.
	doorWarned, joinWarned time.Time
	// familyMentions counts the family mentions of each open bucket: the window
	// counts them with the rest, and the platform's totals must leave them out,
	// or every hashtag would count twice.
	familyMentions bucketCounts
	// epoch is the one this process claimed its state at (SetEpoch); row
	// versions carry it. superseded is set when a commit round found that
	// another process claimed the state since: the run stops.
	epoch      uint64
	superseded error
	// fence is the checkpoint store's (Run sets it): asked before every
	// write of rows, alerts and pages.
	fence Fence

	watermark  time.Time
	lastClosed time.Time // start of the last bucket closed
	first      time.Time // start of the first bucket ever seen, for "same time yesterday"
	offsets    map[partition]int64
	// parts is the event-time progress of each input partition. The watermark is
	// the slowest active partition's, not the fastest's: a consumer that reads
	// one partition ahead of another must not close buckets the other one
	// still fills.
	parts map[partition]*progress
	// parked holds records ahead of the watermark, bounded by MaxParked;
	// they are applied in event-time order as it moves on (see order.go).
	parked      parkedHeap
	spare       []*ingest.Record
	openBuckets int
	// saving is the result of the commit round running in the background.
	saving chan roundResult
	// lastCommit and commitErr are how the last commit round ended, and lag
	// how consumer lag moves, for Status.
	runStart   time.Time
	lastCommit time.Time
	commitErr  error
	lag        lagTrend
	// holdUntil ends the start-up hold (see Process); held marks it over.
	holdUntil time.Time
	// maxApplied is the latest event time counted into the window; buckets up
	// to its own may hold events of terms not yet tracked.
	maxApplied time.Time
	held       bool
	invalid    uint64
	reported   struct{ late, invalid uint64 } // totals at the last bucket report
	lastEvent  time.Time                      // wall clock of the last record, for idle advance

	// readMax is the latest event time read from any partition, applied or
	// parked.
	readMax time.Time
	// ends reads the partitions' high-water marks (see partitionWatermark);
	// nil when the input cannot tell. endsAsk is the round in flight.
	ends    Ends
	endsAsk chan endsResult
	endsAt  time.Time // when the last round was asked for
	// winBuf holds the window's encoding from one checkpoint to the next.
	winBuf []byte

	terms  []event.Term
	keys   []string
	hashes []uint64
	fams   []uint64
	// families are the families of the hashtags seen lately (see family.go).
	families families
	// watchFamilies is set when the watchlist has entries, which may match a
	// family: without any, a new family is not looked up in it.
	watchFamilies bool
	early         earlyState
	m             *metrics

	// keyBuf and keyCache make term keys without an allocation for the terms
	// mentioned lately (see termKey).
	keyBuf   []byte
	keyCache []cachedKey
}

type partition struct {
	topic string
	part  int
}

type progress struct {
	max      time.Time // largest event time read from the partition
	seen     time.Time // wall clock of its last record
	caughtUp bool      // its last record was the newest in the partition when fetched
	unseen   bool      // expected (assigned) but no record yet; seen is when it was expected
	lag      int64
	// end is the partition's high-water mark as the brokers last gave it
	// (endKnown), and endBound the largest event time read from any
	// partition when it was asked for; see partitionWatermark.
	end      int64
	endKnown bool
	endBound time.Time
}

type metrics struct {
	records   *prometheus.CounterVec
	parked    prometheus.Gauge
	forced    prometheus.Counter
	late      prometheus.Counter
	tracked   prometheus.Gauge
	openAlert prometheus.Gauge
	windowB   prometheus.Gauge
	buckets   prometheus.Counter
	closeDur  prometheus.Histogram
	commitDur prometheus.Histogram
	commitErr prometheus.Counter
	watermark prometheus.Gauge
	alerts    *prometheus.CounterVec
	unattrib  prometheus.Counter
	dups      prometheus.Counter
	dedupLost prometheus.Counter
	dedupIDs  prometheus.Gauge
	dedupB    prometheus.Gauge

	// The records counter of each kind, resolved once: a label lookup per
	// record costs as much as counting its terms.
	recContent, recReport, recInvalid, recSkipped, recReplayed, recDuplicate prometheus.Counter

	joinB       prometheus.Gauge
	joinEvicted prometheus.Counter

	doorHeld  prometheus.Counter
	doorLost  prometheus.Counter
	doorB     prometheus.Gauge
	early     *prometheus.CounterVec
	retracted *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		records:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trendwatch_pipeline_records_total", Help: "Records processed, by kind."}, []string{"kind"}),
		parked:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "trendwatch_pipeline_parked_records", Help: "Records held because their partition is ahead of the slowest one."}),
		forced:      prometheus.NewCounter(prometheus.CounterOpts{Name: "trendwatch_pipeline_forced_closes_total", Help: "Buckets closed early because records held for a slow partition filled pipeline.max_parked."}),
		late:        prometheus.NewCounter(prometheus.CounterOpts{Name: "trendwatch_pipeline_late_events_total", Help: "Events dropped because their bucket had closed."}),
		tracked:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "trendwatch_pipeline_tracked_terms", Help: "Terms tracked in detail."}),
		openAlert:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "trendwatch_open_alerts", Help: "Alerts open or escalated."}),
		windowB:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "trendwatch_sketch_window_bytes", Help: "Bytes held by the sketch window."}),
		buckets:     prometheus.NewCounter(prometheus.CounterOpts{Name: "trendwatch_pipeline_buckets_closed_total", Help: "Buckets of event time closed."}),
		closeDur:    prometheus.NewHistogram(prometheus.HistogramOpts{Name: "trendwatch_pipeline_bucket_close_seconds", Help: "Time to close a bucket: detectors and sink writes.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		commitDur:   prometheus.NewHistogram(prometheus.HistogramOpts{Name: "trendwatch_sink_flush_seconds", Help: "Time to flush the sinks, checkpoint and commit offsets.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}),
		commitErr:   prometheus.NewCounter(prometheus.CounterOpts{Name: "trendwatch_pipeline_commit_errors_total", Help: "Failed flush/checkpoint/commit rounds; offsets stay put."}),
		watermark:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "trendwatch_pipeline_watermark_seconds", Help: "Event-time watermark, Unix seconds."}),
		alerts:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trendwatch_alert_transitions_total", Help: "Alert transitions, by detector and new status."}, []string{"detector", "status"}),
		unattrib:    prometheus.NewCounter(prometheus.CounterOpts{Name: "trendwatch_reports_unattributed_total", Help: "Reports counted against no term: their content_id is not in the content→terms cache and they carry no hashtags."}),
		dups:        prometheus.NewCounter(prometheus.CounterOpts{Name: "trendwatch_pipeline_duplicates_dropped_total", Help: "Events dropped because their event_id was already counted from the same partition within the open buckets."}),
		dedupLost:   prometheus.NewCounter(prometheus.CounterOpts{Name: "trendwatch_pipeline_dedup_forgotten_total", Help: "Event ids forgotten before their bucket closed because pipeline.dedup_max_ids was reached; a copy of one would count again."}),
		dedupIDs:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "trendwatch_pipeline_dedup_ids", Help: "Event ids remembered for deduplication."}),
		dedupB:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "trendwatch_pipeline_dedup_bytes", Help: "Bytes held by the event_id deduplication filter (estimate)."}),
		joinB:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "trendwatch_pipeline_join_cache_bytes", Help: "Bytes held by the content→terms cache that attributes reports to terms (estimate), bounded by pipeline.join_cache_bytes."}),
		joinEvicted: prometheus.NewCounter(prometheus.CounterOpts{Name: "trendwatch_pipeline_join_cache_evicted_total", Help: "Content IDs the content→terms cache forgot early because it reached pipeline.join_cache_bytes before pipeline.join_cache entries; reports on them count only through their own hashtags."}),
		doorHeld:    prometheus.NewCounter(prometheus.CounterOpts{Name: "trendwatch_pipeline_admission_held_total", Help: "Terms whose count-min estimate reached the tracking bar for the first time in a bucket: held at the door until a second sighting."}),
		doorLost:    prometheus.NewCounter(prometheus.CounterOpts{Name: "trendwatch_pipeline_admission_forgotten_total", Help: "Terms held at the tracking door that another took the slot of before their second sighting; many once the door is at pipeline.admission_slots."}),
		doorB:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "trendwatch_pipeline_admission_bytes", Help: "Bytes held by the tracking admission door."}),
		early:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trendwatch_early_alerts_total", Help: "Alerts opened early, on a bucket still open (detectors.early), by detector."}, []string{"detector"}),
		retracted:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trendwatch_alerts_retracted_total", Help: "Early alerts the final judgement of their bucket did not bear out, resolved with reason retracted, by detector."}, []string{"detector"}),
	}
	m.recContent, m.recReport = m.records.WithLabelValues("content"), m.records.WithLabelValues("report")
	m.recInvalid, m.recSkipped = m.records.WithLabelValues("invalid"), m.records.WithLabelValues("skipped")
	m.recReplayed, m.recDuplicate = m.records.WithLabelValues("replayed"), m.records.WithLabelValues("duplicate")
	if reg != nil {
		reg.MustRegister(m.records, m.parked, m.forced, m.late, m.tracked, m.openAlert, m.windowB, m.buckets, m.closeDur, m.commitDur, m.commitErr, m.watermark, m.alerts, m.unattrib, m.dups, m.dedupLost, m.dedupIDs, m.dedupB, m.doorHeld, m.doorLost, m.doorB, m.early, m.retracted, m.joinB, m.joinEvicted)
	}
	return m
}

// New builds an engine with an empty state.
func New(cfg Config, wcfg sketches.WindowConfig, dcfg detectors.Config, sinks []Sink, log *slog.Logger, reg prometheus.Registerer) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.IdleClose == 0 {
		cfg.IdleClose = wcfg.Bucket + wcfg.AllowedLateness
	}
	if cfg.History > wcfg.FineBuckets {
		return nil, fmt.Errorf("pipeline.history: %d exceeds window.fine_buckets %d; history comes from the fine ring", cfg.History, wcfg.FineBuckets)
	}
	w, err := sketches.NewWindow(wcfg)
	if err != nil {
		return nil, err
	}
	set, err := detectors.NewSet(dcfg)
	if err != nil {
		return nil, err
	}
	if cfg.Families > 0 {
		set.WatchFamilies(family.Prefix, family.Key)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{
		cfg: cfg, log: log, window: w, windowConfig: wcfg, openBuckets: w.Plan().OpenBuckets, bucket: wcfg.Bucket, lateness: wcfg.AllowedLateness, set: set,
		life:     detectors.NewLifecycle(dcfg.Lifecycle),
		sinks:    sinks,
		tracked:  make(map[string]*termState),
		join:     newJoinCache(cfg.JoinCache, cfg.JoinCacheBytes),
		dedup:    newDedupFilter(cfg.DedupMaxIDs, wcfg.Bucket),
		door:     newDoor(cfg.AdmissionSlots),
		creators: make(map[time.Time]*sketches.HLL),
		offsets:  make(map[partition]int64),
		parts:    make(map[partition]*progress),
		m:        newMetrics(reg),
		lag:      lagTrend{step: max(time.Second, cfg.MaxLagGrowth/10)},
		keyCache: make([]cachedKey, keyCacheSize),
		early:    newEarlyState(dcfg),
		families: newFamilies(cfg.Families),

		watchFamilies: len(dcfg.Watchlist.Terms)+len(dcfg.Watchlist.Entries) > 0,
	}
	// Watchlist terms are tracked from the start, so their very first mentions
	// carry creators, regions and samples.
	for _, k := range set.WatchTerms() {
		e.track(k, sketches.Hash(k), nil, time.Time{})
	}
	return e, nil
}

// Expect tells the engine which input partitions exist, before any record
// arrives: until each has delivered or stayed silent for PartitionIdle, event
// time does not move past what it may still deliver.
func (e *Engine) Expect(parts []ingest.Partition) {
	now := time.Now()
	for _, p := range parts {
		k := partition{p.Topic, p.Partition}
		if e.parts[k] == nil {
			e.parts[k] = &progress{seen: now, unseen: true}
		}
	}
}

// AddObserver registers o for bucket reports and alert transitions.
func (e *Engine) AddObserver(o Observer) { e.obs = append(e.obs, o) }

// SetNotifier makes n the engine's pager. Set it before the engine restores a
// checkpoint, which hands n the deliveries its predecessor had not made.
func (e *Engine) SetNotifier(n Notifier) { e.notifier = n }

// Process counts one record and closes the buckets its event time moves past.
// A record at or below an offset already counted (a replay after a restart from
// a checkpoint) is skipped.
func (e *Engine) Process(ctx context.Context, rec ingest.Record) error {
	return e.process(ctx, &rec)
}

// process is Process without copying the record; it does not keep rec.
func (e *Engine) process(ctx context.Context, rec *ingest.Record) error {
	return e.processAt(ctx, rec, time.Now())
}

// processAt is process on the wall clock now.
func (e *Engine) processAt(ctx context.Context, rec *ingest.Record, now time.Time) error {
	e.resume(now)
	if e.ends != nil {
		e.takeEnds()
		e.askEnds(ctx, now)
	}
	e.lastEvent = now
	p := partition{rec.Source.Topic, rec.Source.Partition}
	if rec.Source.Topic != "" {
		if last, ok := e.offsets[p]; ok && rec.Source.Offset <= last {
			e.m.recReplayed.Inc()
			return nil
		}
		e.offsets[p] = rec.Source.Offset
	}
	var ts time.Time
	switch rec.Kind {
	case ingest.KindContent:
		e.m.recContent.Inc()
		ts = rec.Content.TS
	case ingest.KindReport:
		e.m.recReport.Inc()
		ts = rec.Report.TS
	case ingest.KindInvalid:
		e.m.recInvalid.Inc()
		e.invalid++
		return nil
	case ingest.KindSkipped:
		e.m.recSkipped.Inc()
		return nil
	default:
		return fmt.Errorf("record kind %d from %s/%d@%d", rec.Kind, rec.Source.Topic, rec.Source.Partition, rec.Source.Offset)
	}
	pr := e.parts[p]
	if pr == nil {
		pr = &progress{}
		e.parts[p] = pr
	}
	pr.seen, pr.unseen = now, false
	pr.caughtUp, pr.lag = rec.Lag <= 0, rec.Lag
	pr.endKnown = false // a high-water mark read before this record says nothing after it
	if ts.After(pr.max) {
		pr.max = ts
	}
	if ts.After(e.readMax) {
		e.readMax = ts
	}
	if e.isDuplicate(p, rec, ts) {
		return nil
	}
	if rec.Source.Topic != "" && e.holdUntil.IsZero() {
		e.holdUntil = now.Add(e.cfg.PartitionIdle)
	}
	if !e.held && now.Before(e.holdUntil) && len(e.parked) < e.cfg.MaxParked {
		// Start-up: the consumer's partitions deliver their first records
		// at different times, and whichever comes first must not decide
		// where event time stands. Hold everything briefly, then apply it
		// in event-time order.
		e.park(rec)
		return nil
	}
	if err := e.endHold(ctx, now, true); err != nil {
		return err
	}
	return e.order(ctx, rec, ts, now)
}

// endHold applies the records held at start-up, oldest first, once the hold
// is over; it is a no-op afterwards.
func (e *Engine) endHold(ctx context.Context, now time.Time, force bool) error {
	if e.held || e.holdUntil.IsZero() || (!force && now.Before(e.holdUntil)) {
		return nil
	}
	e.held = true
	// Replay in order, moving event time along with the records but never
	// past the slowest partition; the rest waits for it as any record does.
	n := len(e.parked)
	err := e.maybeAdvance(ctx, now)
	e.log.Debug("start-up hold over", "applied", n-len(e.parked), "partitions", len(e.parts))
	return err
}

func (e *Engine) apply(rec *ingest.Record) {
	if ts := recordTS(rec); ts.After(e.maxApplied) {
		e.maxApplied = ts
	}
	if rec.Kind == ingest.KindContent {
		e.content(&rec.Content)
	} else {
		e.report(&rec.Report)
	}
}

func recordTS(rec *ingest.Record) time.Time {
	if rec.Kind == ingest.KindContent {
		return rec.Content.TS
	}
	return rec.Report.TS
}

// tooEarly reports whether ts lies beyond the buckets the window holds open.
func (e *Engine) tooEarly(ts time.Time) bool {
	closed := e.window.Closed()
	if closed.IsZero() {
		return false
	}
	return !ts.Before(closed.Add(time.Duration(e.openBuckets) * e.bucket))
}

// maybeAdvance moves event time to where every active partition has got.
func (e *Engine) maybeAdvance(ctx context.Context, now time.Time) error {
	return e.Advance(ctx, e.partitionWatermark(now))
}

// slowest describes the partition holding the watermark back, for logs.
func (e *Engine) slowest() string {
	var sp partition
	var spr *progress
	for p, pr := range e.parts {
		if spr == nil || pr.max.Before(spr.max) {
			sp, spr = p, pr
		}
	}
	if spr == nil {
		return ""
	}
	return fmt.Sprintf("%s/%d at %s (lag %d, silent %s)", sp.topic, sp.part, spr.max.Format(time.RFC3339), spr.lag, time.Since(spr.seen).Round(time.Second))
}

// partitionWatermark is the least event time reached by the partitions that
// are not idle. A partition with nothing to read does not hold the others
// back, but one that is merely slow to deliver (a large backlog, a reconnect
// after a broker restart) does, so its events are neither applied out of
// order (a report before the content it names, found by no join) nor
// dropped as late when they arrive.
//
// Silence alone cannot tell the two apart. Where the input can say how far
// each partition's log reaches (Ends: Kafka's high-water marks, asked once a
// second), a partition silent for PartitionIdle is caught up only once a
// high-water mark read after its last record shows nothing beyond that
// record, and even then it holds the watermark at endBound, the latest event
// time read from any partition when that high-water mark was asked for:
// what it may still receive was produced after everything read by then.
// Without Ends (a file, a test) a partition is idle once silent for
// PartitionIdle after a record that was the newest in it when fetched
// (caughtUp): judged from that record's lag, it takes a partition whose
// consumer reconnects late for one with nothing to say.
func (e *Engine) partitionWatermark(now time.Time) time.Time {
	var wm, newest time.Time
	found := false
	for p, pr := range e.parts {
		if pr.max.After(newest) {
			newest = pr.max
		}
		at := pr.max
		silent := now.Sub(pr.seen) > e.cfg.PartitionIdle
		_, counted := e.offsets[p] // a checkpoint says where it stands
		switch {
		case pr.unseen && silent && e.ends != nil && counted:
			// Restarted from a checkpoint: silent and behind is a consumer
			// slow to start on it, and holds event time as any does.
			if !pr.endKnown || pr.end > e.offsets[p]+1 {
				return time.Time{}
			}
			at = pr.endBound
		case pr.unseen && silent:
			continue
		case pr.unseen:
			// An assigned partition that has not delivered yet may hold the
			// oldest events of all: nothing closes until it speaks or idles.
			return time.Time{}
		case silent && e.ends == nil && pr.caughtUp:
			continue
		case silent && e.ends != nil && pr.endKnown && pr.end <= e.offsets[p]+1:
			if pr.endBound.After(at) {
				at = pr.endBound
			}
		}
		if !found || at.Before(wm) {
			wm, found = at, true
		}
	}
	if !found {
		return newest
	}
	return wm
}

func (e *Engine) late(err error) bool {
	if errors.Is(err, sketches.ErrLate) || errors.Is(err, sketches.ErrTooEarly) {
		e.m.late.Inc()
		return true
	}
	return false
}

func (e *Engine) content(c *event.Content) {
	ts := c.TS.UTC()
	if e.late(e.window.Event(ts)) {
		return
	}
	start := ts.Truncate(e.bucket)
	if e.first.IsZero() || start.Before(e.first) {
		e.first = start
	}
	creator := sketches.Hash(c.CreatorID)
	e.creatorsOf(start).InsertHash(creator)

	e.terms = c.Terms(e.terms[:0])
	keys := e.keys[:0]
	hashes := e.hashes[:0]
	open := e.window.Open(ts)
	for _, t := range e.terms {
		key, h := e.termKey(t)
		keys = append(keys, key)
		hashes = append(hashes, h)
		if !e.mention(c, ts, start, creator, open, key, h, false, "") {
			return
		}
	}
	e.hashes = hashes
	// Each hashtag also counts into its family, once per post however many of
	// the family's spellings the post carries. The join cache keeps only the
	// post's own terms: a report finds the families again from them.
	fams := e.fams[:0]
	for i, t := range e.terms {
		if !e.families.on() || t.Kind != event.KindHashtag || shortASCII(t.Value) {
			continue
		}
		fam, spelling := e.hashtagFamily(hashes[i], t.Value)
		if fam == 0 || slices.Contains(fams, fam) {
			continue
		}
		fams = append(fams, fam)
		term := e.spelled(fam, hashes[i], t.Value, spelling)
		if !e.mention(c, ts, start, creator, open, term, fam, true, t.Value) {
			break
		}
	}
	e.fams, e.keys = fams, keys
	if n := e.join.put(c.ContentID, keys); n > 0 {
		e.m.joinEvicted.Add(float64(n))
		if start.After(e.joinWarned) {
			// Said once a bucket, as event time moves on: in a flood it is
			// every post, and a backlog interleaves buckets.
			e.joinWarned = start
			e.log.Warn("content→terms cache at pipeline.join_cache_bytes: the oldest content is forgotten before pipeline.join_cache entries, and reports on it count only through their own hashtags; a flood of posts with many one-off terms is the usual cause",
				"bucket", start, "entries", e.join.len(), "pipeline.join_cache_bytes", e.cfg.JoinCacheBytes)
		}
	}
}

// creatorsOf returns the platform's unique creators of the open bucket at
// start. The last one is kept at hand, as bucketOf keeps a term's: a map keyed
// by time.Time is slow to hash, and the entry goes only when its bucket closes.
func (e *Engine) creatorsOf(start time.Time) *sketches.HLL {
	if e.lastCreators != nil && e.lastCreatorsStart.Equal(start) {
		return e.lastCreators
	}
	ch := e.creators[start]
	if ch == nil {
		var err error
		if ch, err = sketches.NewHLL(sketches.DefaultHLLPrecision); err != nil {
			panic(err)
		}
		e.creators[start] = ch
	}
	e.lastCreators, e.lastCreatorsStart = ch, start
	return ch
}

// mention counts one mention of key (hash h) by content c; a family's
// (derived) is counted in the count-min only unless key, its term, is set
// because it may be tracked, and member is the spelling that brought it. It
// reports false when the event is too late.
func (e *Engine) mention(c *event.Content, ts, start time.Time, creator uint64, open *sketches.Bucket, key string, h uint64, derived bool, member string) bool {
	if !derived {
		if e.late(e.window.Mention(ts, key, h, 1)) {
			return false
		}
	} else {
		if e.late(e.window.MentionDerived(ts, h, 1)) {
			return false
		}
		e.familyMentions.add(start)
		if key == "" {
			return true
		}
	}
	if !e.owns(h) {
		return true
	}
	st := e.tracked[key]
	if st == nil {
		st = e.maybeTrack(key, h, open, false)
		if st == nil {
			return true
		}
	}
	tb := e.bucketOf(st, start)
	e.early.touch(st, tb, start)
	tb.mentions++
	tb.creators.insert(creator)
	tb.regions.add(c.Region)
	tb.langs.add(c.Lang)
	tb.members.add(member)
	if len(tb.samples) < e.cfg.Samples {
		tb.samples = append(tb.samples, c.ContentID)
	}
	return true
}

func (e *Engine) report(r *event.Report) {
	ts := r.TS.UTC()
	if e.late(e.window.ReportEvent(ts)) {
		return
	}
	start := ts.Truncate(e.bucket)
	cached, known := e.join.get(r.ContentID)
	if len(r.Hashtags) == 0 && !known {
		e.m.unattrib.Inc()
	}
	keys := e.keys[:0]
	if len(r.Hashtags) > 0 {
		// The report's hashtags replace the content's, but not its sound or
		// challenge: a report on a post that uses a sound is a report about
		// that sound whatever the reporter tagged, and dropping them hid a
		// fifth of a sound's report wave (a bucket later in the median).
		for _, h := range r.Hashtags {
			key, _ := e.termKey(event.Term{Kind: event.KindHashtag, Value: h})
			keys = append(keys, key)
		}
		for _, k := range cached {
			if kind, _, _ := strings.Cut(k, ":"); kind != event.KindHashtag.String() {
				keys = append(keys, k)
			}
		}
	} else {
		keys = append(keys, cached...)
	}
	// The families of its hashtags are reported with them, each once.
	fams := e.fams[:0]
	for _, k := range keys {
		if v, ok := strings.CutPrefix(k, "hashtag:"); ok && e.families.on() {
			if term, fam := e.familyTerm(sketches.Hash(k), v); fam != 0 && !slices.Contains(fams, fam) {
				fams = append(fams, fam)
				keys = append(keys, term)
			}
		}
	}
	e.keys, e.fams = keys, fams
	reporter := sketches.Hash(r.ReporterID)
	// The decoder has checked the channel; an unknown one (a record built by
	// hand) counts as a user's.
	channel, _ := event.ParseChannel(r.Channel)
	trusted := e.set.HighTrustChannel(channel)
	open := e.window.Open(ts)
	for _, key := range keys {
		h := sketches.Hash(key)
		if e.late(e.window.Report(ts, key, h, 1)) {
			return
		}
		if !e.owns(h) {
			continue
		}
		st := e.tracked[key]
		if st == nil {
			if strings.HasPrefix(key, family.Prefix) && !e.families.tracks(h) {
				continue
			}
			if trusted {
				// One report from a high-trust channel pages (detectors.TrustedReport),
				// so its terms are tracked from it.
				st = e.trackNow(key, h, open)
			} else {
				st = e.maybeTrack(key, h, open, true)
			}
			if st == nil {
				continue
			}
		}
		tb := e.bucketOf(st, start)
		e.early.touch(st, tb, start)
		tb.reports++
		tb.byChannel[channel]++
		tb.reporters.insert(reporter)
		tb.reasons.add(r.Reason)
	}
}

// maybeTrack starts tracking key when its count in the open bucket reaches the
// threshold, or on its first mention when it is on the watchlist. Its history
// comes retroactively from the sketch window.
func (e *Engine) maybeTrack(key string, h uint64, open *sketches.Bucket, isReport bool) *termState {
	if len(e.tracked) >= e.cfg.MaxTracked || open == nil {
		return nil
	}
	var watch *detectors.WatchMatch
	if isReport {
		if open.Reports.Estimate(h) < e.cfg.TrackMinReports {
			return nil
		}
	} else if est := open.Mentions.Estimate(h); est < e.cfg.TrackMin {
		// The watchlist is checked once per term and bucket (on its first
		// mention), not on every event.
		if est != 1 {
			return nil
		}
		if watch = e.set.Watch(key); watch == nil {
			return nil
		}
	}
	if watch == nil && !e.admit(open.Start, h) {
		return nil
	}
	return e.track(key, h, watch, e.window.Closed())
}

// admit passes a term at the tracking bar through the door: on its first
// sighting there it is only remembered.
func (e *Engine) admit(start time.Time, h uint64) bool {
	ok, evicted, full := e.door.admit(start, h)
	if ok {
		return true
	}
	e.m.doorHeld.Inc()
	if evicted {
		e.m.doorLost.Inc()
		if full && start.After(e.doorWarned) {
			e.doorWarned = start
			e.log.Warn("tracking admission door full: terms at the tracking bar are forgotten before their second sighting, so real ones are tracked later; a flood of one-off terms is the usual cause",
				"bucket", start, "pipeline.admission_slots", e.cfg.AdmissionSlots)
		}
	}
	return false
}

// trackNow starts tracking key whatever its counts, room permitting.
func (e *Engine) trackNow(key string, h uint64, open *sketches.Bucket) *termState {
	if len(e.tracked) >= e.cfg.MaxTracked || open == nil {
		return nil
	}
	return e.track(key, h, nil, e.window.Closed())
}

// track starts following key in detail, with its history up to histEnd taken
// retroactively from the sketch window.
func (e *Engine) track(key string, h uint64, watch *detectors.WatchMatch, histEnd time.Time) *termState {
	if !e.owns(h) {
		return nil
	}
	if watch == nil {
		watch = e.set.Watch(key)
	}
	st := &termState{
		key: key, kind: kindOf(key), hash: h, watch: watch, family: e.termFamily(key),
		open:      make(map[time.Time]*termBucket, 2),
		mentions:  newSeries(e.cfg.History),
		reports:   newSeries(e.cfg.History),
		creators:  newSeries(e.cfg.History),
		histEnd:   histEnd,
		exactFrom: e.maxApplied.Truncate(e.bucket).Add(e.bucket),
	}
	if !st.histEnd.IsZero() {
		m, r := e.window.Series(h, st.histEnd, e.cfg.History)
		for i := range m {
			st.pushHistory(m[i], r[i], 0)
		}
	}
	e.tracked[key] = st
	return st
}

// SetEpoch sets the epoch this process claimed its state at
// (checkpoint.Store.Claim): every row version it writes carries it.
func (e *Engine) SetEpoch(epoch uint64) { e.epoch = epoch }

// RowVersion is the version of a row written at now by the owner of epoch:
// a later owner's rows (a larger epoch) win over an earlier owner's, whenever
// each was written, and one owner's later rewrites over its earlier ones. So
// a primary that was paused past its group's session timeout and wakes beside
// the standby that took over cannot replace the standby's rows with its own:
// ReplacingMergeTree and the Parquet reader keep the largest version. Bit 62,
// then 18 bits of epoch (checkpoint.MaxEpoch), then 44 bits of Unix
// milliseconds (557 years). Bit 62 puts every such version above those of
// the releases before epochs, Unix nanoseconds (below 2^62 until 2116).
func RowVersion(epoch uint64, now time.Time) uint64 {
	ms := uint64(max(now.UnixMilli(), 0)) & (1<<44 - 1)
	return 1<<62 | min(epoch, 1<<18-1)<<44 | ms
}

// owns reports whether the term of hash h is this process's to track, judge,
// write and page (pipeline.shards). The sketches count every term whatever
// the shard, so each shard's count-min, top-K and platform counts are the
// whole stream's, and a term is tracked on the same evidence in its shard as
// in a single process.
func (e *Engine) owns(h uint64) bool {
	return e.cfg.Shards <= 1 || h%uint64(e.cfg.Shards) == uint64(e.cfg.Shard)
}

// advanceTo moves the watermark to wm and closes every bucket it passes;
// parked records stay parked (Advance applies them).
func (e *Engine) advanceTo(ctx context.Context, wm time.Time) error {
	if !wm.After(e.watermark) {
		return nil
	}
	e.watermark = wm
	e.m.watermark.Set(float64(wm.Unix()))
	for _, b := range e.window.Advance(wm) {
		if err := e.close(ctx, b); err != nil {
			return err
		}
	}
	e.dedup.closeBefore(e.window.Closed())
	e.door.closeBefore(e.window.Closed())
	e.m.doorB.Set(float64(e.door.bytes()))
	e.m.dedupIDs.Set(float64(e.dedup.n))
	e.m.dedupB.Set(float64(e.dedup.bytes()))
	e.m.joinB.Set(float64(e.join.bytes()))
	return e.judgeEarly(ctx)
}

// isDuplicate reports whether rec is a copy of an event already read from
// its partition in a bucket still open, and counts it if so.
func (e *Engine) isDuplicate(p partition, rec *ingest.Record, ts time.Time) bool {
	id := rec.Content.EventID
	if rec.Kind == ingest.KindReport {
		id = rec.Report.EventID
		if p.topic == "" {
			// A record read from no topic (a file, a backtest): contents and
			// reports still keep apart, as their topics would.
			p.topic = "reports"
		}
	}
	dup, forgot := e.dedup.seen(p, id, ts, e.window.Closed())
	if forgot > 0 {
		e.m.dedupLost.Add(float64(forgot))
		e.log.Warn("event_id filter full; forgot the ids of its oldest bucket early, copies of those events would count again",
			"forgotten", forgot, "pipeline.dedup_max_ids", e.cfg.DedupMaxIDs)
	}
	if dup {
		e.m.dups.Inc()
		e.m.recDuplicate.Inc()
	}
	return dup
}

// Drain applies every parked record and closes every open bucket, as at the
// end of a finite input: nothing earlier can arrive any more.
func (e *Engine) Drain(ctx context.Context) error {
	if err := e.endHold(ctx, time.Now(), true); err != nil {
		return err
	}
	end := e.watermark
	if last := e.latestParked(); last.After(end) {
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
	platform := e.platform(b)
	obs, estimated := e.observe(b, &platform)
	rows, evs, surging := e.judgeBucket(b, obs, estimated, platform)
	e.evict()
	if err := e.write(ctx, rows, evs); err != nil {
		return err
	}
	e.reportBucket(b, platform, len(obs), evs, surging, began)
	return nil
}

// nominate starts tracking the heavy hitters of closed bucket b that crossed
// the tracking bar without being noticed on the way (e.g. a term whose first
// mentions were in a late event).
func (e *Engine) nominate(b *sketches.Bucket) {
	for _, top := range [2]struct {
		items []sketches.Item
		min   uint32
	}{{b.Top.Top(), e.cfg.TrackMin}, {b.ReportTop.Top(), e.cfg.TrackMinReports}} {
		for _, it := range top.items {
			if len(e.tracked) >= e.cfg.MaxTracked {
				break
			}
			// Space-Saving counts overestimate by up to Err; nominate only on
			// the guaranteed part, or every slot of the summary would qualify.
			if it.Count-it.Err < uint64(top.min) {
				continue
			}
			if _, ok := e.tracked[it.Key]; !ok && (kindOf(it.Key) != event.KindFamily || e.families.tracks(it.Hash)) {
				e.track(it.Key, it.Hash, nil, b.Start)
			}
		}
	}
}

// platform is what the whole platform did in closed bucket b, the norm the
// detectors judge a term against; it forgets the bucket's platform counts.
// MentionsPerCreator is left to observe.
func (e *Engine) platform(b *sketches.Bucket) detectors.Platform {
	platform := detectors.Platform{
		Mentions:           float64(b.Mentions.Total() - e.familyMentions.get(b.Start)),
		Events:             float64(b.Events),
		Reports:            float64(b.ReportEvents),
		MentionsPerCreator: 0,
	}
	if b.Events > 0 {
		platform.ReportRate = float64(b.ReportEvents) / float64(b.Events)
	}
	if ch := e.creators[b.Start]; ch != nil {
		platform.UniqueCreators = ch.Estimate()
		delete(e.creators, b.Start)
	}
	e.familyMentions.drop(b.Start)
	return platform
}

// observe makes an Observation of every tracked term in closed bucket b,
// sorted by term, with the counts its row states beside each (estimated), and
// sets platform's MentionsPerCreator from them.
func (e *Engine) observe(b *sketches.Bucket, platform *detectors.Platform) (obs []detectors.Observation, estimated [][2]float64) {
	keys := make([]string, 0, len(e.tracked))
	for k := range e.tracked {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	obs = make([]detectors.Observation, 0, len(keys))
	// estimated holds each observation's count-min counts where the term
	// was tracked only part of the bucket: what its row says, never below
	// the truth. The detectors judge a lower bound instead (see below).
	estimated = make([][2]float64, 0, len(keys))
	var ratios []float64
	// The histories are the series' own memory, not copies: detectors do
	// not keep them, and the series are pushed only after every term is judged.
	history := func(s *series) []float64 {
		return e.known(s.view(), b.Start)
	}
	for _, k := range keys {
		st := e.tracked[k]
		e.catchUp(st, b.Start)
		tb := st.open[b.Start]
		mentions, reports := e.judged(st, b, tb)
		if b.Start.Before(st.exactFrom) {
			// The row says the count-min's counts, never below the truth.
			estimated = append(estimated, [2]float64{float64(b.Mentions.Estimate(st.hash)), float64(b.Reports.Estimate(st.hash))})
		} else {
			estimated = append(estimated, [2]float64{mentions, reports})
		}
		o := detectors.Observation{
			Term: k, Bucket: b.Start, Width: e.bucket,
			Mentions:        mentions,
			Reports:         reports,
			MentionHistory:  history(st.mentions),
			ReportHistory:   history(st.reports),
			CreatorHistory:  history(st.creators),
			PartialCreators: b.Start.Before(st.exactFrom),
			DayAgo:          e.dayAgo(st.hash, b.Start),
			Watch:           st.watch,
		}
		if tb != nil {
			tb.describe(&o, e.cfg.TopLabels)
		}
		if o.Mentions >= 10 && o.UniqueCreators > 0 {
			ratios = append(ratios, o.Mentions/float64(o.UniqueCreators))
		}
		obs = append(obs, o)
	}
	platform.MentionsPerCreator = median(ratios)
	return obs, estimated
}

// judgeBucket runs the detectors and the alert lifecycle on the observations
// of closed bucket b, makes its rows, and moves every tracked term's history
// on by the bucket. surging are the terms at twice the tracking bar, for the
// bucket report.
func (e *Engine) judgeBucket(b *sketches.Bucket, obs []detectors.Observation, estimated [][2]float64, platform detectors.Platform) (rows []trend.Minute, evs []alert.Event, surging []TermStat) {
	version := RowVersion(e.epoch, time.Now())
	for i := range obs {
		o := &obs[i]
		o.Platform = platform
		st := e.tracked[o.Term]
		o.Tail = st.tail
		var fs []detectors.Finding
		if st.kind != event.KindFamily || spread(st.open[b.Start]) {
			fs = e.set.Evaluate(o)
		}
		st.tail = e.set.Learn(o)
		n := len(evs)
		evs = append(evs, e.life.Observe(o, fs)...)
		if tb := st.open[b.Start]; tb != nil && st.kind == event.KindFamily {
			withMembers(evs[n:], tb.members, e.cfg.TopLabels)
		}
		if est := estimated[i]; est[0] > 0 || est[1] > 0 {
			var langs []string
			var byChannel [event.NumChannels]uint64
			if tb := st.open[b.Start]; tb != nil {
				langs = names(tb.langs.top(e.cfg.TopLabels))
				byChannel = tb.byChannel
			}
			rows = append(rows, trend.Minute{
				ReportsByChannel: byChannel,
				Bucket:           b.Start, Term: o.Term, Kind: st.kind.String(),
				Mentions: uint64(estimated[i][0]), UniqueCreators: o.UniqueCreators,
				Reports: uint64(estimated[i][1]), UniqueReporters: o.UniqueReporters,
				TopRegions: names(o.Regions), Langs: langs, ReportReasons: names(o.ReportReasons),
				Exact:   !b.Start.Before(st.exactFrom),
				Family:  st.family,
				Version: version,
			})
			if o.Mentions >= float64(2*e.cfg.TrackMin) {
				exp := recentMean(o.MentionHistory, 30)
				surging = append(surging, TermStat{Term: o.Term, Mentions: o.Mentions, Expected: exp,
					Growth: (o.Mentions + 1) / (exp + 1), UniqueCreators: o.UniqueCreators, Reports: o.Reports})
			}
		}
		creators := float64(o.UniqueCreators)
		if o.PartialCreators {
			creators = 0 // an undercount would overstate the term's norm
		}
		st.pushHistory(o.Mentions, o.Reports, creators)
		st.histEnd = b.Start.Add(e.bucket)
		delete(st.open, b.Start)
		if o.Mentions < float64(e.cfg.TrackMin) && o.Reports < float64(e.cfg.TrackMinReports) {
			st.quiet++
		} else {
			st.quiet = 0
		}
	}
	evs = append(evs, e.life.EndBucket(b.Start)...)
	return rows, evs, surging
}

// reportBucket tells the observers, the log and the metrics what closing bucket b
// found: observed terms, alert events evs, the fastest-growing terms surging;
// began is when the close began.
func (e *Engine) reportBucket(b *sketches.Bucket, platform detectors.Platform, observed int, evs []alert.Event, surging []TermStat, began time.Time) {
	sort.Slice(surging, func(i, j int) bool { return surging[i].Growth > surging[j].Growth })
	if len(surging) > 10 {
		surging = surging[:10]
	}
	report := &BucketReport{
		Start: b.Start, Events: b.Events, Reports: b.ReportEvents, Mentions: uint64(platform.Mentions),
		Tracked: len(e.tracked), Observed: observed, Late: e.window.Dropped() - e.reported.late, Invalid: e.invalid - e.reported.invalid,
		WindowMiB: float64(e.window.Bytes()) / (1 << 20), Surging: surging,
	}
	e.log.Debug("bucket closed", "bucket", b.Start, "events", b.Events, "mentions", report.Mentions, "reports", b.ReportEvents,
		"tracked", report.Tracked, "late", report.Late, "parked", len(e.parked), "watermark", e.watermark, "alerts", len(evs),
		"slowest", e.slowest())
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
	e.m.closeDur.Observe(time.Since(began).Seconds())
}

// judged is what the detectors judge of st's counts in bucket b, closed or
// still open; tb is st's own bucket (nil: none). Tracked since before the
// bucket saw any event, its own counts are exact, where the count-min's may
// overestimate and depend on the order events arrived in. Tracked part of
// the bucket, the estimate can exceed the truth by up to ε·N, which in a
// flood is hundreds: judged as a count it made every ordinary term tracked in
// the flood's minute surge, at close and early alike. What is certain is
// judged instead: the larger of the estimate less ε·N and the exact count
// since tracking began.
func (e *Engine) judged(st *termState, b *sketches.Bucket, tb *termBucket) (mentions, reports float64) {
	var since [2]float64
	if tb != nil {
		since = [2]float64{float64(tb.mentions), float64(tb.reports)}
	}
	if !b.Start.Before(st.exactFrom) {
		return since[0], since[1]
	}
	mentions = max(since[0], float64(b.Mentions.Estimate(st.hash))-b.Mentions.Epsilon()*float64(b.Mentions.Total()))
	reports = max(since[1], float64(b.Reports.Estimate(st.hash))-b.Reports.Epsilon()*float64(b.Reports.Total()))
	return mentions, reports
}

// catchUp fills the history of st up to start, for buckets in which it was not
// evaluated (none in steady state; a term restored from an older checkpoint).
func (e *Engine) catchUp(st *termState, start time.Time) {
	if !st.histEnd.Before(start) {
		return
	}
	n := int(start.Sub(st.histEnd) / e.bucket)
	if n > e.cfg.History {
		n = e.cfg.History
	}
	m, r := e.window.Series(st.hash, start, n)
	for i := range m {
		st.pushHistory(m[i], r[i], 0)
	}
	st.histEnd = start
}

// known trims a history ending before start to the buckets the window has seen:
// before the first event the counts are unknown, not zero, and a detector told
// "zero" would see every term of a fresh start as new.
func (e *Engine) known(hist []float64, start time.Time) []float64 {
	n := int(start.Sub(e.first) / e.bucket)
	if n < 0 {
		n = 0
	}
	if len(hist) > n {
		return hist[len(hist)-n:]
	}
	return hist
}

// dayAgo is the mean count per bucket in the hour around this time yesterday,
// or NaN while the window does not reach that far back.
func (e *Engine) dayAgo(h uint64, start time.Time) float64 {
	from := start.Add(-24*time.Hour - 30*time.Minute)
	if e.first.IsZero() || from.Before(e.first) {
		return math.NaN()
	}
	m, _, err := e.window.Count(h, from, from.Add(time.Hour))
	if err != nil {
		return math.NaN()
	}
	return float64(m) / float64(time.Hour/e.bucket)
}

func (e *Engine) evict() {
	var open map[string]bool
	for k, st := range e.tracked {
		if st.quiet < e.cfg.EvictAfter || st.watch != nil || len(st.open) > 0 {
			continue
		}
		if open == nil {
			open = make(map[string]bool)
			for _, a := range e.life.Open() {
				open[a.Term] = true
			}
		}
		if !open[k] {
			delete(e.tracked, k)
			if st.kind == event.KindFamily {
				e.families.untracked(st.hash)
			}
		}
	}
}

func (e *Engine) write(ctx context.Context, rows []trend.Minute, evs []alert.Event) error {
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

// Offsets returns the last processed offset of each partition.
func (e *Engine) Offsets() []ingest.Offset {
	out := make([]ingest.Offset, 0, len(e.offsets))
	for p, o := range e.offsets {
		out = append(out, ingest.Offset{Topic: p.topic, Partition: p.part, Offset: o})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

// Watermark is the largest event time seen.
func (e *Engine) Watermark() time.Time { return e.watermark }

// OpenAlerts lists alerts open or escalated.
func (e *Engine) OpenAlerts() []alert.Alert { return e.life.Open() }
