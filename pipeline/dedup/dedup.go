// Package dedup is the event_id filter: the ids of the events read from each
// input topic in buckets still open, so that a copy of one counts once.
package dedup

import (
	"cmp"
	"slices"
	"time"

	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/internal/hashtable"
)

// A producer that retries a send it believes failed writes the same event
// again under a new offset, and a backfill may replay a topic range twice.
// Offsets cannot tell those copies apart; the event_id can. The filter keeps
// the ids of each input topic whose events fall in buckets still open:
// a copy of an event in a closed bucket is late anyway and goes the late
// path, so nothing older needs remembering, and the set stays as small as
// the lateness window. A set per topic, not per partition: a keyed
// producer's retry lands on the partition of the original, but a
// round-robin producer's does not, nor does a range produced again after
// partitions were added, and a copy in another partition counted twice and
// passed the tracking door as the second sighting of each of a flood's
// one-off tags. (Copies read by another process of the group are its to
// count.)
//
// Ids are kept as their 64-bit xxhash. Two distinct ids of one partition
// collide with probability about n/2^64 per event with n ids held, some
// 5e-14 at a million: a false drop is far rarer than any other loss.

// BytesPerID is what one remembered id costs at most: the set's slots
// (hashtable.Set: 11–23 bytes an id between its doublings) and the bucket list's
// entry (8, up to 16 as the list grows). Measured by TestDedupMemory (one
// partition): 24 bytes at 1M ids, 31 at 3M, 23 at 10M (44, 34 and 40 with
// the Go map before the set). Exported for the process's memory budget.
const BytesPerID = 40

// Filter remembers the event ids seen in open buckets, per partition. Its
// methods are not safe for concurrent use.
type Filter struct {
	max      int   // ids held at most, all partitions together; 0 disables
	bucketNs int64 // bucket width
	parts    map[ingest.Partition]*seenIDs
	n        int
	// oldest is the smallest bucket index held (meaningful while n > 0), so
	// that the close at every watermark step, which finds nothing to forget
	// almost always, costs a comparison instead of a walk over every
	// partition's buckets (that walk was a tenth of the consuming path's CPU).
	oldest int64
	// last is the partition the previous id came from and its set: records
	// come in runs of one partition, and a map keyed by a topic name costs
	// a string hash per event, over a third of the filter's time
	// (BenchmarkDedupSeen).
	lastP ingest.Partition
	last  *seenIDs
	// free holds the id lists of forgotten buckets for the buckets that
	// open next, so that a bucket's list does not grow from nothing by
	// doubling, a fifth of the filter's time. freeIDs is their room in ids,
	// at most a quarter of max: 2 bytes an id at the bound, within the
	// slack of DedupBytesPerID.
	free    [][]uint64
	freeIDs int
}

type seenIDs struct {
	ids hashtable.Set
	// byBucket lists the ids first seen in each bucket, by bucket index, so
	// that closing a bucket forgets its ids without scanning the set.
	byBucket map[int64][]uint64
}

// New returns a filter that holds at most max ids (0 disables it) of
// buckets bucket wide.
func New(max int, bucket time.Duration) *Filter {
	return &Filter{max: max, bucketNs: int64(bucket), parts: make(map[ingest.Partition]*seenIDs)}
}

// Seen records id (hash h) as read from p with event time ts and reports whether it
// was already there. closed is the start of the oldest open bucket (zero
// before any closed): an event before it is late, is not remembered, and is
// never called a duplicate here. forgot is how many ids had to be dropped
// before their bucket closed to stay within max.
func (d *Filter) Seen(p ingest.Partition, id string, h uint64, ts, closed time.Time) (dup bool, forgot int) {
	if d.max <= 0 || id == "" {
		return false, 0
	}
	if !closed.IsZero() && ts.Before(closed) {
		return false, 0
	}
	p.Partition = 0 // a set per topic (see above)
	s := d.last
	if s == nil || d.lastP != p {
		if s = d.parts[p]; s == nil {
			s = &seenIDs{byBucket: make(map[int64][]uint64)}
			d.parts[p] = s
		}
		d.lastP, d.last = p, s
	}
	if !s.ids.Add(h) {
		return true, 0
	}
	idx := floorDiv(ts.UnixNano(), d.bucketNs)
	hs, ok := s.byBucket[idx]
	if !ok {
		if n := len(d.free); n > 0 {
			hs, d.free[n-1] = d.free[n-1], nil
			d.free = d.free[:n-1]
			d.freeIDs -= cap(hs)
		}
	}
	s.byBucket[idx] = append(hs, h)
	if d.n == 0 || idx < d.oldest {
		d.oldest = idx
	}
	d.n++
	for d.n > d.max {
		forgot += d.evictOldest()
	}
	return false, forgot
}

// CloseBefore forgets the ids of buckets before closed: their copies are late now.
func (d *Filter) CloseBefore(closed time.Time) {
	if d.n == 0 || closed.IsZero() {
		return
	}
	limit := floorDiv(closed.UnixNano(), d.bucketNs)
	if limit <= d.oldest {
		return
	}
	for _, s := range d.parts {
		for idx, hs := range s.byBucket {
			if idx < limit {
				d.drop(s, idx, hs)
			}
		}
	}
	d.findOldest()
}

// findOldest sets oldest after buckets were forgotten.
func (d *Filter) findOldest() {
	found := false
	for _, s := range d.parts {
		for idx := range s.byBucket {
			if !found || idx < d.oldest {
				d.oldest, found = idx, true
			}
		}
	}
}

// evictOldest forgets the oldest bucket held, in every partition, and returns
// how many ids that was.
func (d *Filter) evictOldest() int {
	oldest, found := int64(0), false
	for _, s := range d.parts {
		for idx := range s.byBucket {
			if !found || idx < oldest {
				oldest, found = idx, true
			}
		}
	}
	if !found {
		return 0
	}
	n := 0
	for _, s := range d.parts {
		if hs, ok := s.byBucket[oldest]; ok {
			n += len(hs)
			d.drop(s, oldest, hs)
		}
	}
	d.findOldest()
	return n
}

func (d *Filter) drop(s *seenIDs, idx int64, hs []uint64) {
	for _, h := range hs {
		s.ids.Remove(h)
	}
	delete(s.byBucket, idx)
	d.n -= len(hs)
	if len(d.free) < maxFreeIDLists && d.freeIDs+cap(hs) <= d.max/4 {
		d.free = append(d.free, hs[:0])
		d.freeIDs += cap(hs)
	}
}

// maxFreeIDLists bounds the forgotten buckets' id lists kept for reuse: a
// bucket's worth for each of this many partitions.
const maxFreeIDLists = 64

// Len is how many ids the filter holds.
func (d *Filter) Len() int { return d.n }

// Bytes is the memory the filter accounts for.
func (d *Filter) Bytes() int { return d.n * BytesPerID }

// Snap is one partition's remembered ids in a checkpoint. A partition may
// come in several pieces (a snapshot written in chunks).
type Snap struct {
	Topic     string
	Partition int
	Buckets   []Bucket
}

// Bucket is the ids first seen in one bucket.
type Bucket struct {
	Index int64 // bucket start / bucket width
	IDs   []uint64
}

// Partitions lists the partitions holding ids, by topic and partition.
func (d *Filter) Partitions() []ingest.Partition {
	parts := make([]ingest.Partition, 0, len(d.parts))
	for p, s := range d.parts {
		if len(s.byBucket) > 0 {
			parts = append(parts, p)
		}
	}
	slices.SortFunc(parts, func(a, b ingest.Partition) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return parts
}

// Buckets lists the bucket indexes (start / width) holding ids of p, in
// order, appended to dst; IDs gives each bucket's.
func (d *Filter) Buckets(dst []int64, p ingest.Partition) []int64 {
	s := d.parts[p]
	if s == nil {
		return dst
	}
	from := len(dst)
	for i := range s.byBucket {
		dst = append(dst, i)
	}
	slices.Sort(dst[from:])
	return dst
}

// IDs is the ids first seen from p in the bucket of index idx, in the order
// they came. The caller must not keep or change it.
func (d *Filter) IDs(p ingest.Partition, idx int64) []uint64 {
	if s := d.parts[p]; s != nil {
		return s.byBucket[idx]
	}
	return nil
}

// Restore replaces what the filter holds with snaps, a checkpoint's.
func (d *Filter) Restore(snaps []Snap) {
	d.parts = make(map[ingest.Partition]*seenIDs, len(snaps))
	d.last = nil
	d.n = 0
	for _, ds := range snaps {
		// A topic may come in several pieces (a chunked snapshot), and a
		// checkpoint from before the sets were per topic has one a
		// partition: they are one set now.
		p := ingest.Partition{Topic: ds.Topic}
		s := d.parts[p]
		if s == nil {
			s = &seenIDs{byBucket: make(map[int64][]uint64, len(ds.Buckets))}
		}
		for _, b := range ds.Buckets {
			for _, h := range b.IDs {
				s.ids.Add(h)
			}
			s.byBucket[b.Index] = append(s.byBucket[b.Index], b.IDs...)
			d.n += len(b.IDs)
		}
		d.parts[p] = s
	}
	d.findOldest()
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
