package eventtime

import (
	"cmp"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/ingest"
)

// TestHeld: records come out in event-time order, ties by source, however
// they went in: held one by one, or restored whole as from a checkpoint,
// and restored again from what Each gave of a restored Held.
func TestHeld(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for _, n := range []int{0, 1, 2, 3, 10, 1000} {
		recs := make([]ingest.Record, n)
		for i := range recs {
			// Few distinct times and sources, so ties are common; reports
			// among them, whose event time is the report's.
			ts := start.Add(time.Duration(rng.IntN(20)) * 500 * time.Millisecond)
			src := ingest.Source{Topic: []string{"a", "b"}[rng.IntN(2)], Partition: rng.IntN(3), Offset: int64(i)}
			if rng.IntN(4) == 0 {
				recs[i] = ingest.Record{Kind: ingest.KindReport, Source: src, Report: event.Report{TS: ts}}
			} else {
				recs[i] = ingest.Record{Kind: ingest.KindContent, Source: src, Content: event.Content{TS: ts}}
			}
		}
		want := slices.Clone(recs)
		slices.SortFunc(want, func(a, b ingest.Record) int {
			return cmp.Or(TS(&a).Compare(TS(&b)), cmp.Compare(a.Source.Topic, b.Source.Topic),
				cmp.Compare(a.Source.Partition, b.Source.Partition), cmp.Compare(a.Source.Offset, b.Source.Offset))
		})
		var held, restored, again Held
		for i := range recs {
			held.Hold(&recs[i])
		}
		restored.Restore(slices.Clone(recs))
		var layout []ingest.Record
		if err := restored.Each(func(r *ingest.Record) error { layout = append(layout, *r); return nil }); err != nil {
			t.Fatal(err)
		}
		again.Restore(slices.Clone(layout))
		for name, h := range map[string]*Held{"held": &held, "restored": &restored, "restored again": &again} {
			if n > 0 {
				if got := h.Latest(); !got.Equal(TS(&want[n-1])) {
					t.Errorf("%d records, %s: latest %s, want %s", n, name, got, TS(&want[n-1]))
				}
			}
			for i, w := range want {
				next, ok := h.Earliest()
				if !ok || !next.Equal(TS(&w)) {
					t.Fatalf("%d records, %s: earliest before %d is %s (%v), want %s", n, name, i, next, ok, TS(&w))
				}
				got := h.Next()
				if got.Source != w.Source || !TS(got).Equal(TS(&w)) {
					t.Fatalf("%d records, %s: record %d is %+v, want %+v", n, name, i, got.Source, w.Source)
				}
				h.Done(got)
			}
			if _, ok := h.Earliest(); ok || h.Len() != 0 || !h.Latest().IsZero() {
				t.Errorf("%d records, %s: %d left", n, name, h.Len())
			}
		}
	}
}

// TestHeldCopies: Hold keeps a copy, so the caller may reuse its record (a
// consumer reuses its batches), and a record given back with Done is reused
// cleared.
func TestHeldCopies(t *testing.T) {
	var h Held
	ts := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	rec := ingest.Record{Kind: ingest.KindContent, Content: event.Content{EventID: "e1", TS: ts}}
	h.Hold(&rec)
	rec.Content.EventID, rec.Content.TS = "e2", ts.Add(-time.Second)
	h.Hold(&rec)
	first := h.Next()
	if first.Content.EventID != "e2" {
		t.Fatalf("first out %q, want e2, the earlier", first.Content.EventID)
	}
	h.Done(first)
	if first.Content.EventID != "" {
		t.Errorf("a record given back keeps %q", first.Content.EventID)
	}
	if second := h.Next(); second.Content.EventID != "e1" {
		t.Errorf("second out %q, want e1 as held, not the caller's record since", second.Content.EventID)
	}
	rec.Content.EventID = "e3"
	h.Hold(&rec)
	if got := h.Next(); got != first || got.Content.EventID != "e3" {
		t.Errorf("Hold after Done made a new record or lost the copy: %p %q, want %p e3", got, got.Content.EventID, first)
	}
}

// TestHeldEachStops: Each stops at f's first error and returns it.
func TestHeldEachStops(t *testing.T) {
	var h Held
	for i := range 5 {
		h.Hold(&ingest.Record{Kind: ingest.KindContent, Source: ingest.Source{Offset: int64(i)}})
	}
	stop := errors.New("stop")
	calls := 0
	err := h.Each(func(*ingest.Record) error {
		if calls++; calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Errorf("Each: %v after %d calls, want stop after 2", err, calls)
	}
}
