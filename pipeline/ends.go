package pipeline

import (
	"context"
	"time"

	"github.com/trendwatch/trendwatch/ingest"
)

// Ends is an input that can say how far each of its partitions' logs
// reaches (ingest.Consumer, from the brokers' high-water marks). With it a
// silent partition is judged caught up on what its log holds, not on how
// long it has been quiet; see partitionWatermark.
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

// askEnds starts reading the high-water marks of the partitions silent for
// PartitionIdle (those that delivered, or that a checkpoint says where they
// stand), unless a round is in flight or one began less than endsEvery ago.
// Asked only for them: a partition that keeps delivering needs none, and an
// input that is all busy is never asked.
func (e *Engine) askEnds(ctx context.Context, now time.Time) {
	if e.ends == nil || e.endsAsk != nil || now.Sub(e.endsAt) < endsEvery {
		return
	}
	var parts []ingest.Partition
	for p, pr := range e.parts {
		if _, counted := e.offsets[p]; (!pr.unseen || counted) && now.Sub(pr.seen) > e.cfg.PartitionIdle {
			parts = append(parts, ingest.Partition{Topic: p.topic, Partition: p.part})
		}
	}
	if len(parts) == 0 {
		return
	}
	e.endsAt = now
	ch := make(chan endsResult, 1)
	e.endsAsk = ch
	ends, bound := e.ends, e.readMax
	go func() {
		actx, cancel := context.WithTimeout(ctx, endsTimeout)
		defer cancel()
		hwm, err := ends.HighWaterMarks(actx, parts)
		ch <- endsResult{hwm: hwm, at: now, bound: bound, err: err}
	}()
}

// unread reports whether a high-water mark read while the input was silent
// shows records of a partition not read yet: then the input is not silent,
// its reading is (a consumer cut off from a broker, or, for a detect process,
// aggregate processes that died before relaying them and whose partitions
// the others have not taken over yet). Event time does not move on silence
// then: the records would come too late.
func (e *Engine) unread() bool {
	for p, pr := range e.parts {
		if !pr.endKnown {
			continue
		}
		next := int64(0)
		if last, ok := e.offsets[p]; ok {
			next = last + 1
		}
		if pr.end > next {
			return true
		}
	}
	return false
}

// takeEnds applies the round in flight if it has ended.
func (e *Engine) takeEnds() {
	if e.endsAsk == nil {
		return
	}
	select {
	case r := <-e.endsAsk:
		e.endsAsk = nil
		e.setEnds(r)
	default:
	}
}

// setEnds records what a round read. A partition that delivered a record
// after the round was asked for is left as it was: the answer may predate
// that record, and says nothing of what came after it.
func (e *Engine) setEnds(r endsResult) {
	if r.err != nil {
		e.log.Debug("could not read the partitions' high-water marks; silent partitions hold event time where they are", "err", r.err)
		return
	}
	for ip, hwm := range r.hwm {
		pr := e.parts[partition{ip.Topic, ip.Partition}]
		if pr == nil || pr.seen.After(r.at) {
			continue
		}
		pr.end, pr.endKnown, pr.endBound = hwm, true, r.bound
	}
}
