package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/trendwatch/trendwatch/ingest"
)

// Committer commits consumed offsets (the Kafka consumer group).
type Committer interface {
	Commit(ctx context.Context, offsets []ingest.Offset) error
}

// Checkpointer stores engine snapshots.
type Checkpointer interface {
	Save(state []byte) (int, error)
}

// Commit makes everything processed so far durable, then lets Kafka forget it:
// sinks flushed, the snapshot saved, offsets committed, in that order. A failure
// at any step leaves the committed offsets where they were, so a crash replays
// rather than loses; the offsets recorded in the snapshot make that replay skip
// what the snapshot already counts.
func (e *Engine) Commit(ctx context.Context, c Committer, ck Checkpointer) error {
	began := time.Now()
	for _, s := range e.sinks {
		if err := s.Flush(ctx); err != nil {
			e.m.commitErr.Inc()
			return fmt.Errorf("flush sink: %w", err)
		}
	}
	if ck != nil {
		state, err := e.Snapshot()
		if err != nil {
			e.m.commitErr.Inc()
			return err
		}
		n, err := ck.Save(state)
		if err != nil {
			e.m.commitErr.Inc()
			return err
		}
		e.log.Debug("checkpoint saved", "bytes", n, "state_bytes", len(state), "took", time.Since(began))
	}
	if c != nil {
		if err := c.Commit(ctx, e.Offsets()); err != nil {
			e.m.commitErr.Inc()
			return err
		}
	}
	e.m.commitDur.Observe(time.Since(began).Seconds())
	return nil
}

// commitAsync flushes the sinks and takes the snapshot on the engine's
// goroutine, as consistency requires, then leaves compressing, writing and the
// offset commit to a background goroutine so counting goes on meanwhile. A round
// still in flight makes this one a no-op: the next tick will catch up.
func (e *Engine) commitAsync(ctx context.Context, c Committer, ck Checkpointer) error {
	if e.saving != nil {
		select {
		case err := <-e.saving:
			e.saving = nil
			if err != nil {
				e.m.commitErr.Inc()
				e.log.Warn("checkpoint or offset commit failed; offsets not committed", "err", err)
			}
		default:
			return nil
		}
	}
	began := time.Now()
	for _, s := range e.sinks {
		if err := s.Flush(ctx); err != nil {
			e.m.commitErr.Inc()
			return fmt.Errorf("flush sink: %w", err)
		}
	}
	var state []byte
	if ck != nil {
		var err error
		if state, err = e.Snapshot(); err != nil {
			e.m.commitErr.Inc()
			return err
		}
	}
	offsets := e.Offsets()
	done := make(chan error, 1)
	e.saving = done
	go func() {
		if ck != nil {
			if _, err := ck.Save(state); err != nil {
				done <- err
				return
			}
		}
		if c != nil {
			if err := c.Commit(ctx, offsets); err != nil {
				done <- err
				return
			}
		}
		e.m.commitDur.Observe(time.Since(began).Seconds())
		done <- nil
	}()
	return nil
}

// waitSaving waits for a background commit round to end.
func (e *Engine) waitSaving() error {
	if e.saving == nil {
		return nil
	}
	err := <-e.saving
	e.saving = nil
	return err
}

// Run processes records from in until ctx ends or in is closed, committing every
// CommitInterval and once more on the way out. A closed input (a finite file,
// the end of a demo) also closes every open bucket first.
func (e *Engine) Run(ctx context.Context, in <-chan ingest.Record, c Committer, ck Checkpointer) error {
	commit := time.NewTicker(e.cfg.CommitInterval)
	defer commit.Stop()
	idle := time.NewTicker(time.Second)
	defer idle.Stop()
	// A (re)started engine has seen no record yet, which is not the same as
	// none for ages: idle advance waits its full interval from here.
	e.lastEvent = time.Now()
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
			if err := e.Process(ctx, rec); err != nil {
				if ctx.Err() != nil {
					return final(false)
				}
				return err
			}
		case <-commit.C:
			if err := e.commitAsync(ctx, c, ck); err != nil {
				if ctx.Err() != nil {
					return final(false)
				}
				// Offsets stay where they were; the next round tries again.
				e.log.Warn("commit round failed; offsets not committed", "err", err)
			}
		case <-idle.C:
			if err := e.endHold(ctx, time.Now(), false); err != nil {
				return err
			}
			if e.held {
				// A partition that fell silent stops holding event time back
				// even when no record comes to notice it.
				if err := e.maybeAdvance(ctx, time.Now()); err != nil {
					return err
				}
			}
			// Records waiting in in have arrived: the input is not idle, the
			// engine is behind (it may just have been stalled by a sink).
			if e.cfg.IdleAdvance > 0 && !e.watermark.IsZero() && len(in) == 0 && time.Since(e.lastEvent) >= e.cfg.IdleAdvance {
				if err := e.Advance(ctx, e.watermark.Add(time.Second)); err != nil {
					return err
				}
			}
		}
	}
}
