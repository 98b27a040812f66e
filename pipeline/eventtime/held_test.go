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

// TestHeld: records come out in event-time order, ties content first, then by source, however
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
		slices.SortFunc(want, releaseOrder)
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

// releaseOrder is the order a Held releases records in, as the tests expect
// it: event time, then source.
func releaseOrder(a, b ingest.Record) int {
	return cmp.Or(TS(&a).Compare(TS(&b)), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Source.Topic, b.Source.Topic),
		cmp.Compare(a.Source.Partition, b.Source.Partition), cmp.Compare(a.Source.Offset, b.Source.Offset))
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

// TestHeldInterleaved: held and released in turn, as the engine does while
// partitions interleave, records still come out earliest first, ties by
// source, against a reference that sorts every held record. A partition's
// records come in runs of up to 3,000, mostly in event time, a few late, and
// thousands are held at once.
func TestHeldInterleaved(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 13))
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for run := range 6 {
		var h Held
		var ref []ingest.Record
		clock := make(map[int]time.Duration)
		offset := make(map[int]int64)
		released := 0
		for step := range 20000 {
			if rng.IntN(3) > 0 || len(ref) == 0 {
				// A run of one partition's records, as a batch brings them.
				p := rng.IntN(1 + run%6)
				for range 1 + rng.IntN(3000) {
					clock[p] += time.Duration(rng.IntN(400)) * time.Millisecond
					ts := clock[p]
					if rng.IntN(50) == 0 {
						ts -= time.Duration(rng.IntN(60)) * time.Second // late
					}
					offset[p]++
					rec := ingest.Record{Kind: ingest.KindContent, Content: event.Content{TS: start.Add(ts)},
						Source: ingest.Source{Topic: []string{"content", "reports"}[p%2], Partition: p / 2, Offset: offset[p]}}
					if p%2 == 1 {
						rec.Kind, rec.Report.TS, rec.Content = ingest.KindReport, rec.Content.TS, event.Content{}
					}
					h.Hold(&rec)
					ref = append(ref, rec)
				}
				continue
			}
			slices.SortFunc(ref, releaseOrder)
			k := 1 + rng.IntN(len(ref))
			for i := range k {
				want := ref[i]
				if next, ok := h.Earliest(); !ok || !next.Equal(TS(&want)) {
					t.Fatalf("run %d, step %d: earliest %s (%v), want %s", run, step, next, ok, TS(&want))
				}
				got := h.Next()
				if got.Source != want.Source || !TS(got).Equal(TS(&want)) {
					t.Fatalf("run %d, step %d: released %+v at %s, want %+v at %s", run, step, got.Source, TS(got), want.Source, TS(&want))
				}
				h.Done(got)
				released++
			}
			ref = slices.Delete(ref, 0, k)
			if h.Len() != len(ref) {
				t.Fatalf("run %d, step %d: %d held, want %d", run, step, h.Len(), len(ref))
			}
			if released > 40000 {
				break
			}
		}
	}
}

// BenchmarkHeld is the engine's hold when partitions interleave: eight
// partitions each deliver a run of 500 records in event time, in turn, in a
// random order each round, and after each run the records up to the slowest
// partition's last one are released, as the watermark lets them go. One op
// is one record held and released.
func BenchmarkHeld(b *testing.B) {
	const parts, run = 8, 500
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(3, 4))
	var clock [parts]time.Duration
	var offset [parts]int64
	var h Held
	var rec ingest.Record
	rec.Kind = ingest.KindContent
	b.ReportAllocs()
	n := 0
	order := make([]int, parts)
	for i := range order {
		order[i] = i
	}
	for i := 0; n < b.N; i++ {
		if i%parts == 0 {
			rng.Shuffle(parts, func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		p := order[i%parts]
		for range run {
			clock[p] += time.Duration(rng.IntN(160)) * time.Millisecond
			offset[p]++
			rec.Source = ingest.Source{Topic: "content-events", Partition: p, Offset: offset[p]}
			rec.Content.TS = start.Add(clock[p])
			h.Hold(&rec)
		}
		wm := slices.Min(clock[:])
		for {
			next, ok := h.Earliest()
			if !ok || next.After(start.Add(wm)) {
				break
			}
			h.Done(h.Next())
			n++
		}
	}
}

// TestHeldKeepsNoText: a held record comes out without its post's text,
// which nothing after the holding area reads, and the caller's record keeps
// its own.
func TestHeldKeepsNoText(t *testing.T) {
	var h Held
	rec := ingest.Record{Kind: ingest.KindContent, Content: event.Content{EventID: "e", TS: time.Unix(100, 0), Text: "a long post"}}
	h.Hold(&rec)
	got := h.Next()
	if got.Content.Text != "" || got.Content.EventID != "e" {
		t.Errorf("held record came out as %+v, want it whole but for its text", got.Content)
	}
	if rec.Content.Text != "a long post" {
		t.Errorf("the caller's record lost its text: %q", rec.Content.Text)
	}
}
