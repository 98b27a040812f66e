package eventtime

import (
	"time"

	"github.com/trendwatch/trendwatch/ingest"
)

// TS is rec's event time.
func TS(rec *ingest.Record) time.Time {
	if rec.Kind == ingest.KindContent {
		return rec.Content.TS
	}
	return rec.Report.TS
}

// Held is the records read ahead of the watermark, earliest event time
// first, until the watermark reaches them. Ties go by source, so the order
// never depends on arrival. The zero Held is empty and ready to use.
//
// A consumer reuses its batches, so Hold copies the record; the copies are
// kept for reuse once Done with, as a replay holds hundreds of thousands of
// records at start-up and a live run holds and releases one per record when
// partitions interleave.
type Held struct {
	h     heap
	spare []*ingest.Record
}

// maxSpare bounds the copies kept for reuse.
const maxSpare = 4096

// Len is how many records are held.
func (h *Held) Len() int { return len(h.h) }

// Hold keeps a copy of rec until Next returns it.
func (h *Held) Hold(rec *ingest.Record) {
	var r *ingest.Record
	if n := len(h.spare); n > 0 {
		r, h.spare = h.spare[n-1], h.spare[:n-1]
	} else {
		r = new(ingest.Record)
	}
	*r = *rec
	// The engine never reads a post's text (only the relay carries it), and
	// a held record may wait minutes: up to 64 KiB each of them, up to
	// pipeline.max_parked of them, and into the checkpoint.
	r.Content.Text = ""
	h.h.push(r)
}

// Next removes and returns the earliest record held; Done gives it back
// once applied. It panics when none is held.
func (h *Held) Next() *ingest.Record { return h.h.pop() }

// Done takes back r, returned by Next, for reuse.
func (h *Held) Done(r *ingest.Record) {
	if len(h.spare) < maxSpare {
		*r = ingest.Record{}
		h.spare = append(h.spare, r)
	}
}

// Earliest is the event time of the record Next would return, and whether
// any is held.
func (h *Held) Earliest() (time.Time, bool) {
	if len(h.h) == 0 {
		return time.Time{}, false
	}
	return TS(h.h[0].rec), true
}

// EarliestKind is the kind of the record Next would return; 0 when none.
func (h *Held) EarliestKind() ingest.Kind {
	if len(h.h) == 0 {
		return 0
	}
	return h.h[0].rec.Kind
}

// Latest is the event time of the last record held, zero when none.
func (h *Held) Latest() time.Time {
	var last time.Time
	for _, p := range h.h {
		if ts := TS(p.rec); ts.After(last) {
			last = ts
		}
	}
	return last
}

// Each calls f with every record held, in the heap's own order, until f
// fails: a Held restored from them in that order (Restore) holds them in the
// same layout, so a checkpoint of it encodes to the same bytes again.
func (h *Held) Each(f func(*ingest.Record) error) error {
	for _, p := range h.h {
		if err := f(p.rec); err != nil {
			return err
		}
	}
	return nil
}

// Restore replaces what is held with recs, which it keeps (not copies).
func (h *Held) Restore(recs []ingest.Record) {
	h.h = make(heap, len(recs))
	for i := range recs {
		h.h[i] = entryOf(&recs[i])
	}
	h.h.init()
}

// heap is a binary heap of held records, earliest first. Each entry keeps
// its record's event time beside the pointer: a replay holds hundreds of
// thousands of records at start-up, and a comparison that followed both
// pointers cost two cache misses at every level of the heap. Its own
// sift-up and sift-down rather than container/heap's: Less and Swap through
// an interface were a tenth of the engine's time when most records are
// held, as they are when partitions interleave.
type heap []entry

type entry struct {
	sec  int64 // event time: Unix seconds
	nsec int32 // and nanoseconds
	rec  *ingest.Record
}

func entryOf(r *ingest.Record) entry {
	ts := TS(r)
	return entry{sec: ts.Unix(), nsec: int32(ts.Nanosecond()), rec: r}
}

// before orders two entries: event time, then content before reports (a
// report and the post it reports may share a timestamp, and the report
// needs the post counted first), then source.
func before(x, y *entry) bool {
	if x.sec != y.sec {
		return x.sec < y.sec
	}
	if x.nsec != y.nsec {
		return x.nsec < y.nsec
	}
	a, b := x.rec, y.rec
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Source.Topic != b.Source.Topic {
		return a.Source.Topic < b.Source.Topic
	}
	if a.Source.Partition != b.Source.Partition {
		return a.Source.Partition < b.Source.Partition
	}
	return a.Source.Offset < b.Source.Offset
}

func (q *heap) push(r *ingest.Record) {
	*q = append(*q, entryOf(r))
	h := *q
	i := len(h) - 1
	x := h[i]
	for i > 0 {
		up := (i - 1) / 2
		if !before(&x, &h[up]) {
			break
		}
		h[i] = h[up]
		i = up
	}
	h[i] = x
}

func (q *heap) pop() *ingest.Record {
	h := *q
	n := len(h) - 1
	r := h[0].rec
	x := h[n]
	h[n] = entry{}
	h = h[:n]
	*q = h
	if n > 0 {
		h.down(0, x)
	}
	return r
}

// down places x, taken out of the heap, at slot i or below it.
func (h heap) down(i int, x entry) {
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
func (h heap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i, h[i])
	}
}
