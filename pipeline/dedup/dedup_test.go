package dedup

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/sketches"
)

// defaultMaxIDs is pipeline.dedup_max_ids' default.
const defaultMaxIDs = 1_600_000

func TestDedupFilterBounded(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		max        int
		perBucket  int
		buckets    int
		wantHeld   int
		wantForgot int
	}{
		{name: "fits", max: 100, perBucket: 10, buckets: 3, wantHeld: 30},
		{name: "oldest bucket forgotten", max: 25, perBucket: 10, buckets: 3, wantHeld: 20, wantForgot: 10},
		{name: "off", max: 0, perBucket: 10, buckets: 3, wantHeld: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(tt.max, time.Minute)
			p := ingest.Partition{Topic: "content-events", Partition: 0}
			forgot := 0
			for b := 0; b < tt.buckets; b++ {
				for i := 0; i < tt.perBucket; i++ {
					ts := start.Add(time.Duration(b)*time.Minute + time.Duration(i)*time.Second)
					dup, n := d.seenID(p, fmt.Sprint("e", b, "-", i), ts, time.Time{})
					if dup {
						t.Fatalf("bucket %d id %d: a first copy called a duplicate", b, i)
					}
					forgot += n
					if tt.max > 0 && d.n > tt.max {
						t.Fatalf("%d ids held, bound %d", d.n, tt.max)
					}
				}
			}
			if d.n != tt.wantHeld || forgot != tt.wantForgot {
				t.Errorf("held %d, forgot %d; want %d, %d", d.n, forgot, tt.wantHeld, tt.wantForgot)
			}
			// The newest bucket is always remembered.
			last := start.Add(time.Duration(tt.buckets-1) * time.Minute)
			if dup, _ := d.seenID(p, fmt.Sprint("e", tt.buckets-1, "-0"), last, time.Time{}); dup != (tt.max > 0) {
				t.Errorf("copy of an event in the newest bucket: duplicate %v", dup)
			}
			// The same id read from another partition of the topic is a copy
			// (a round-robin producer's retry); from another topic it is not.
			if dup, _ := d.seenID(ingest.Partition{Topic: "content-events", Partition: 1}, fmt.Sprint("e", tt.buckets-1, "-1"), last, time.Time{}); dup != (tt.max > 0) {
				t.Errorf("same id on another partition of the topic: duplicate %v", dup)
			}
			if dup, _ := d.seenID(ingest.Partition{Topic: "report-events"}, fmt.Sprint("e", tt.buckets-1, "-2"), last, time.Time{}); dup {
				t.Error("same id on another topic called a duplicate")
			}
			// Closing every bucket forgets every id; a copy then is late.
			d.CloseBefore(start.Add(time.Duration(tt.buckets) * time.Minute))
			if d.n != 0 {
				t.Errorf("%d ids held after every bucket closed", d.n)
			}
			if dup, _ := d.seenID(p, "e0-0", start, start.Add(time.Hour)); dup {
				t.Error("an event before the closed bucket called a duplicate; it must go the late path")
			}
		})
	}
}

// TestDedupReusesForgottenLists: the id lists of closed buckets go to the
// buckets that open next, emptied; a bucket that starts on one remembers its
// own ids and only them, and the topics' runs switch sets correctly.
func TestDedupReusesForgottenLists(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	d := New(1000, time.Minute)
	ps := []ingest.Partition{{Topic: "content-events"}, {Topic: "report-events"}}
	id := func(b, p, i int) string { return fmt.Sprint("e", b, "-", p, "-", i) }
	const per = 20
	for b := range 6 {
		closed := time.Time{}
		if b >= 2 {
			// Two buckets open at a time: the one before last closes.
			closed = start.Add(time.Duration(b-1) * time.Minute)
			d.CloseBefore(closed)
			if len(d.free) != len(ps) {
				t.Fatalf("bucket %d: %d lists kept for reuse after a close, want one a partition (%d)", b, len(d.free), len(ps))
			}
		}
		for i := range per {
			for p, part := range ps {
				ts := start.Add(time.Duration(b)*time.Minute + time.Duration(i)*time.Second)
				if dup, _ := d.seenID(part, id(b, p, i), ts, closed); dup {
					t.Fatalf("bucket %d partition %d id %d: a first copy called a duplicate", b, p, i)
				}
			}
		}
		if want := min(b+1, 2) * per * len(ps); d.n != want {
			t.Fatalf("after bucket %d: %d ids held, want %d", b, d.n, want)
		}
		for p, part := range ps {
			ts := start.Add(time.Duration(b) * time.Minute)
			if dup, _ := d.seenID(part, id(b, p, per-1), ts, closed); !dup {
				t.Errorf("bucket %d partition %d: a copy of its last id not called a duplicate", b, p)
			}
			if held := len(d.parts[part].byBucket[int64(floorDiv(ts.UnixNano(), int64(time.Minute)))]); held != per {
				t.Errorf("bucket %d partition %d lists %d ids, want %d", b, p, held, per)
			}
		}
	}
	// The lists kept hold room for a quarter of the bound at most: a
	// bucket's list of 40 ids is let go under a bound of 100.
	small := New(100, time.Minute)
	for i := range 40 {
		small.seenID(ps[0], id(0, 0, i), start.Add(time.Duration(i)*time.Second), time.Time{})
	}
	small.CloseBefore(start.Add(time.Minute))
	if len(small.free) != 0 || small.freeIDs != 0 {
		t.Errorf("bound 100: %d lists of room for %d ids kept, want none", len(small.free), small.freeIDs)
	}
}

// TestDedupMemory measures the bytes one remembered id costs and counts false
// drops (distinct ids taken for copies) with every id held at once, the worst
// case. TRENDWATCH_DEDUP_IDS sets how many (default 1M; the README's numbers
// come from 10M).
func TestDedupMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates ~30 MB per million ids")
	}
	n := 1 << 20
	if s := os.Getenv("TRENDWATCH_DEDUP_IDS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatalf("TRENDWATCH_DEDUP_IDS=%q: %v", s, err)
		}
	}
	ts := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	p := ingest.Partition{Topic: "content-events", Partition: 0}
	d := New(n, time.Minute)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	falseDrops := 0
	buf := make([]byte, 0, 32)
	for i := 0; i < n; i++ {
		buf = strconv.AppendInt(append(buf[:0], "evt-"...), int64(i), 36)
		if dup, _ := d.seenID(p, string(buf), ts, time.Time{}); dup {
			falseDrops++
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
	t.Logf("%d distinct ids: %d false drops, %.1f bytes per id held (accounted %d)", n, falseDrops, per, BytesPerID)
	if falseDrops != 0 {
		t.Errorf("%d false drops among %d distinct ids", falseDrops, n)
	}
	if per > 2*BytesPerID {
		t.Errorf("%.1f bytes per id, accounted %d", per, BytesPerID)
	}
	runtime.KeepAlive(d)
}

// seenID is Seen of id, hashed as the consumer's decoders hash it.
func (d *Filter) seenID(p ingest.Partition, id string, ts, closed time.Time) (bool, int) {
	return d.Seen(p, id, sketches.Hash(id), ts, closed)
}

// BenchmarkDedupSeen is the filter's cost per event on the consuming path:
// 3,000 events a minute from each of four partitions read in runs of 500, as
// a fetch delivers them, each bucket forgotten as it closes behind two
// minutes of lateness.
func BenchmarkDedupSeen(b *testing.B) {
	const perMinute, parts, run = 3000, 4, 500
	d := New(defaultMaxIDs, time.Minute)
	ps := make([]ingest.Partition, parts)
	for i := range ps {
		ps[i] = ingest.Partition{Topic: "content-events", Partition: i}
	}
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	step := time.Minute / (perMinute * parts)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ts := start.Add(time.Duration(i) * step)
		closed := ts.Add(-2 * time.Minute).Truncate(time.Minute)
		if i%run == 0 {
			d.CloseBefore(closed)
		}
		if dup, _ := d.Seen(ps[(i/run)%parts], "e", uint64(i)*0x9E3779B97F4A7C15+1, ts, closed); dup {
			b.Fatal("a new id taken for a copy")
		}
	}
}

// TestFilterRestore: what Partitions, Buckets and IDs list, restored as a
// checkpoint's Snaps (a partition in two pieces, as a chunked snapshot
// writes it), is a filter that holds the same ids, calls the same copies
// duplicates and forgets them at the same closes.
func TestFilterRestore(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	a := New(1000, time.Minute)
	ps := []ingest.Partition{{Topic: "report-events"}, {Topic: "content-events-b"}, {Topic: "content-events-a"}}
	for b := range 3 {
		for i := range 5 {
			for j, p := range ps[:2+b%2] {
				a.seenID(p, fmt.Sprint("e", b, "-", j, "-", i), start.Add(time.Duration(b)*time.Minute+time.Duration(i)*time.Second), time.Time{})
			}
		}
	}
	parts := a.Partitions()
	if want := []ingest.Partition{ps[2], ps[1], ps[0]}; !slices.Equal(parts, want) {
		t.Fatalf("partitions %v, want %v, by topic and partition", parts, want)
	}
	var snaps []Snap
	for _, p := range parts {
		idx := a.Buckets(nil, p)
		if !slices.IsSorted(idx) {
			t.Errorf("%v: buckets %v not in order", p, idx)
		}
		for k, i := range idx {
			// Each bucket its own piece: the partition comes in several.
			snaps = append(snaps, Snap{Topic: p.Topic, Partition: p.Partition, Buckets: []Bucket{{Index: i, IDs: slices.Clone(a.IDs(p, i))}}})
			if k == 0 && len(a.IDs(p, i)) != 5 {
				t.Errorf("%v bucket %d: %d ids, want 5", p, i, len(a.IDs(p, i)))
			}
		}
	}
	b := New(1000, time.Minute)
	b.Restore(snaps)
	if b.Len() != a.Len() || b.Bytes() != a.Bytes() || !slices.Equal(b.Partitions(), parts) {
		t.Fatalf("restored: %d ids over %v, want %d over %v", b.Len(), b.Partitions(), a.Len(), parts)
	}
	for _, f := range []*Filter{a, b} {
		if dup, _ := f.seenID(ps[1], "e2-1-4", start.Add(2*time.Minute), time.Time{}); !dup {
			t.Error("a copy of a remembered id not called a duplicate")
		}
		f.CloseBefore(start.Add(2 * time.Minute))
	}
	if b.Len() != a.Len() || a.Len() != 10 {
		t.Errorf("after closing two buckets: %d ids restored, %d original, want 10", b.Len(), a.Len())
	}
	// A checkpoint from before the sets were per topic has one a
	// partition: restored, they are the topic's one set.
	old := New(1000, time.Minute)
	i0 := floorDiv(start.UnixNano(), int64(time.Minute))
	old.Restore([]Snap{
		{Topic: "content-events", Partition: 1, Buckets: []Bucket{{Index: i0, IDs: []uint64{11, 12}}}},
		{Topic: "content-events", Partition: 3, Buckets: []Bucket{{Index: i0, IDs: []uint64{13}}}},
	})
	if got, want := old.Partitions(), []ingest.Partition{{Topic: "content-events"}}; !slices.Equal(got, want) || old.Len() != 3 {
		t.Errorf("per-partition checkpoint restored as %v holding %d ids, want %v holding 3", got, old.Len(), want)
	}
	for _, h := range []uint64{11, 13} {
		if dup, _ := old.Seen(ingest.Partition{Topic: "content-events", Partition: 2}, "e", h, start, time.Time{}); !dup {
			t.Errorf("id %d of a per-partition checkpoint not a copy on another partition", h)
		}
	}
}
