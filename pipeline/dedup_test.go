package pipeline

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline/dedup"
	"github.com/trendwatch/trendwatch/trend"
)

// produceTwice writes every record a second time, as a retrying producer or a
// range produced twice does: same event_id, a new offset. gap is how many
// originals come between an event and its copy (0: right after it).
func produceTwice(recs []ingest.Record, gap int) []ingest.Record {
	return produceTwiceTo(recs, gap, 0)
}

// produceTwiceTo is produceTwice with each copy in partition copyPart of its
// topic, the originals in partition 0: a round-robin producer's retry.
func produceTwiceTo(recs []ingest.Record, gap, copyPart int) []ingest.Record {
	var out []ingest.Record
	next := map[ingest.Partition]int64{}
	add := func(r ingest.Record, part int) {
		r.Source.Partition = part
		p := ingest.Partition{Topic: r.Source.Topic, Partition: part}
		r.Source.Offset = next[p]
		next[p]++
		out = append(out, r)
	}
	for i := range recs {
		add(recs[i], 0)
		if j := i - gap; j >= 0 {
			add(recs[j], copyPart)
		}
	}
	for j := max(0, len(recs)-gap); j < len(recs); j++ {
		add(recs[j], copyPart)
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
		part    int  // the copies' partition (the originals': 0)
	}{
		{name: "retry at once", gap: 0},
		{name: "retry 200 events later", gap: 200},
		{name: "retry at once, restart between", gap: 0, restart: true},
		{name: "retry 200 events later, restart between", gap: 200, restart: true},
		// A round-robin producer's retry lands on another partition: it
		// counted twice while the ids were kept per partition.
		{name: "retry in another partition", gap: 0, part: 1},
		{name: "retry in another partition 200 events later, restart between", gap: 200, restart: true, part: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			twice := produceTwiceTo(recs, tt.gap, tt.part)
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
			if e.dedup.Len() != 0 {
				t.Errorf("%d ids still held after every bucket closed", e.dedup.Len())
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
	a.dedup = dedup.New(0, time.Minute) // what an older build saved: nothing
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
