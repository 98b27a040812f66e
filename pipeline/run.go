package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/trendwatch/trendwatch/checkpoint"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline/eventtime"
)

// Committer commits consumed offsets (the Kafka consumer group).
type Committer interface {
	Commit(ctx context.Context, offsets []ingest.Offset) error
}

// Owner is a Committer that can say whether this process still owns its
// input alone (ingest.Consumer: the consumer group's only member). A process
// that does not saves no checkpoint: in a shared checkpoint directory it
// would overwrite the owner's state.
type Owner interface {
	Owns(ctx context.Context) error
}

// Fence is a Checkpointer that can tell whether another process has claimed
// the state since this one did (checkpoint.Store): a standby that took over
// while this process was paused past its consumer group's session timeout.
type Fence interface {
	Superseded() error
}

// superseded asks ck, when it can tell, whether another process owns the
// state now. Asked before the consumer group is: once awake, the paused
// process rejoins the group beside the new owner, and two members is what
// either of them sees then.
func superseded(ck Checkpointer) error {
	if f, ok := ck.(Fence); ok {
		return f.Superseded()
	}
	return nil
}

// Flusher is a Committer with writes of its own that the offsets it commits
// cover (ingest.Consumer: the dead letters of refused messages).
type Flusher interface {
	Flush(ctx context.Context) error
}

// flushInput flushes c's own writes, when it has any, before a checkpoint is
// made current: the checkpoint covers the refused records too, and a restart
// from it skips them, so their dead letters are never written again.
func flushInput(ctx context.Context, c Committer) error {
	if f, ok := c.(Flusher); ok {
		if err := f.Flush(ctx); err != nil {
			return fmt.Errorf("flush the input's dead letters: %w", err)
		}
	}
	return nil
}

// owns asks c, when it can tell, whether this process owns its input.
func owns(ctx context.Context, c Committer) error {
	if o, ok := c.(Owner); ok {
		return o.Owns(ctx)
	}
	return nil
}

// Checkpointer stores engine snapshots (checkpoint.Store). Stage streams
// one into the next checkpoint without making it current, so the snapshot
// is never held in memory whole; Commit makes the staged one durable and
// current and returns its size. The engine stages on its own goroutine, as
// consistency requires, and commits on another.
type Checkpointer interface {
	Stage(write func(w io.Writer) error) error
	Commit() (int, error)
}

// Commit makes everything processed so far durable, then lets Kafka forget it:
// sinks flushed, the snapshot saved, offsets committed, in that order. A failure
// at any step leaves the committed offsets where they were, so a crash replays
// rather than loses; the offsets recorded in the snapshot make that replay skip
// what the snapshot already counts.
func (e *Engine) Commit(ctx context.Context, c Committer, ck Checkpointer) error {
	began := time.Now()
	err := e.commit(ctx, c, ck, began)
	e.roundDone(roundResult{err: err, at: time.Now()})
	return err
}

func (e *Engine) commit(ctx context.Context, c Committer, ck Checkpointer, began time.Time) error {
	for _, s := range e.sinks {
		if err := s.Flush(ctx); err != nil {
			return fmt.Errorf("flush sink: %w", err)
		}
	}
	if err := e.commitRefused(); err != nil {
		return err
	}
	if ck != nil {
		if err := ck.Stage(e.WriteSnapshot); err != nil {
			return err
		}
		if err := superseded(ck); err != nil {
			return err
		}
		if err := owns(ctx, c); err != nil {
			return err
		}
		if err := flushInput(ctx, c); err != nil {
			return err
		}
		n, err := ck.Commit()
		if err != nil {
			return err
		}
		e.log.Debug("checkpoint saved", "bytes", n, "took", time.Since(began))
	}
	if c != nil {
		if err := c.Commit(ctx, e.CommitOffsets()); err != nil {
			return err
		}
	}
	e.m.commitDur.Observe(time.Since(began).Seconds())
	return nil
}

// commitRefused is why no checkpoint may be saved and no offset committed
// any more: a closed bucket's output that never reached the sinks (see
// Engine.unwritten). The sinks are flushed all the same: what did reach
// them is right, and a replay writes it again with a later version.
func (e *Engine) commitRefused() error {
	if e.unwritten == nil {
		return nil
	}
	return fmt.Errorf("checkpoint and offsets not saved: a closed bucket's output was not written (%w); a restart replays from the last checkpoint", e.unwritten)
}

// drainer is a Notifier that can deliver its outbox while the process
// stops (incident.Notifier).
type drainer interface {
	Drain(ctx context.Context) error
}

// stopper is a notifier that can stop delivering (incident.Notifier.Close),
// keeping what it has not delivered for its Pending.
type stopper interface {
	Close() error
}

// notifierDrain bounds how long the last commit waits for the outbox: what is
// not delivered by then goes into the checkpoint, for the next run to send.
const notifierDrain = 10 * time.Second

// drainNotifier delivers what the notifier holds before the last checkpoint
// takes its outbox. Drained after it, every page delivered on the way out
// was still in the checkpoint and went out a second time from the restarted
// process: a PagerDuty trigger after its resolve opens a new incident.
func (e *Engine) drainNotifier(ctx context.Context) {
	d, ok := e.notifier.(drainer)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, notifierDrain)
	defer cancel()
	if err := d.Drain(ctx); err != nil {
		e.log.Warn("incident outbox not delivered at shutdown; the checkpoint keeps what is left for the next run", "err", err)
	}
	// Delivery stops before the checkpoint takes the outbox: a page the
	// notifier went on to deliver after it was in the checkpoint too, and
	// the next run sent it again (a retry's backoff ending, or a slow
	// request answering, between the drain's deadline and the process's
	// exit).
	if st, ok := e.notifier.(stopper); ok {
		if err := st.Close(); err != nil {
			e.log.Warn("stopping the incident notifier", "err", err)
		}
	}
}

// roundResult is how a commit round ended.
type roundResult struct {
	err error
	at  time.Time
}

// roundDone records the end of a commit round for Status and the metrics.
func (e *Engine) roundDone(r roundResult) {
	if r.err != nil {
		e.m.commitErr.Inc()
		e.commitErr = r.err
	} else {
		e.lastCommit, e.commitErr = r.at, nil
	}
	e.publish(r.at)
}

// collect takes the result of the background round if it has ended and
// reports whether none is in flight any more.
func (e *Engine) collect() bool {
	if e.saving == nil {
		return true
	}
	select {
	case r := <-e.saving:
		e.saving = nil
		e.roundDone(r)
		if r.err != nil {
			e.log.Warn("checkpoint or offset commit failed; offsets not committed", "err", r.err)
		}
		if errors.Is(r.err, checkpoint.ErrSuperseded) {
			e.superseded = r.err
		}
		return true
	default:
		return false
	}
}

// commitAsync flushes the sinks and writes the snapshot on the engine's
// goroutine, as consistency requires (streamed through the compressor into
// the staged checkpoint file, never held in memory whole), then leaves making
// it durable and the offset commit to a background goroutine so counting
// goes on meanwhile. A round still in flight makes this one a no-op: the next
// tick will catch up.
func (e *Engine) commitAsync(ctx context.Context, c Committer, ck Checkpointer) error {
	if !e.collect() {
		return nil
	}
	if e.superseded != nil {
		return e.superseded
	}
	began := time.Now()
	fail := func(err error) error {
		e.roundDone(roundResult{err: err, at: time.Now()})
		return err
	}
	for _, s := range e.sinks {
		if err := s.Flush(ctx); err != nil {
			return fail(fmt.Errorf("flush sink: %w", err))
		}
	}
	if err := e.commitRefused(); err != nil {
		return fail(err)
	}
	if ck != nil {
		if err := ck.Stage(e.WriteSnapshot); err != nil {
			return fail(err)
		}
	}
	offsets := e.CommitOffsets()
	done := make(chan roundResult, 1)
	e.saving = done
	go func() {
		if ck != nil {
			if err := superseded(ck); err != nil {
				done <- roundResult{err: err, at: time.Now()}
				return
			}
			if err := owns(ctx, c); err != nil {
				done <- roundResult{err: err, at: time.Now()}
				return
			}
			if err := flushInput(ctx, c); err != nil {
				done <- roundResult{err: err, at: time.Now()}
				return
			}
			if _, err := ck.Commit(); err != nil {
				done <- roundResult{err: err, at: time.Now()}
				return
			}
		}
		if c != nil {
			if err := c.Commit(ctx, offsets); err != nil {
				done <- roundResult{err: err, at: time.Now()}
				return
			}
		}
		e.m.commitDur.Observe(time.Since(began).Seconds())
		done <- roundResult{at: time.Now()}
	}()
	return nil
}

// waitSaving waits for a background commit round to end.
func (e *Engine) waitSaving() error {
	if e.saving == nil {
		return nil
	}
	r := <-e.saving
	e.saving = nil
	e.roundDone(r)
	return r.err
}

// Run processes records from in until ctx ends or in is closed, committing every
// CommitInterval and once more on the way out. A closed input (a finite file,
// the end of a demo) also closes every open bucket first.
func (e *Engine) Run(ctx context.Context, in <-chan ingest.Record, c Committer, ck Checkpointer) error {
	return runLoop(ctx, e, in, c, ck, e.Process)
}

// RunBatches is Run for an input that comes in batches (ingest's
// RunBatches): one channel receive per batch instead of per record, and the
// commit and housekeeping ticks between batches. The engine does not keep
// the slices.
func (e *Engine) RunBatches(ctx context.Context, in <-chan []ingest.Record, c Committer, ck Checkpointer) error {
	return runLoop(ctx, e, in, c, ck, e.ProcessBatch)
}

// ProcessBatch processes recs in order, as Process does each.
func (e *Engine) ProcessBatch(ctx context.Context, recs []ingest.Record) error {
	// One wall clock for the batch: its records were fetched together, and
	// reading the clock for each showed in the engine's profile.
	now := time.Now()
	defer e.setGauges()
	for i := range recs {
		if err := e.processAt(ctx, &recs[i], now); err != nil {
			return err
		}
	}
	return nil
}

// runLoop is the loop of Run and RunBatches; process applies one item of in.
func runLoop[T any](ctx context.Context, e *Engine, in <-chan T, c Committer, ck Checkpointer, process func(context.Context, T) error) error {
	commit := time.NewTicker(e.cfg.CommitInterval)
	defer commit.Stop()
	idle := time.NewTicker(time.Second)
	defer idle.Stop()
	// A (re)started engine has seen no record yet, which is not the same as
	// none for ages: idle advance waits its full interval from here.
	e.lastEvent = time.Now()
	e.runStart = e.lastEvent
	if ends, ok := c.(eventtime.Ends); ok {
		// The consumer can say how far each partition reaches: silent
		// partitions are judged on that (see eventtime.Inputs.Watermark).
		e.in.SetEnds(ends)
	}
	if f, ok := ck.(Fence); ok {
		e.fence = f
	}
	if e.lastCommit.IsZero() {
		e.lastCommit = e.runStart
	}
	e.publish(e.runStart)
	final := func(drain bool) error {
		// The caller's context is done; the last commit gets its own deadline so a
		// clean shutdown still saves what it can.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		switch err := e.waitSaving(); {
		case err == nil:
		case errors.Is(err, context.Canceled) && ctx.Err() != nil:
			// Cut short by the shutdown itself: nothing went wrong, and the
			// commit below does its work.
			e.log.Debug("background commit cancelled by shutdown; committing again", "err", err)
		default:
			e.log.Warn("last background commit failed; committing again", "err", err)
		}
		var err error
		if drain {
			err = e.Drain(fctx)
		}
		e.drainNotifier(fctx)
		return errors.Join(err, e.Commit(fctx, c, ck))
	}
	for {
		select {
		case <-ctx.Done():
			return final(false)
		case rec, ok := <-in:
			if !ok {
				return final(true)
			}
			if err := process(ctx, rec); err != nil {
				if ctx.Err() != nil {
					return final(false)
				}
				return err
			}
		case <-commit.C:
			if err := e.commitAsync(ctx, c, ck); errors.Is(err, checkpoint.ErrSuperseded) {
				// Another process owns the state now: writing on would only
				// add rows that lose against its own (RowVersion).
				return fmt.Errorf("stopping: %w", err)
			} else if err != nil {
				if ctx.Err() != nil {
					return final(false)
				}
				// Offsets stay where they were; the next round tries again.
				e.log.Warn("commit round failed; offsets not committed", "err", err)
			}
		case <-idle.C:
			if err := e.tick(ctx, time.Now(), len(in)); err != nil {
				return err
			}
		}
	}
}

// tick is the engine's once-a-second housekeeping. pending is how many records
// wait in the input: records waiting have arrived, so the input is not idle,
// the engine is behind (it may just have been stalled by a sink).
func (e *Engine) tick(ctx context.Context, now time.Time, pending int) error {
	if e.collect(); e.superseded != nil {
		return fmt.Errorf("stopping: %w", e.superseded)
	}
	e.in.Take()
	e.in.Ask(ctx, now)
	if err := e.endHold(ctx, now, false); err != nil {
		return err
	}
	if e.held {
		// A partition that fell silent stops holding event time back
		// even when no record comes to notice it.
		if err := e.maybeAdvance(ctx, now); err != nil {
			return err
		}
	}
	silent := pending == 0 && !e.in.Unread()
	if e.cfg.IdleAdvance > 0 && !e.watermark.IsZero() && silent && now.Sub(e.lastEvent) >= e.cfg.IdleAdvance && !e.pastClock(e.watermark.Add(time.Second), now) {
		if err := e.Advance(ctx, e.watermark.Add(time.Second)); err != nil {
			return err
		}
	}
	if e.cfg.IdleClose > 0 && silent && now.Sub(e.lastEvent) >= e.cfg.IdleClose {
		if err := e.closeIdle(ctx, now); err != nil {
			return err
		}
	}
	if e.cfg.MaxLagGrowth > 0 {
		e.lag.sample(now, e.in.Lag())
	}
	e.publish(now)
	return nil
}

// pastClock reports whether event time t is ahead of the clock at now by
// more than pipeline.max_ahead.
func (e *Engine) pastClock(t, now time.Time) bool {
	bound, ok := e.in.Ahead(now)
	return ok && t.After(bound)
}

// closeIdle closes every open bucket that holds events, after the whole input
// has been silent for IdleClose, as Drain does at the end of a finite input.
func (e *Engine) closeIdle(ctx context.Context, now time.Time) error {
	end := e.count.MaxApplied()
	if last := e.parked.Latest(); last.After(end) && !e.pastClock(last, now) {
		// A record parked ahead of the clock waits for it (pipeline.max_ahead).
		end = last
	}
	before := e.window.Closed()
	if end.IsZero() || end.Before(before) {
		return nil // nothing open holds an event
	}
	if before.IsZero() {
		before = end.Truncate(e.bucket)
	}
	if err := e.endHold(ctx, now, true); err != nil {
		return err
	}
	if err := e.Advance(ctx, end.Truncate(e.bucket).Add(e.bucket+e.lateness)); err != nil {
		return err
	}
	after := e.window.Closed()
	e.log.Info("input silent; closed the open buckets, later events for them count as late",
		"silent", now.Sub(e.lastEvent).Round(time.Second), "pipeline.idle_close", e.cfg.IdleClose,
		"buckets", int(after.Sub(before)/e.bucket), "first", before, "last", after.Add(-e.bucket))
	return nil
}

// Status is how the engine stands at now.
func (e *Engine) Status(now time.Time) Status {
	s := Status{
		At:         now,
		Ready:      e.held || (e.holdUntil.IsZero() && now.Sub(e.runStart) >= e.cfg.PartitionIdle),
		LastCommit: e.lastCommit,
		CommitErr:  e.commitErr,
		Lag:        e.in.Lag(),
	}
	s.LagGrowing, s.LagRose, s.LagFrom = e.lag.growing()
	return s
}

func (e *Engine) publish(now time.Time) {
	var s *Status
	for _, o := range e.obs {
		if so, ok := o.(StatusObserver); ok {
			if s == nil {
				st := e.Status(now)
				s = &st
			}
			so.Status(*s)
		}
	}
}
