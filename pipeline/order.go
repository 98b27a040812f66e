package pipeline

import (
	"context"
	"time"

	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline/eventtime"
)

// Records are applied in event-time order across partitions: a record whose
// event time is ahead of the slowest active partition waits here until that
// partition catches up. What the engine derives then does not depend on the
// order in which the consumer happened to read its partitions: a report is
// counted after the content it reports (the join finds its terms), a term
// starts being tracked at the same event, and a restart that replays a backlog
// in large per-partition chunks counts exactly what a steady run counts.
// Records of one partition keep their order among themselves only as far as
// their event times do; one arriving behind the watermark is applied at once.

// order applies rec now if every active partition has reached its event time
// and nothing earlier is waiting, and parks it otherwise. A full holding area
// means the slowest partition is too far behind to wait for: the earliest
// records are applied anyway, closing buckets early if they do not fit the
// window, and that partition's later records for those buckets count as late.
func (e *Engine) order(ctx context.Context, rec *ingest.Record, ts, now time.Time) error {
	wm := e.in.Watermark(now)
	if e.parked.Len() == 0 && due(rec.Kind, ts, wm) {
		if err := e.advanceTo(ctx, ts); err != nil {
			return err
		}
		e.apply(rec)
		return e.advanceTo(ctx, wm)
	}
	e.parked.Hold(rec)
	for e.parked.Len() > e.cfg.MaxParked {
		if err := e.force(ctx, now); err != nil {
			return err
		}
	}
	return e.advance(ctx, wm)
}

// due reports whether a record of kind at event time ts may be applied with
// event time at wm. A report waits until event time is past its own: at wm
// itself, a partition may still deliver the content it reports, stamped the
// same second (a classifier that reports at posting time, timestamps in
// whole seconds), and a report applied before its content counts for no
// term. Content at wm goes, as parked records of one time go content first
// (eventtime.Held).
func due(kind ingest.Kind, ts, wm time.Time) bool {
	if kind == ingest.KindReport {
		return ts.Before(wm)
	}
	return !ts.After(wm)
}

// force applies the earliest parked record ahead of the watermark, or
// drops it when it is stamped ahead of the clock (pipeline.max_ahead): then
// every record parked is, and applying it would move event time past the
// clock, closing the minutes under way on everyone else's posts.
func (e *Engine) force(ctx context.Context, now time.Time) error {
	r := e.parked.Next()
	defer e.parked.Done(r)
	ts := eventtime.TS(r)
	if e.pastClock(ts, now) {
		e.m.aheadLost.Inc()
		if e.aheadWarned.IsZero() || now.Sub(e.aheadWarned) >= time.Minute {
			// Once a minute: in a flood it is every record.
			e.aheadWarned = now
			e.log.Warn("records stamped ahead of the clock fill the holding area; dropping the earliest (trendwatch_pipeline_ahead_dropped_total): a producer's clock runs ahead, or posts are stamped in the future",
				"ts", ts, "clock", now, "pipeline.max_ahead", e.cfg.MaxAhead, "parked", e.parked.Len(), "source", r.Source.Topic, "partition", r.Source.Partition)
		}
		return nil
	}
	for e.tooEarly(ts) {
		e.m.forced.Inc()
		e.log.Warn("input partitions too far apart in event time; closing the oldest bucket early",
			"parked", e.parked.Len(), "bucket", e.window.Closed(), "slowest", e.in.Slowest(time.Now()))
		if err := e.advanceTo(ctx, e.window.Closed().Add(e.bucket+e.lateness)); err != nil {
			return err
		}
	}
	e.apply(r)
	return nil
}

// Advance applies the parked records up to wm, earliest first, each moving
// event time to its own, then moves the watermark to wm, closing every bucket
// it passes.
func (e *Engine) Advance(ctx context.Context, wm time.Time) error {
	defer e.setGauges()
	return e.advance(ctx, wm)
}

// advance is Advance without the gauges, for a step of a record's or a
// batch's processing, whose end sets them.
func (e *Engine) advance(ctx context.Context, wm time.Time) error {
	for {
		if next, ok := e.parked.Earliest(); !ok || !due(e.parked.EarliestKind(), next, wm) {
			break
		}
		r := e.parked.Next()
		if err := e.advanceTo(ctx, eventtime.TS(r)); err != nil {
			return err
		}
		e.apply(r)
		e.parked.Done(r)
	}
	return e.advanceTo(ctx, wm)
}

// resume forgives the partitions the silence of a pause in processing. While
// the engine was stalled (a sink that could not take rows) or the whole input
// was quiet, no partition could be seen: counting that time as silence would
// mark every caught-up partition idle at once, and event time would jump to
// whichever partition spoke first.
func (e *Engine) resume(now time.Time) {
	if e.lastEvent.IsZero() {
		return
	}
	gap := now.Sub(e.lastEvent)
	if gap <= e.cfg.PartitionIdle {
		return
	}
	e.in.Forgive(gap, now)
}

// advanceTo moves the watermark to wm and closes every bucket it passes;
// parked records stay parked (Advance applies them).
func (e *Engine) advanceTo(ctx context.Context, wm time.Time) error {
	if !wm.After(e.watermark) {
		return nil
	}
	e.watermark = wm
	// A jump past the fine ring (more than window.fine_buckets of event
	// time: a quiet night, a gap in a replay) would roll the open buckets up
	// unreturned: never judged or written, and their terms never let go. So
	// they are closed first, as a smaller step would have.
	if until, ok := e.window.OpenUntil(); ok && wm.After(until) {
		for _, b := range e.window.Advance(until) {
			if err := e.close(ctx, b); err != nil {
				return err
			}
		}
	}
	for _, b := range e.window.Advance(wm) {
		if err := e.close(ctx, b); err != nil {
			return err
		}
	}
	e.dedup.CloseBefore(e.window.Closed())
	e.door.CloseBefore(e.window.Closed())
	return e.judgeEarly(ctx)
}

// setGauges sets the gauges of what the engine holds. Called at the end of
// each record, batch or advance from outside rather than at each step of
// event time: setting six gauges and summing the door's tables for every
// record was 4 % of the engine's time, and a scrape sees no step between.
func (e *Engine) setGauges() {
	e.m.parked.Set(float64(e.parked.Len()))
	if !e.watermark.IsZero() {
		e.m.watermark.Set(float64(e.watermark.Unix()))
	}
	e.m.doorB.Set(float64(e.door.Bytes()))
	e.m.dedupIDs.Set(float64(e.dedup.Len()))
	e.m.dedupB.Set(float64(e.dedup.Bytes()))
	e.m.joinB.Set(float64(e.join.Bytes()))
}
