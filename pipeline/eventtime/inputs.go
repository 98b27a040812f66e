// Package eventtime keeps what the engine knows of its input partitions in
// event time: the last offset counted of each, how far each has got and
// whether it is caught up, the watermark every active partition has reached,
// and the records read ahead of that watermark, held until it reaches them.
//
// It says when; the engine says what. The engine applies a held record when
// the watermark reaches it and closes the buckets the watermark passes; this
// package only says which record comes next and how far event time may move.
package eventtime

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/trendwatch/trendwatch/ingest"
)

// Ends is an input that can say how far each of its partitions' logs
// reaches (ingest.Consumer, from the brokers' high-water marks). With it a
// silent partition is judged caught up on what its log holds, not on how
// long it has been quiet; see Inputs.Watermark.
type Ends interface {
	HighWaterMarks(ctx context.Context, parts []ingest.Partition) (map[ingest.Partition]int64, error)
}

// endsEvery is the least time between two asks for high-water marks. While
// a partition is silent the watermark trails the other partitions by about
// this (and a round trip) of wall-clock time: live, milliseconds of event
// time against minutes of allowed lateness.
const endsEvery = 100 * time.Millisecond

// endsTimeout bounds one ask; a broker that does not answer leaves the
// silent partitions holding the watermark where they are.
const endsTimeout = 5 * time.Second

// endsResult is one round's answer: the high-water marks, the wall clock
// when they were asked for, and the latest event time read then.
type endsResult struct {
	hwm   map[ingest.Partition]int64
	at    time.Time
	bound time.Time
	err   error
}

type progress struct {
	max      time.Time // largest event time read from the partition
	seen     time.Time // wall clock of its last record
	caughtUp bool      // its last record was the newest in the partition when fetched
	unseen   bool      // expected (assigned) but no record yet; seen is when it was expected
	lag      int64
	// end is the partition's high-water mark as the brokers last gave it
	// (endKnown), and endBound the largest event time read from any
	// partition when it was asked for; see Watermark.
	end      int64
	endKnown bool
	endBound time.Time
	// active is set when the last watermark computed counted the partition
	// at its own max, not silent (see wmCache).
	active bool
}

// wmCache is the last watermark computed and how long it holds. The
// watermark is asked for at every record, and computing it walks every
// partition: 0.2 µs a record at 4 partitions, 0.9 at 32 and 3.4 at 128
// (BenchmarkWatermark, before the cache). What it was computed from changes
// in few ways between records: a partition counted at its own max reads a
// record and its max only grows, which moves the least of them only when it
// was that least (slowest); a partition turns silent only once the idle
// time has passed since its last record (until). Anything else (a silent or
// new partition reads a record, partitions are expected, forgiven or told
// their high-water marks, offsets restored, or counted where a silent
// partition's high-water mark was compared with them) computes it afresh.
type wmCache struct {
	ok      bool
	wm      time.Time
	at      time.Time // the now it was computed at
	until   time.Time // it holds while now is not after until
	slowest *progress // the partition whose event time it is; nil for none
	offsets bool      // whether it compared a silent partition's high-water mark with its offset
}

// Inputs is the engine's input partitions. Its methods are not safe for
// concurrent use; the asks for high-water marks run on goroutines of their
// own, and Take brings their answers in.
type Inputs struct {
	// idle is pipeline.partition_idle: how long a partition may go without
	// a record before it is asked whether it is caught up.
	idle time.Duration
	log  *slog.Logger
	// offsets is the last offset counted of each partition: read, or said
	// by a checkpoint.
	offsets map[ingest.Partition]int64
	parts   map[ingest.Partition]*progress
	// readMax is the latest event time read from any partition, applied or
	// held.
	readMax time.Time
	// ends reads the partitions' high-water marks; nil when the input
	// cannot tell. ask is the round in flight, askedAt when the last round
	// was asked for.
	ends    Ends
	ask     chan endsResult
	askedAt time.Time
	// endsRead is set when the last round read the high-water marks, unset
	// when it failed (see Unread).
	endsRead bool
	wmc      wmCache
	// expected is set once Expect was given partitions.
	expected bool
	// ahead is how far past the clock a record's event time moves its
	// partition on (0: without bound); see SetAhead.
	ahead time.Duration
}

// NewInputs returns Inputs with no partition yet; idle is
// pipeline.partition_idle.
func NewInputs(idle time.Duration, log *slog.Logger) *Inputs {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Inputs{idle: idle, log: log, offsets: make(map[ingest.Partition]int64), parts: make(map[ingest.Partition]*progress)}
}

// SetAhead bounds how far ahead of the clock event time may run:
// a record stamped later than now+d moves its partition on only to
// now+d. Live, nothing has happened after now, and event time was the
// largest stamp read: one post stamped half an hour ahead on each partition
// (a producer's clock, or a forged stamp within kafka.limits.max_future)
// moved the watermark half an hour on, closed the current minutes, and every
// post after it counted as late. d = 0 (the default) leaves event time
// unbounded, as a replay or a speeded-up stream needs.
func (in *Inputs) SetAhead(d time.Duration) { in.ahead, in.wmc.ok = d, false }

// Ahead is the bound SetAhead set: a record stamped after the clock plus
// Ahead is ahead of the clock. ok is false when there is none.
func (in *Inputs) Ahead(now time.Time) (bound time.Time, ok bool) {
	if in.ahead <= 0 {
		return time.Time{}, false
	}
	return now.Add(in.ahead), true
}

// SetEnds gives Inputs an input that can say how far its partitions reach:
// silent partitions are judged on that from then on.
func (in *Inputs) SetEnds(e Ends) { in.ends, in.wmc.ok = e, false }

// Expect adds partitions assigned at now that have not delivered yet: until
// each has delivered or stayed silent for the idle time, event time does not
// move past what it may still deliver.
func (in *Inputs) Expect(parts []ingest.Partition, now time.Time) {
	if len(parts) > 0 {
		in.expected = true
	}
	for _, p := range parts {
		if in.parts[p] == nil {
			in.parts[p] = &progress{seen: now, unseen: true}
			in.wmc.ok = false
		}
	}
}

// Count notes offset as the last counted of p and reports true, or reports
// false when offset is at or below one already counted: a replay, after a
// restart from a checkpoint or a relay that forwarded it twice.
func (in *Inputs) Count(p ingest.Partition, offset int64) bool {
	if last, ok := in.offsets[p]; ok && offset <= last {
		return false
	}
	in.offsets[p] = offset
	if in.wmc.offsets {
		in.wmc.ok = false
	}
	return true
}

// Read notes a record read from p at now, of event time ts, with lag
// records of p behind it when fetched (-1: unknown, 0: it was the newest).
func (in *Inputs) Read(p ingest.Partition, ts time.Time, lag int64, now time.Time) {
	pr := in.parts[p]
	if pr == nil {
		pr = &progress{}
		in.parts[p] = pr
	}
	if !pr.active || pr == in.wmc.slowest {
		in.wmc.ok = false
	}
	pr.seen, pr.unseen = now, false
	pr.caughtUp, pr.lag = lag <= 0, lag
	pr.endKnown = false // a high-water mark read before this record says nothing after it
	if bound, ok := in.Ahead(now); ok && ts.After(bound) {
		ts = bound
	}
	if ts.After(pr.max) {
		pr.max = ts
	}
	if ts.After(in.readMax) {
		in.readMax = ts
	}
}

// Partitions is how many partitions Inputs knows.
func (in *Inputs) Partitions() int { return len(in.parts) }

// counted reports whether the offset of p is known: read, or said by a
// checkpoint.
func (in *Inputs) counted(p ingest.Partition) bool {
	_, ok := in.offsets[p]
	return ok
}

// Watermark is the least event time reached by the partitions that are not
// idle at now. A partition with nothing to read does not hold the others
// back, but one that is merely slow to deliver (a large backlog, a reconnect
// after a broker restart) does, so its events are neither applied out of
// order (a report before the content it names, found by no join) nor
// dropped as late when they arrive.
//
// Silence alone cannot tell the two apart. Where the input can say how far
// each partition's log reaches (Ends: Kafka's high-water marks, asked once a
// second), a partition silent for the idle time is caught up only once a
// high-water mark read after its last record shows nothing beyond that
// record, and even then it holds the watermark at endBound, the latest event
// time read from any partition when that high-water mark was asked for:
// what it may still receive was produced after everything read by then.
// Without Ends (a file, a test) a partition is idle once silent for the idle
// time after a record that was the newest in it when fetched (caughtUp):
// judged from that record's lag, it takes a partition whose consumer
// reconnects late for one with nothing to say.
func (in *Inputs) Watermark(now time.Time) time.Time {
	if c := &in.wmc; c.ok && !now.Before(c.at) && !now.After(c.until) {
		return c.wm
	}
	return in.watermark(now)
}

// watermark computes Watermark and keeps it in the cache.
func (in *Inputs) watermark(now time.Time) time.Time {
	c := &in.wmc
	*c = wmCache{at: now, until: now.Add(in.idle)}
	var wm, newest time.Time
	found := false
	for p, pr := range in.parts {
		pr.active = false
		if pr.max.After(newest) {
			newest = pr.max
		}
		at := pr.max
		silent := now.Sub(pr.seen) > in.idle
		if !silent {
			if d := pr.seen.Add(in.idle); d.Before(c.until) {
				c.until = d
			}
		} else if in.ends != nil {
			c.offsets = true
		}
		// Maps are looked up only for a silent partition: this runs for
		// every record, and a partition key's topic is a string to hash.
		switch {
		case pr.unseen && silent && in.ends != nil && in.counted(p):
			// Restarted from a checkpoint: silent and behind is a consumer
			// slow to start on it, and holds event time as any does.
			if !pr.endKnown || pr.end > in.offsets[p]+1 {
				return time.Time{}
			}
			at = pr.endBound
		case pr.unseen && silent:
			continue
		case pr.unseen:
			// An assigned partition that has not delivered yet may hold the
			// oldest events of all: nothing closes until it speaks or idles.
			return time.Time{}
		case silent && in.ends == nil && pr.caughtUp:
			continue
		case silent && in.ends != nil && pr.endKnown && pr.end <= in.offsets[p]+1:
			if pr.endBound.After(at) {
				at = pr.endBound
			}
		case !silent:
			pr.active = true
		}
		if !found || at.Before(wm) {
			wm, found, c.slowest = at, true, pr
		}
	}
	if !found {
		wm, c.slowest = newest, nil
	}
	c.ok, c.wm = true, wm
	return wm
}

// Slowest describes the partition holding the watermark back at now, for
// logs.
func (in *Inputs) Slowest(now time.Time) string {
	var sp ingest.Partition
	var spr *progress
	for p, pr := range in.parts {
		if spr == nil || pr.max.Before(spr.max) {
			sp, spr = p, pr
		}
	}
	if spr == nil {
		return ""
	}
	return fmt.Sprintf("%s/%d at %s (lag %d, silent %s)", sp.Topic, sp.Partition, spr.max.Format(time.RFC3339), spr.lag, now.Sub(spr.seen).Round(time.Second))
}

// Lag sums the lag the last record of each partition reported, -1 when none
// did.
func (in *Inputs) Lag() int64 {
	total, known := int64(0), false
	for _, pr := range in.parts {
		if !pr.unseen && pr.lag >= 0 {
			total, known = total+pr.lag, true
		}
	}
	if !known {
		return -1
	}
	return total
}

// Forgive moves each partition's last record gap later, no later than now:
// while the engine was stalled (a sink that could not take rows) or the
// whole input was quiet, no partition could be seen, and counting that time
// as silence would mark every caught-up partition idle at once, and event
// time would jump to whichever partition spoke first.
func (in *Inputs) Forgive(gap time.Duration, now time.Time) {
	for _, pr := range in.parts {
		if pr.seen = pr.seen.Add(gap); pr.seen.After(now) {
			pr.seen = now
		}
	}
	in.wmc.ok = false
}

// Ask starts reading the high-water marks of the partitions silent for the
// idle time at now (those that delivered, or that a checkpoint says where
// they stand), unless the input cannot tell, a round is in flight or one
// began less than endsEvery ago. Asked only for them: a partition that
// keeps delivering needs none, and an input that is all busy is never
// asked.
func (in *Inputs) Ask(ctx context.Context, now time.Time) {
	if in.ends == nil || in.ask != nil || now.Sub(in.askedAt) < endsEvery {
		return
	}
	var parts []ingest.Partition
	for p, pr := range in.parts {
		if _, counted := in.offsets[p]; (!pr.unseen || counted) && now.Sub(pr.seen) > in.idle {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return
	}
	in.askedAt = now
	ch := make(chan endsResult, 1)
	in.ask = ch
	ends, bound := in.ends, in.readMax
	go func() {
		actx, cancel := context.WithTimeout(ctx, endsTimeout)
		defer cancel()
		hwm, err := ends.HighWaterMarks(actx, parts)
		ch <- endsResult{hwm: hwm, at: now, bound: bound, err: err}
	}()
}

// Take applies the round in flight if it has ended.
func (in *Inputs) Take() {
	if in.ask == nil {
		return
	}
	select {
	case r := <-in.ask:
		in.ask = nil
		in.set(r)
	default:
	}
}

// Await waits for the round in flight, if any, and applies it: what a
// broker that answers at once would have given by the next Take.
func (in *Inputs) Await() {
	if in.ask == nil {
		return
	}
	r := <-in.ask
	in.ask = nil
	in.set(r)
}

// set records what a round read. A partition that delivered a record after
// the round was asked for is left as it was: the answer may predate that
// record, and says nothing of what came after it.
func (in *Inputs) set(r endsResult) {
	in.endsRead = r.err == nil
	if r.err != nil {
		in.log.Debug("could not read the partitions' high-water marks; silent partitions hold event time where they are", "err", r.err)
		return
	}
	for p, hwm := range r.hwm {
		pr := in.parts[p]
		if pr == nil || pr.seen.After(r.at) {
			continue
		}
		pr.end, pr.endKnown, pr.endBound = hwm, true, r.bound
		in.wmc.ok = false
	}
}

// Unread reports whether a high-water mark read while the input was silent
// shows records of a partition not read yet: then the input is not silent,
// its reading is (a consumer cut off from a broker, or, for a detect
// process, aggregate processes that died before relaying them and whose
// partitions the others have not taken over yet). Event time does not move
// on silence then: the records would come too late. An input that can read
// its high-water marks but whose last reading failed (the brokers away, a
// backlog being replayed) may hold records unread too, and says so; until
// its first reading has come, it says so as well.
func (in *Inputs) Unread() bool {
	if in.ends != nil && !in.endsRead {
		return true
	}
	for p, pr := range in.parts {
		if !pr.endKnown {
			continue
		}
		next := int64(0)
		if last, ok := in.offsets[p]; ok {
			next = last + 1
		}
		if pr.end > next {
			return true
		}
	}
	return false
}

// Offsets returns the last offset counted of each partition, by topic and
// partition.
func (in *Inputs) Offsets() []ingest.Offset { return Sorted(in.offsets) }

// Restore replaces the offsets counted with offsets, a checkpoint's, at
// now. Each partition they name is held for as Expect holds one assigned
// but silent yet: the consumer may start on some partitions seconds before
// the others, and without the process's list of partitions (Expect: the
// brokers could not list them at start-up) the slow one would be unknown
// and its records late.
func (in *Inputs) Restore(offsets []ingest.Offset, now time.Time) {
	in.wmc.ok = false
	in.offsets = make(map[ingest.Partition]int64, len(offsets))
	for _, o := range offsets {
		p := ingest.Partition{Topic: o.Topic, Partition: o.Partition}
		in.offsets[p] = o.Offset
		if in.parts[p] == nil {
			in.parts[p] = &progress{seen: now, unseen: true}
		}
	}
}

// Sorted lists offsets by topic and partition.
func Sorted(offsets map[ingest.Partition]int64) []ingest.Offset {
	out := make([]ingest.Offset, 0, len(offsets))
	for p, o := range offsets {
		out = append(out, ingest.Offset{Topic: p.Topic, Partition: p.Partition, Offset: o})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

// Delivered reports whether partitions were expected (Expect) and every one
// has delivered a record: from then on the watermark is the slowest
// partition's event time, with no partition left that may still start
// behind it.
func (in *Inputs) Delivered() bool {
	if !in.expected {
		return false
	}
	for _, pr := range in.parts {
		if pr.unseen {
			return false
		}
	}
	return true
}
