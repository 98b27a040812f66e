package gen

import (
	"context"
	"fmt"
	"time"
)

// Producer is what Run writes to. msgs and the bytes they hold are valid only
// during the call; a producer that keeps them must copy.
type Producer interface {
	Produce(ctx context.Context, msgs []Message) error
}

// Progress is how far a Run has got.
type Progress struct {
	Content, Reports int64     // messages generated so far
	EventTime        time.Time // emission time of the last message produced
	Done             bool      // the run covered its Duration
}

const (
	runTick          = 20 * time.Millisecond // how often a paced Run wakes
	runBatch         = 4096                  // messages per Produce call at most
	progressInterval = time.Second
)

// Run writes the rest of the run to p, in batches. With Config.Speedup > 0 it
// paces event time against the wall clock, never sending a message before
// Start + Speedup × (wall time since Run began); otherwise it writes as fast as p
// accepts. progress, if not nil, is called about once a second and once more with
// Done set at the end. Run returns ctx's error when ctx ends first.
func (g *Generator) Run(ctx context.Context, p Producer, progress func(Progress)) error {
	began := time.Now()
	lastReport := began
	var ticker *time.Ticker
	if g.cfg.Speedup > 0 {
		ticker = time.NewTicker(runTick)
		defer ticker.Stop()
	}
	batch := make([]Message, 0, runBatch)
	var arena []byte
	var last time.Time
	report := func(done bool) {
		if progress != nil {
			progress(Progress{Content: g.nContent, Reports: g.nReports, EventTime: last, Done: done})
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		due := g.end
		if g.cfg.Speedup > 0 {
			// Compared in float so a huge speedup cannot overflow.
			if ahead := float64(time.Since(began)) * g.cfg.Speedup; ahead < float64(g.end-g.start) {
				due = g.start + int64(ahead)
			}
		}
		batch, arena = batch[:0], arena[:0]
		done := false
		for len(batch) < runBatch {
			at, ok := g.peek()
			if !ok {
				done = true
				break
			}
			if at > due {
				break
			}
			m, _ := g.Next()
			// Slices into an arena that append may move stay valid: the old
			// backing array lives on while they refer to it.
			arena = append(arena, m.Key...)
			m.Key = arena[len(arena)-len(m.Key) : len(arena) : len(arena)]
			arena = append(arena, m.Value...)
			m.Value = arena[len(arena)-len(m.Value) : len(arena) : len(arena)]
			batch = append(batch, m)
		}
		if len(batch) > 0 {
			if err := p.Produce(ctx, batch); err != nil {
				return fmt.Errorf("produce %d messages up to event time %s: %w",
					len(batch), batch[len(batch)-1].TS.Format(time.RFC3339Nano), err)
			}
			last = batch[len(batch)-1].TS
		}
		if done {
			report(true)
			return nil
		}
		if now := time.Now(); now.Sub(lastReport) >= progressInterval {
			lastReport = now
			report(false)
		}
		if ticker == nil || len(batch) == runBatch {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}
