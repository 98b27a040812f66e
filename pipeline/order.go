package pipeline

import (
	"context"
	"time"

	"github.com/trendwatch/trendwatch/ingest"
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

// parkedHeap holds records ahead of the watermark, earliest event time first.
// Ties go by source, so the order never depends on arrival. Each entry keeps
// its record's event time beside the pointer: a replay parks hundreds of
// thousands of records at start-up, and a comparison that followed both
// pointers cost two cache misses at every level of the heap.
type parkedHeap []parked

type parked struct {
	sec  int64 // event time: Unix seconds
	nsec int32 // and nanoseconds
	rec  *ingest.Record
}

func parkedOf(r *ingest.Record) parked {
	ts := recordTS(r)
	return parked{sec: ts.Unix(), nsec: int32(ts.Nanosecond()), rec: r}
}

// before orders two entries: event time, then source.
func before(x, y *parked) bool {
	if x.sec != y.sec {
		return x.sec < y.sec
	}
	if x.nsec != y.nsec {
		return x.nsec < y.nsec
	}
	a, b := x.rec, y.rec
	if a.Source.Topic != b.Source.Topic {
		return a.Source.Topic < b.Source.Topic
	}
	if a.Source.Partition != b.Source.Partition {
		return a.Source.Partition < b.Source.Partition
	}
	return a.Source.Offset < b.Source.Offset
}

// The heap's own sift-up and sift-down rather than container/heap's: its
// Less and Swap through an interface were a tenth of the engine's time when
// most records park, as they do when partitions interleave.

// push adds r.
func (h *parkedHeap) push(r *ingest.Record) {
	*h = append(*h, parkedOf(r))
	q := *h
	i := len(q) - 1
	x := q[i]
	for i > 0 {
		up := (i - 1) / 2
		if !before(&x, &q[up]) {
			break
		}
		q[i] = q[up]
		i = up
	}
	q[i] = x
}

// pop removes and returns the earliest record.
func (h *parkedHeap) pop() *ingest.Record {
	q := *h
	n := len(q) - 1
	r := q[0].rec
	x := q[n]
	q[n] = parked{}
	q = q[:n]
	*h = q
	if n > 0 {
		q.down(0, x)
	}
	return r
}

// down places x, taken out of the heap, at slot i or below it.
func (h parkedHeap) down(i int, x parked) {
	n := len(h)
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && before(&h[r], &h[c]) {
			c = r
		}
		if !before(&h[c], &x) {
			break
		}
		h[i] = h[c]
		i = c
	}
	h[i] = x
}

// init orders a heap built in any order.
func (h parkedHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i, h[i])
	}
}

// maxSpare bounds the parked records kept for reuse.
const maxSpare = 4096

// park holds rec until the watermark reaches its event time.
func (e *Engine) park(rec *ingest.Record) {
	var r *ingest.Record
	if n := len(e.spare); n > 0 {
		r, e.spare = e.spare[n-1], e.spare[:n-1]
	} else {
		r = new(ingest.Record)
	}
	*r = *rec
	e.parked.push(r)
}

// unpark takes the earliest parked record; done gives it back for reuse.
func (e *Engine) unpark() *ingest.Record {
	return e.parked.pop()
}

func (e *Engine) done(r *ingest.Record) {
	if len(e.spare) < maxSpare {
		*r = ingest.Record{}
		e.spare = append(e.spare, r)
	}
}

// order applies rec now if every active partition has reached its event time
// and nothing earlier is waiting, and parks it otherwise. A full holding area
// means the slowest partition is too far behind to wait for: the earliest
// records are applied anyway, closing buckets early if they do not fit the
// window, and that partition's later records for those buckets count as late.
func (e *Engine) order(ctx context.Context, rec *ingest.Record, ts, now time.Time) error {
	wm := e.partitionWatermark(now)
	if len(e.parked) == 0 && !ts.After(wm) {
		if err := e.advanceTo(ctx, ts); err != nil {
			return err
		}
		e.apply(rec)
		return e.advanceTo(ctx, wm)
	}
	e.park(rec)
	for len(e.parked) > e.cfg.MaxParked {
		if err := e.force(ctx); err != nil {
			return err
		}
	}
	return e.advance(ctx, wm)
}

// force applies the earliest parked record ahead of the watermark.
func (e *Engine) force(ctx context.Context) error {
	r := e.unpark()
	defer e.done(r)
	ts := recordTS(r)
	for e.tooEarly(ts) {
		e.m.forced.Inc()
		e.log.Warn("input partitions too far apart in event time; closing the oldest bucket early",
			"parked", len(e.parked), "bucket", e.window.Closed(), "slowest", e.slowest())
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
	for len(e.parked) > 0 && !recordTS(e.parked[0].rec).After(wm) {
		r := e.unpark()
		if err := e.advanceTo(ctx, recordTS(r)); err != nil {
			return err
		}
		e.apply(r)
		e.done(r)
	}
	return e.advanceTo(ctx, wm)
}

// latestParked is the event time of the last parked record, zero when none.
func (e *Engine) latestParked() time.Time {
	var last time.Time
	for _, p := range e.parked {
		if ts := recordTS(p.rec); ts.After(last) {
			last = ts
		}
	}
	return last
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
	for _, pr := range e.parts {
		if pr.seen = pr.seen.Add(gap); pr.seen.After(now) {
			pr.seen = now
		}
	}
}

// advanceTo moves the watermark to wm and closes every bucket it passes;
// parked records stay parked (Advance applies them).
func (e *Engine) advanceTo(ctx context.Context, wm time.Time) error {
	if !wm.After(e.watermark) {
		return nil
	}
	e.watermark = wm
	for _, b := range e.window.Advance(wm) {
		if err := e.close(ctx, b); err != nil {
			return err
		}
	}
	e.dedup.closeBefore(e.window.Closed())
	e.door.closeBefore(e.window.Closed())
	return e.judgeEarly(ctx)
}

// setGauges sets the gauges of what the engine holds. Called at the end of
// each record, batch or advance from outside rather than at each step of
// event time: setting six gauges and summing the door's tables for every
// record was 4 % of the engine's time, and a scrape sees no step between.
func (e *Engine) setGauges() {
	e.m.parked.Set(float64(len(e.parked)))
	if !e.watermark.IsZero() {
		e.m.watermark.Set(float64(e.watermark.Unix()))
	}
	e.m.doorB.Set(float64(e.door.bytes()))
	e.m.dedupIDs.Set(float64(e.dedup.n))
	e.m.dedupB.Set(float64(e.dedup.bytes()))
	e.m.joinB.Set(float64(e.join.bytes()))
}
