package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/pipeline/detect"
	"github.com/trendwatch/trendwatch/sketches"
	"github.com/trendwatch/trendwatch/trend"
)

// The bucket close: judging it (pipeline/detect), writing what that found,
// and telling the observers.

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

// close turns one closed bucket into rows, detector runs and alert
// transitions, and writes them.
func (e *Engine) close(ctx context.Context, b *sketches.Bucket) error {
	began := time.Now()
	e.lastClosed = b.Start
	v := e.judge.Close(b, RowVersion(e.epoch, time.Now()))
	defer e.judge.Release(v)
	in := e.intake(b)
	var intake *trend.Intake
	if e.cfg.Shard == 0 {
		// Every shard reads the whole stream: the first writes its intake, or
		// a query summing ingest_stats would count each event once per shard.
		intake = &in
	}
	if err := e.write(ctx, v.Rows, v.Events, intake); err != nil {
		return err
	}
	if c, ok := e.notifier.(Confirmer); ok && len(v.Confirmed) > 0 {
		c.Confirm(v.Confirmed)
	}
	e.reportBucket(b, v, in, began)
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

// reportBucket tells the observers, the log and the metrics what closing bucket b
// found (v) and took in (in); began is when the close began.
func (e *Engine) reportBucket(b *sketches.Bucket, v detect.Verdict, in trend.Intake, began time.Time) {
	evs := v.Events
	report := &BucketReport{
		Start: b.Start, Events: b.Events, Reports: b.ReportEvents, Mentions: uint64(v.Norm.Mentions),
		Tracked: len(e.tracked), Observed: v.Observed, Late: in.Late, Invalid: in.Invalid,
		WindowMiB: float64(e.window.Bytes()) / (1 << 20), Surging: v.Surging,
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

// write hands a closed bucket's rows, alert transitions and intake (nil:
// none to write) to every sink, then its transitions to the notifier.
func (e *Engine) write(ctx context.Context, rows []trend.Minute, evs []alert.Event, intake *trend.Intake) error {
	err := e.writeAll(ctx, rows, evs, intake)
	if err != nil && e.unwritten == nil {
		e.unwritten = err
	}
	return err
}

func (e *Engine) writeAll(ctx context.Context, rows []trend.Minute, evs []alert.Event, intake *trend.Intake) error {
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
