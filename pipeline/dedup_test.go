package pipeline

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/sketches"
	"github.com/trendwatch/trendwatch/trend"
)

// produceTwice writes every record a second time, as a retrying producer or a
// range produced twice does: same event_id, a new offset. gap is how many
// originals come between an event and its copy (0: right after it).
func produceTwice(recs []ingest.Record, gap int) []ingest.Record {
	var out []ingest.Record
	next := map[string]int64{}
	add := func(r ingest.Record) {
		r.Source.Offset = next[r.Source.Topic]
		next[r.Source.Topic]++
		out = append(out, r)
	}
	for i := range recs {
		add(recs[i])
		if j := i - gap; j >= 0 {
			add(recs[j])
		}
	}
	for j := max(0, len(recs)-gap); j < len(recs); j++ {
		add(recs[j])
	}
	return out
}

func mentionsByKey(rows ...[]trend.Minute) map[string]uint64 {
	m := map[string]uint64{}
	for _, rs := range rows {
		for _, r := range rs {
			m[r.Term+"@"+r.Bucket.Format(time.RFC3339)] += r.Mentions
		}
	}
	return m
}

func run(t *testing.T, e *Engine, recs []ingest.Record, drain bool) {
	t.Helper()
	ctx := context.Background()
	for _, r := range recs {
		if err := e.Process(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if drain {
		if err := e.Drain(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEngineDropsDuplicateEventIDs(t *testing.T) {
	f := &feed{start: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), minutes: 8, surgeAt: 4}
	recs := f.records()
	once := &memSink{}
	run(t, newTestEngine(t, once), recs, true)
	want := mentionsByKey(once.rows)

	tests := []struct {
		name    string
		gap     int  // originals between an event and its copy
		restart bool // snapshot and restore half-way through the doubled stream
	}{
		{name: "retry at once", gap: 0},
		{name: "retry 200 events later", gap: 200},
		{name: "retry at once, restart between", gap: 0, restart: true},
		{name: "retry 200 events later, restart between", gap: 200, restart: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			twice := produceTwice(recs, tt.gap)
			if len(twice) != 2*len(recs) {
				t.Fatalf("produced %d records, want %d", len(twice), 2*len(recs))
			}
			first, second := &memSink{}, &memSink{}
			e := newTestEngine(t, first)
			got := func() map[string]uint64 { return mentionsByKey(first.rows) }
			var dups float64
			if tt.restart {
				half := len(twice) / 2
				run(t, e, twice[:half], false)
				dups = testutil.ToFloat64(e.m.dups)
				snap, err := e.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				e = newTestEngine(t, second)
				if err := e.Restore(snap); err != nil {
					t.Fatal(err)
				}
				// Kafka redelivers from an older commit: offsets skip those,
				// the filter the copies of the rest.
				run(t, e, twice, true)
				got = func() map[string]uint64 { return mentionsByKey(first.rows, second.rows) }
			} else {
				run(t, e, twice, true)
			}
			dups += testutil.ToFloat64(e.m.dups)
			if dups != float64(len(recs)) {
				t.Errorf("%v duplicates dropped, want %d", dups, len(recs))
			}
			if g := got(); !reflect.DeepEqual(g, want) {
				for k, v := range want {
					if g[k] != v {
						t.Errorf("%s: %d mentions, want %d (counted once)", k, g[k], v)
					}
				}
				t.Fatalf("rows differ from a single copy: %d vs %d keys", len(g), len(want))
			}
			if e.dedup.n != 0 {
				t.Errorf("%d ids still held after every bucket closed", e.dedup.n)
			}
		})
	}
}

// TestEngineReadsCheckpointWithoutDedup restores a snapshot from before the
// filter existed: it is read, and copies of later events are still dropped.
func TestEngineReadsCheckpointWithoutDedup(t *testing.T) {
	f := &feed{start: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), minutes: 3, surgeAt: 99}
	recs := f.records()
	a := newTestEngine(t)
	run(t, a, recs[:len(recs)/2], false)
	a.dedup = newDedupFilter(0, time.Minute) // what an older build saved: nothing
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b := newTestEngine(t, &memSink{})
	if err := b.Restore(snap); err != nil {
		t.Fatalf("restore a checkpoint without dedup state: %v", err)
	}
	rest := produceTwice(recs[len(recs)/2:], 0)
	for i := range rest {
		rest[i].Source.Offset += int64(len(recs)) // past what the snapshot counted
	}
	run(t, b, rest, true)
	if got, want := testutil.ToFloat64(b.m.dups), float64(len(recs)-len(recs)/2); got != want {
		t.Errorf("%v duplicates dropped after restoring an old checkpoint, want %v", got, want)
	}
}

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
			d := newDedupFilter(tt.max, time.Minute)
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
			// Another partition's event with the same id is not a copy.
			if dup, _ := d.seenID(ingest.Partition{Topic: "content-events", Partition: 1}, fmt.Sprint("e", tt.buckets-1, "-1"), last, time.Time{}); dup {
				t.Error("same id on another partition called a duplicate")
			}
			// Closing every bucket forgets every id; a copy then is late.
			d.closeBefore(start.Add(time.Duration(tt.buckets) * time.Minute))
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
// own ids and only them, and the partitions' runs switch sets correctly.
func TestDedupReusesForgottenLists(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	d := newDedupFilter(1000, time.Minute)
	ps := []ingest.Partition{{Topic: "content-events", Partition: 0}, {Topic: "content-events", Partition: 1}}
	id := func(b, p, i int) string { return fmt.Sprint("e", b, "-", p, "-", i) }
	const per = 20
	for b := range 6 {
		closed := time.Time{}
		if b >= 2 {
			// Two buckets open at a time: the one before last closes.
			closed = start.Add(time.Duration(b-1) * time.Minute)
			d.closeBefore(closed)
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
	small := newDedupFilter(100, time.Minute)
	for i := range 40 {
		small.seenID(ps[0], id(0, 0, i), start.Add(time.Duration(i)*time.Second), time.Time{})
	}
	small.closeBefore(start.Add(time.Minute))
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
	d := newDedupFilter(n, time.Minute)
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
	t.Logf("%d distinct ids: %d false drops, %.1f bytes per id held (accounted %d)", n, falseDrops, per, DedupBytesPerID)
	if falseDrops != 0 {
		t.Errorf("%d false drops among %d distinct ids", falseDrops, n)
	}
	if per > 2*DedupBytesPerID {
		t.Errorf("%.1f bytes per id, accounted %d", per, DedupBytesPerID)
	}
	runtime.KeepAlive(d)
}

// seenID is seen of id, hashed as the consumer's decoders hash it.
func (d *dedupFilter) seenID(p ingest.Partition, id string, ts, closed time.Time) (bool, int) {
	return d.seen(p, id, sketches.Hash(id), ts, closed)
}

// BenchmarkDedupSeen is the filter's cost per event on the consuming path:
// 3,000 events a minute from each of four partitions read in runs of 500, as
// a fetch delivers them, each bucket forgotten as it closes behind two
// minutes of lateness.
func BenchmarkDedupSeen(b *testing.B) {
	const perMinute, parts, run = 3000, 4, 500
	d := newDedupFilter(DefaultConfig().DedupMaxIDs, time.Minute)
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
			d.closeBefore(closed)
		}
		if dup, _ := d.seen(ps[(i/run)%parts], "e", uint64(i)*0x9E3779B97F4A7C15+1, ts, closed); dup {
			b.Fatal("a new id taken for a copy")
		}
	}
}
