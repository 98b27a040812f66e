package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/family"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline/admission"
	"github.com/trendwatch/trendwatch/pipeline/count"
	"github.com/trendwatch/trendwatch/pipeline/dedup"
	"github.com/trendwatch/trendwatch/pipeline/detect"
	"github.com/trendwatch/trendwatch/pipeline/eventtime"
	"github.com/trendwatch/trendwatch/pipeline/families"
	"github.com/trendwatch/trendwatch/pipeline/join"
	"github.com/trendwatch/trendwatch/pipeline/looks"
	"github.com/trendwatch/trendwatch/pipeline/platform"
	"github.com/trendwatch/trendwatch/pipeline/surges"
	"github.com/trendwatch/trendwatch/pipeline/termkey"
	"github.com/trendwatch/trendwatch/pipeline/tracked"
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
	// WriteIntake stores a closed bucket's intake, in the same flush as
	// its rows.
	WriteIntake(ctx context.Context, in trend.Intake) error
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

// Confirmer is a Notifier that keeps copies of the alerts it paged
// (incident.Notifier, which re-sends them to Alertmanager) and is told when a
// final judgement bears out an early one: a confirmation is no transition,
// and without it the copy said "early" to the alert's resolve.
type Confirmer interface {
	Confirm(as []alert.Alert)
}

// Observer is told about each closed bucket and each alert transition, after the
// sinks were given them. The demo prints them; tests collect them.
type Observer interface {
	Bucket(r *BucketReport)
	Alert(ev alert.Event)
}

// TermStat is one term in a bucket report.
type TermStat = detect.TermStat

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

// detectorSet is what the engine, its counter and its judge ask of a
// detectors.Set; a test wraps one to see the observations the detectors are
// given.
type detectorSet interface {
	count.Detectors
	detect.Detectors
	WatchTerms() []string
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

	// judge judges the tracked terms at each close and early look (New and
	// restore make it over the tables below).
	judge *detect.Judge
	// count counts each record applied into the window, the platform's
	// counts and the tracked terms' open buckets (New and restore make it
	// over the tables below).
	count *count.Counter
	// tracked is by the hash of the term's key (sketches.Hash), which every
	// mention has at hand: hashing the key string again read its bytes from
	// wherever the heap put them, a cache miss on most mentions. Two keys of
	// one hash are one term to the sketches already.
	tracked map[uint64]*tracked.Term
	join    *join.Cache
	dedup   *dedup.Filter
	door    *admission.Door
	// platform is what the whole platform did in each open bucket: its
	// unique creators and the family mentions its totals leave out.
	platform *platform.Buckets
	// surges remembers, by term hash, the buckets the surge paged on within
	// the last day, so that the day-ago level leaves them out.
	surges *surges.Memory
	// epoch is the one this process claimed its state at (SetEpoch); row
	// versions carry it. superseded is set when a commit round found that
	// another process claimed the state since: the run stops.
	epoch      uint64
	superseded error
	// fence is the checkpoint store's (Run sets it): asked before every
	// write of rows, alerts and pages.
	fence Fence
	// unwritten is the first write of a closed bucket's rows, alerts or
	// pages that failed. The window has let that bucket go and the judge
	// has moved its lifecycle on, so a snapshot taken now would hold a
	// state whose output never reached the sinks: no checkpoint is saved
	// and no offset committed after it (commitRefused), and a restart
	// replays from the last good one.
	unwritten error

	watermark  time.Time
	lastClosed time.Time // start of the last bucket closed
	// in is the input partitions: the offsets counted of each, and the
	// event time each has reached. The watermark is the slowest active
	// partition's, not the fastest's: a consumer that reads one partition
	// ahead of another must not close buckets the other one still fills.
	in *eventtime.Inputs
	// via is the last relay offset read of each relay partition (detect
	// processes, ingest.Record.Via): what they commit, where in's offsets
	// are what they deduplicate by.
	via map[ingest.Partition]int64
	// parked holds records ahead of the watermark, bounded by MaxParked;
	// they are applied in event-time order as it moves on (see order.go).
	parked      eventtime.Held
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
	held      bool
	invalid   uint64
	reported  struct{ late, invalid uint64 } // totals at the last bucket report
	lastEvent time.Time                      // wall clock of the last record, for idle advance
	// aheadWarned is when force last said it dropped records stamped ahead
	// of the clock.
	aheadWarned time.Time

	// winBuf holds the window's encoding from one checkpoint to the next.
	winBuf []byte
	// snapBuf is the buffer a snapshot is written through, kept likewise.
	snapBuf []byte

	// families are the families of the hashtags seen lately (see family.go).
	families families.Table
	// watchFamilies is set when the watchlist has entries, which may match a
	// family: without any, a new family is not looked up in it.
	watchFamilies bool
	// looks schedules the early looks at the open buckets and knows which
	// terms each must visit.
	looks *looks.Looks
	m     *metrics

	// termKeys makes term keys without an allocation for the terms
	// mentioned lately.
	termKeys *termkey.Cache
	// buckets keeps the tracked terms' closed buckets for reuse.
	buckets tracked.Pool
}

type metrics struct {
	records   *prometheus.CounterVec
	parked    prometheus.Gauge
	forced    prometheus.Counter
	aheadLost prometheus.Counter
	// trackRefused and trackEvicted: see count.Metrics.TrackRefused and
	// detect.Metrics.Evicted.
	trackRefused, trackEvicted prometheus.Counter
	late                       prometheus.Counter
	tracked                    prometheus.Gauge
	openAlert                  prometheus.Gauge
	windowB                    prometheus.Gauge
	buckets                    prometheus.Counter
	closeDur                   prometheus.Histogram
	commitDur                  prometheus.Histogram
	commitErr                  prometheus.Counter
	watermark                  prometheus.Gauge
	alerts                     *prometheus.CounterVec
	unattrib                   prometheus.Counter
	dups                       prometheus.Counter
	dedupLost                  prometheus.Counter
	dedupIDs                   prometheus.Gauge
	dedupB                     prometheus.Gauge

	// The records counter of each kind, resolved once: a label lookup per
	// record costs as much as counting its terms.
	recContent, recReport, recInvalid, recSkipped, recReplayed, recDuplicate prometheus.Counter

	joinB       prometheus.Gauge
	joinEvicted prometheus.Counter
	joinReach   prometheus.Gauge

	doorHeld  prometheus.Counter
	doorLost  prometheus.Counter
	doorB     prometheus.Gauge
	early     *prometheus.CounterVec
	retracted *prometheus.CounterVec

	surges     prometheus.Gauge
	surgesLost prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		records:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trendwatch_pipeline_records_total", Help: "Records processed, by kind."}, []string{"kind"}),
		parked:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "trendwatch_pipeline_parked_records", Help: "Records held because their partition is ahead of the slowest one."}),
		forced:       prometheus.NewCounter(prometheus.CounterOpts{Name: "trendwatch_pipeline_forced_closes_total", Help: "Buckets closed early because records held for a slow partition filled pipeline.max_parked."}),
		trackRefused: prometheus.NewCounter(prometheus.CounterOpts{Name: "trendwatch_pipeline_track_refused_total", Help: "Mentions and reports at the tracking bar of terms not tracked because pipeline.max_tracked terms are."}),
		trackEvicted: prometheus.NewCounter(prometheus.CounterOpts{Name: "trendwatch_pipeline_tracked_evicted_early_total", Help: "Tracked terms let go before pipeline.evict_after quiet buckets to make room, the tracked terms being at pipeline.max_tracked."}),
		aheadLost:    prometheus.NewCounter(prometheus.CounterOpts{Name: "trendwatch_pipeline_ahead_dropped_total", Help: "Records stamped more than pipeline.max_ahead after the clock, dropped because waiting ones filled pipeline.max_parked."}),
		late:         prometheus.NewCounter(prometheus.CounterOpts{Name: "trendwatch_pipeline_late_events_total", Help: "Events dropped because their bucket had closed."}),
		tracked:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "trendwatch_pipeline_tracked_terms", Help: "Terms tracked in detail."}),
		openAlert:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "trendwatch_open_alerts", Help: "Alerts open or escalated."}),
		windowB:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "trendwatch_sketch_window_bytes", Help: "Bytes held by the sketch window."}),
		buckets:      prometheus.NewCounter(prometheus.CounterOpts{Name: "trendwatch_pipeline_buckets_closed_total", Help: "Buckets of event time closed."}),
		closeDur:     prometheus.NewHistogram(prometheus.HistogramOpts{Name: "trendwatch_pipeline_bucket_close_seconds", Help: "Time to close a bucket: detectors and sink writes.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		commitDur:    prometheus.NewHistogram(prometheus.HistogramOpts{Name: "trendwatch_sink_flush_seconds", Help: "Time to flush the sinks, checkpoint and commit offsets.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}),
		commitErr:    prometheus.NewCounter(prometheus.CounterOpts{Name: "trendwatch_pipeline_commit_errors_total", Help: "Failed flush/checkpoint/commit rounds; offsets stay put."}),
		watermark:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "trendwatch_pipeline_watermark_seconds", Help: "Event-time watermark, Unix seconds."}),
		alerts:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trendwatch_alert_transitions_total", Help: "Alert transitions, by detector and new status."}, []string{"detector", "status"}),
		unattrib:     prometheus.NewCounter(prometheus.CounterOpts{Name: "trendwatch_reports_unattributed_total", Help: "Reports counted against no term: their content_id is not in the content→terms cache and they carry no hashtags."}),
		dups:         prometheus.NewCounter(prometheus.CounterOpts{Name: "trendwatch_pipeline_duplicates_dropped_total", Help: "Events dropped because their event_id was already counted from the same partition within the open buckets."}),
		dedupLost:    prometheus.NewCounter(prometheus.CounterOpts{Name: "trendwatch_pipeline_dedup_forgotten_total", Help: "Event ids forgotten before their bucket closed because pipeline.dedup_max_ids was reached; a copy of one would count again."}),
		dedupIDs:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "trendwatch_pipeline_dedup_ids", Help: "Event ids remembered for deduplication."}),
		dedupB:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "trendwatch_pipeline_dedup_bytes", Help: "Bytes held by the event_id deduplication filter (estimate)."}),
		joinB:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "trendwatch_pipeline_join_cache_bytes", Help: "Bytes held by the content→terms cache that attributes reports to terms (estimate), bounded by pipeline.join_cache_bytes."}),
		joinReach:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "trendwatch_pipeline_join_cache_reach_seconds", Help: "How far back in event time the content→terms cache reaches at the last closed bucket's rate of posts (its entries over posts per second): a report on a post older than this counts only through its own hashtags."}),
		joinEvicted:  prometheus.NewCounter(prometheus.CounterOpts{Name: "trendwatch_pipeline_join_cache_evicted_total", Help: "Content IDs the content→terms cache forgot early because it reached pipeline.join_cache_bytes before pipeline.join_cache entries; reports on them count only through their own hashtags."}),
		doorHeld:     prometheus.NewCounter(prometheus.CounterOpts{Name: "trendwatch_pipeline_admission_held_total", Help: "Terms whose count-min estimate reached the tracking bar for the first time in a bucket: held at the door until a second sighting."}),
		doorLost:     prometheus.NewCounter(prometheus.CounterOpts{Name: "trendwatch_pipeline_admission_forgotten_total", Help: "Terms held at the tracking door that another took the slot of before their second sighting; many once the door is at pipeline.admission_slots."}),
		doorB:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "trendwatch_pipeline_admission_bytes", Help: "Bytes held by the tracking admission door."}),
		early:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trendwatch_early_alerts_total", Help: "Alerts opened early, on a bucket still open (detectors.early), by detector."}, []string{"detector"}),
		retracted:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trendwatch_alerts_retracted_total", Help: "Early alerts the final judgement of their bucket did not bear out, resolved with reason retracted, by detector."}, []string{"detector"}),
		surges:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "trendwatch_pipeline_surges_remembered", Help: "Buckets the surge paged on within the last day, remembered so that the day-ago level leaves them out."}),
		surgesLost:   prometheus.NewCounter(prometheus.CounterOpts{Name: "trendwatch_pipeline_surges_unremembered_total", Help: "Surged buckets not remembered because the engine held its bound of them: tomorrow's day-ago level at their hour counts them."}),
	}
	m.recContent, m.recReport = m.records.WithLabelValues("content"), m.records.WithLabelValues("report")
	m.recInvalid, m.recSkipped = m.records.WithLabelValues("invalid"), m.records.WithLabelValues("skipped")
	m.recReplayed, m.recDuplicate = m.records.WithLabelValues("replayed"), m.records.WithLabelValues("duplicate")
	if reg != nil {
		reg.MustRegister(m.records, m.parked, m.forced, m.aheadLost, m.trackRefused, m.trackEvicted, m.late, m.tracked, m.openAlert, m.windowB, m.buckets, m.closeDur, m.commitDur, m.commitErr, m.watermark, m.alerts, m.unattrib, m.dups, m.dedupLost, m.dedupIDs, m.dedupB, m.doorHeld, m.doorLost, m.doorB, m.early, m.retracted, m.joinB, m.joinEvicted, m.joinReach, m.surges, m.surgesLost)
	}
	return m
}

// maxSurgeBuckets bounds the surged buckets the engine remembers: 4 MiB of
// them, a day of hour-long surges on over four thousand terms, and about
// 19 MiB with each term's entry when every bucket is a different term's (a
// flood of one-bucket surges).
const maxSurgeBuckets = 1 << 18

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
	set.WatchFolded(family.Fold, family.Loose)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{
		cfg: cfg, log: log, window: w, windowConfig: wcfg, openBuckets: w.Plan().OpenBuckets, bucket: wcfg.Bucket, lateness: wcfg.AllowedLateness, set: set,
		life:     detectors.NewLifecycle(dcfg.Lifecycle),
		sinks:    sinks,
		tracked:  make(map[uint64]*tracked.Term),
		surges:   surges.New(maxSurgeBuckets),
		join:     join.New(cfg.JoinCache, cfg.JoinCacheBytes),
		dedup:    dedup.New(cfg.DedupMaxIDs, wcfg.Bucket),
		door:     admission.New(cfg.AdmissionSlots),
		platform: platform.New(),
		in:       eventtime.NewInputs(cfg.PartitionIdle, log),
		via:      make(map[ingest.Partition]int64),
		m:        newMetrics(reg),
		lag:      lagTrend{step: max(time.Second, cfg.MaxLagGrowth/10)},
		termKeys: termkey.New(),
		looks:    looks.New(dcfg),

		watchFamilies: len(dcfg.Watchlist.Terms)+len(dcfg.Watchlist.Entries) > 0,
	}
	e.in.SetAhead(cfg.MaxAhead)
	e.families = families.New(cfg.Families, familyOwner{e})
	e.count = e.newCounter()
	e.judge = e.newJudge()
	e.trackWatched()
	return e, nil
}

// newJudge makes the judge over the engine's tables, as they stand.
func (e *Engine) newJudge() *detect.Judge {
	return detect.New(detect.Config{
		Bucket: e.bucket, CoarseBucket: e.windowConfig.CoarseBucket, History: e.cfg.History,
		MaxTracked: e.cfg.MaxTracked, TrackMin: e.cfg.TrackMin, TrackMinReports: e.cfg.TrackMinReports,
		EvictAfter: e.cfg.EvictAfter, TopLabels: e.cfg.TopLabels,
	}, detect.Parts{
		Window: e.window, Tracked: e.tracked, Pool: &e.buckets, Families: &e.families, Platform: e.platform,
		Looks: e.looks, Surges: e.surges, Counter: e.count, Life: e.life,
	}, e.set, detect.Metrics{Surges: e.m.surges, SurgesLost: e.m.surgesLost, Evicted: e.m.trackEvicted})
}

// newCounter makes the counter over the engine's tables, as they stand.
func (e *Engine) newCounter() *count.Counter {
	return count.New(count.Config{
		Bucket: e.bucket, History: e.cfg.History, MaxTracked: e.cfg.MaxTracked,
		TrackMin: e.cfg.TrackMin, TrackMinReports: e.cfg.TrackMinReports, Samples: e.cfg.Samples,
		JoinCacheBytes: e.cfg.JoinCacheBytes, AdmissionSlots: e.cfg.AdmissionSlots,
		Shard: e.shard(),
	}, count.Parts{
		Window: e.window, Tracked: e.tracked, Pool: &e.buckets, Families: &e.families, TermKeys: e.termKeys,
		Join: e.join, Door: e.door, Platform: e.platform, Looks: e.looks,
	}, e.set, count.Metrics{
		Late: e.m.late, Unattributed: e.m.unattrib, JoinEvicted: e.m.joinEvicted, DoorHeld: e.m.doorHeld, DoorLost: e.m.doorLost,
		TrackRefused: e.m.trackRefused,
	}, e.log)
}

// trackWatched tracks the watchlist's terms this process owns that are not
// tracked yet: from the start, so that their very first mentions carry
// creators, regions and samples.
func (e *Engine) trackWatched() {
	for _, k := range e.set.WatchTerms() {
		if h := sketches.Hash(k); e.tracked[h] == nil && e.count.OwnsKey(k, h) {
			e.count.Track(k, h, nil, time.Time{})
		}
	}
}

// Expect tells the engine which input partitions exist, before any record
// arrives: until each has delivered or stayed silent for PartitionIdle, event
// time does not move past what it may still deliver.
func (e *Engine) Expect(parts []ingest.Partition) { e.in.Expect(parts, time.Now()) }

// AddObserver registers o for bucket reports and alert transitions.
func (e *Engine) AddObserver(o Observer) { e.obs = append(e.obs, o) }

// SetNotifier makes n the engine's pager. Set it before the engine restores a
// checkpoint, which hands n the deliveries its predecessor had not made.
func (e *Engine) SetNotifier(n Notifier) { e.notifier = n }

// Process counts one record and closes the buckets its event time moves past.
// A record at or below an offset already counted (a replay after a restart from
// a checkpoint) is skipped.
func (e *Engine) Process(ctx context.Context, rec ingest.Record) error {
	defer e.setGauges()
	return e.processAt(ctx, &rec, time.Now())
}

// processAt is Process of rec, which it does not keep, on the wall clock now.
func (e *Engine) processAt(ctx context.Context, rec *ingest.Record, now time.Time) error {
	e.resume(now)
	e.in.Take()
	e.in.Ask(ctx, now)
	e.lastEvent = now
	if !rec.Hashes.Set {
		rec.Hash() // a record not from the consumer's decoders
	}
	if rec.Via.Topic != "" {
		// Read, so committed, even when it is a replay skipped below: the
		// relay holds records again after an aggregate process restarts.
		e.via[ingest.Partition{Topic: rec.Via.Topic, Partition: rec.Via.Partition}] = rec.Via.Offset
	}
	p := ingest.Partition{Topic: rec.Source.Topic, Partition: rec.Source.Partition}
	if rec.Source.Topic != "" && !e.in.Count(p, rec.Source.Offset) {
		e.m.recReplayed.Inc()
		return nil
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
	e.in.Read(p, ts, rec.Lag, now)
	if e.isDuplicate(p, rec, ts) {
		return nil
	}
	if rec.Source.Topic != "" && e.holdUntil.IsZero() {
		e.holdUntil = now.Add(e.cfg.PartitionIdle)
	}
	if !e.held && now.Before(e.holdUntil) && e.parked.Len() < e.cfg.MaxParked && !e.in.Delivered() {
		// Start-up: the consumer's partitions deliver their first records
		// at different times, and whichever comes first must not decide
		// where event time stands. Hold everything briefly, then apply it
		// in event-time order; once every partition expected has
		// delivered, the watermark knows where each stands, and records
		// ahead of it wait for it as at any time (order). Holding on
		// until pipeline.partition_idle passed copied every record of a
		// replay's first seconds, up to pipeline.max_parked of them, into
		// the holding area and out again.
		e.parked.Hold(rec)
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
	n := e.parked.Len()
	err := e.maybeAdvance(ctx, now)
	e.log.Debug("start-up hold over", "applied", n-e.parked.Len(), "partitions", e.in.Partitions())
	return err
}

func (e *Engine) apply(rec *ingest.Record) { e.count.Apply(rec) }

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
	return e.advance(ctx, e.in.Watermark(now))
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

// shard is this process's term shard (pipeline.shard of pipeline.shards):
// the terms whose incident it owns (count.Counter.IncidentHash) are its to
// track, judge, write and page, a challenge's spellings and its family
// alike. The sketches count every term whatever the shard, so each shard's
// count-min, top-K and platform counts are the whole stream's, and a term
// is tracked on the same evidence in its shard as in a single process.
func (e *Engine) shard() count.Shard { return count.Shard{I: e.cfg.Shard, N: e.cfg.Shards} }

// Offsets returns the last processed offset of each partition.
func (e *Engine) Offsets() []ingest.Offset { return e.in.Offsets() }

// CommitOffsets returns the offsets to commit once what was processed is
// durable: the relay partitions' for a detect process (their records'
// input offsets are in the checkpoint, which skips a replay), the input
// partitions' otherwise.
func (e *Engine) CommitOffsets() []ingest.Offset {
	if len(e.via) > 0 || e.cfg.Role == RoleDetect {
		// A detect process that has read no relay record since it started
		// has none to commit: its input offsets are not its group's.
		return eventtime.Sorted(e.via)
	}
	return e.Offsets()
}

// Watermark is the largest event time seen.
func (e *Engine) Watermark() time.Time { return e.watermark }

// OpenAlerts lists alerts open or escalated.
func (e *Engine) OpenAlerts() []alert.Alert { return e.life.Open() }
