package pipeline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/family"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline/eventtime"
	"github.com/trendwatch/trendwatch/sketches"
	"github.com/trendwatch/trendwatch/trend"
)

// orderFeed is a stream over three content and two report partitions, each
// partition in event-time order, reports referring to content of other
// partitions a few seconds earlier: what a keyed producer writes.
type orderFeed struct {
	parts [][]ingest.Record
	// truth is what every (term, bucket) holds, reports joined to their content.
	truth map[string][2]uint64
}

func newOrderFeed(seed uint64, minutes int) *orderFeed {
	rng := rand.New(rand.NewPCG(seed, 7))
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	f := &orderFeed{parts: make([][]ingest.Record, 5), truth: map[string][2]uint64{}}
	key := func(term string, ts time.Time) string { return term + "@" + ts.Truncate(time.Minute).Format("15:04") }
	n := 0
	for m := 0; m < minutes; m++ {
		for i := 0; i < 90; i++ {
			n++
			ts := start.Add(time.Duration(m)*time.Minute + time.Duration(i)*time.Minute/90)
			tags := []string{"steady"}
			// A term that crosses the tracking threshold somewhere inside
			// each minute, one that takes off at minute 8, and noise.
			if rng.IntN(3) == 0 {
				tags = append(tags, fmt.Sprint("some", m%4))
			}
			if m >= 8 && rng.IntN(2) == 0 {
				tags = append(tags, "takeoff")
			}
			tags = append(tags, fmt.Sprint("noise", rng.IntN(40)))
			c := event.Content{EventID: fmt.Sprint("e", n), TS: ts, ContentID: fmt.Sprint("c", n),
				CreatorID: fmt.Sprint("u", rng.IntN(50)), Region: "NP", Hashtags: tags}
			f.parts[n%3] = append(f.parts[n%3], ingest.Record{Kind: ingest.KindContent, Content: c})
			for _, tk := range counted(tags) {
				k := key(tk, ts)
				v := f.truth[k]
				v[0]++
				f.truth[k] = v
			}
			if rng.IntN(4) != 0 {
				continue
			}
			r := event.Report{EventID: fmt.Sprint("r", n), TS: ts.Add(time.Duration(1+rng.IntN(20)) * time.Second),
				ContentID: c.ContentID, ReporterID: fmt.Sprint("x", rng.IntN(100)), Reason: "spam"}
			f.parts[3+n%2] = append(f.parts[3+n%2], ingest.Record{Kind: ingest.KindReport, Report: r})
			for _, tk := range counted(tags) {
				k := key(tk, r.TS)
				v := f.truth[k]
				v[1]++
				f.truth[k] = v
			}
		}
	}
	topics := []string{"content-events", "content-events", "content-events", "report-events", "report-events"}
	for p, recs := range f.parts {
		sort.SliceStable(recs, func(i, j int) bool { return eventtime.TS(&recs[i]).Before(eventtime.TS(&recs[j])) })
		for i := range recs {
			recs[i].Source = ingest.Source{Topic: topics[p], Partition: p % 3, Offset: int64(i)}
			recs[i].Lag = int64(len(recs) - i - 1)
		}
	}
	return f
}

// deliver interleaves the partitions: each step takes a chunk of up to
// maxChunk records from a partition picked by pick.
func (f *orderFeed) deliver(rng *rand.Rand, maxChunk int, pick func(next []int) int) []ingest.Record {
	next := make([]int, len(f.parts))
	var out []ingest.Record
	for {
		p := pick(next)
		if p < 0 {
			return out
		}
		for k := 1 + rng.IntN(maxChunk); k > 0 && next[p] < len(f.parts[p]); k-- {
			out = append(out, f.parts[p][next[p]])
			next[p]++
		}
	}
}

func (f *orderFeed) left(next []int) []int {
	var ps []int
	for p := range f.parts {
		if next[p] < len(f.parts[p]) {
			ps = append(ps, p)
		}
	}
	return ps
}

func runOrdered(t *testing.T, recs []ingest.Record, maxParked int) map[string]trend.Minute {
	t.Helper()
	cfg := DefaultConfig()
	cfg.MaxParked = maxParked
	sink := &memSink{}
	e, err := New(cfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), []Sink{sink}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var parts []ingest.Partition
	for p := 0; p < 3; p++ {
		parts = append(parts, ingest.Partition{Topic: "content-events", Partition: p})
	}
	parts = append(parts, ingest.Partition{Topic: "report-events", Partition: 0}, ingest.Partition{Topic: "report-events", Partition: 1})
	e.Expect(parts)
	// The start-up hold would put a feed this short in order by itself.
	e.held = true
	run(t, e, recs, true)
	out := map[string]trend.Minute{}
	for _, r := range sink.rows {
		out[r.Term+"@"+r.Bucket.Format("15:04")] = r
	}
	return out
}

// TestOrderIndependent delivers one stream in very different partition
// interleavings, as a consumer keeping up, catching up on a backlog or
// restarting does. Every interleaving must give the same rows, exact in the
// same places, and exact rows must hold every mention and every report: a
// report read before its content still counts against the content's terms.
func TestOrderIndependent(t *testing.T) {
	f := newOrderFeed(1, 20)
	rng := rand.New(rand.NewPCG(3, 4))
	var sorted []ingest.Record
	for _, recs := range f.parts {
		sorted = append(sorted, recs...)
	}
	sort.SliceStable(sorted, func(i, j int) bool { return eventtime.TS(&sorted[i]).Before(eventtime.TS(&sorted[j])) })
	orders := map[string][]ingest.Record{
		"event time": sorted,
		"random chunks": f.deliver(rng, 300, func(next []int) int {
			if ps := f.left(next); len(ps) > 0 {
				return ps[rng.IntN(len(ps))]
			}
			return -1
		}),
		"reports first": f.deliver(rng, 500, func(next []int) int {
			ps := f.left(next)
			if len(ps) == 0 {
				return -1
			}
			return ps[len(ps)-1]
		}),
		"one content partition far behind": f.deliver(rng, 50, func(next []int) int {
			ps := f.left(next)
			if len(ps) == 0 {
				return -1
			}
			if len(ps) > 1 && ps[0] == 0 && next[0]+600 > next[1] {
				return ps[1+rng.IntN(len(ps)-1)]
			}
			return ps[rng.IntN(len(ps))]
		}),
	}
	want := runOrdered(t, sorted, DefaultConfig().MaxParked)
	exact := 0
	for k, r := range want {
		truth := f.truth[k]
		if !r.Exact {
			if r.Mentions < truth[0] || r.Reports < truth[1] {
				t.Errorf("%s: estimate %d mentions, %d reports below the truth %v", k, r.Mentions, r.Reports, truth)
			}
			continue
		}
		exact++
		if r.Mentions != truth[0] || r.Reports != truth[1] {
			t.Errorf("%s: exact row has %d mentions, %d reports; the feed has %v", k, r.Mentions, r.Reports, truth)
		}
	}
	if exact < 40 {
		t.Fatalf("only %d exact rows of %d: the feed tests too little", exact, len(want))
	}
	for name, recs := range orders {
		t.Run(name, func(t *testing.T) {
			if len(recs) != len(sorted) {
				t.Fatalf("%d records delivered, want %d", len(recs), len(sorted))
			}
			got := runOrdered(t, recs, DefaultConfig().MaxParked)
			diff := 0
			for k, w := range want {
				g, ok := got[k]
				g.Version, w.Version = 0, 0
				if !ok || g.Mentions != w.Mentions || g.Reports != w.Reports || g.Exact != w.Exact || g.UniqueCreators != w.UniqueCreators {
					if diff++; diff <= 10 {
						t.Errorf("%s: got %+v (present %v), in event-time order %+v", k, g, ok, w)
					}
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("%s: row not written in event-time order", k)
				}
			}
		})
	}
	// The control: with nothing held (pipeline.max_parked 0) records count in
	// arrival order: reports read before their content lose their terms, and
	// content read after its bucket closed is late. Were that not visible here,
	// the comparisons above would prove nothing.
	got := runOrdered(t, orders["reports first"], 0)
	var lost uint64
	for k, w := range want {
		g := got[k]
		lost += w.Reports - min(w.Reports, g.Reports)
	}
	if lost == 0 {
		t.Error("unordered delivery lost no report: the feed cannot tell ordered from unordered processing")
	}
	t.Logf("%d rows, %d exact; processing in arrival order would lose %d reports", len(want), exact, lost)
}

func BenchmarkProcessInterleaved(b *testing.B) {
	f := newOrderFeed(1, 60)
	rng := rand.New(rand.NewPCG(5, 6))
	recs := f.deliver(rng, 200, func(next []int) int {
		if ps := f.left(next); len(ps) > 0 {
			return ps[rng.IntN(len(ps))]
		}
		return -1
	})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		e, err := New(DefaultConfig(), sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		e.held = true
		b.StartTimer()
		for _, r := range recs {
			if err := e.Process(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "records/s")
}

// TestStallKeepsPartitionsActive: while the engine itself is stalled (a sink
// that cannot take rows) no partition can be seen, and that silence must not
// make them idle, or event time would jump to whichever partition speaks
// first afterwards and the others' records would count out of order.
func TestStallKeepsPartitionsActive(t *testing.T) {
	cfg := DefaultConfig()
	cfg.PartitionIdle = 50 * time.Millisecond
	e, err := New(cfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.held = true
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	rec := func(p int, off int64, ts time.Time) ingest.Record {
		return ingest.Record{Source: ingest.Source{Topic: "content-events", Partition: p, Offset: off}, Kind: ingest.KindContent,
			Content: event.Content{EventID: fmt.Sprint(p, off), TS: ts, ContentID: fmt.Sprint(p, off), CreatorID: "u", Hashtags: []string{"x"}}}
	}
	ctx := context.Background()
	for i := int64(0); i < 10; i++ {
		for p := 0; p < 2; p++ {
			if err := e.Process(ctx, rec(p, i, start.Add(time.Duration(i)*time.Second))); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := e.Watermark()
	time.Sleep(3 * cfg.PartitionIdle) // the stall
	if err := e.Process(ctx, rec(0, 10, start.Add(10*time.Minute))); err != nil {
		t.Fatal(err)
	}
	if wm := e.Watermark(); wm.After(start.Add(10 * time.Second)) {
		t.Fatalf("after a stall, partition 0's record moved event time from %s to %s past partition 1", before.Format("15:04:05"), wm.Format("15:04:05"))
	}
	if e.parked.Len() != 1 {
		t.Fatalf("%d records held, want partition 0's, waiting for partition 1", e.parked.Len())
	}
	if err := e.Process(ctx, rec(1, 10, start.Add(10*time.Minute))); err != nil {
		t.Fatal(err)
	}
	if e.parked.Len() != 0 || !e.Watermark().Equal(start.Add(10*time.Minute)) {
		t.Fatalf("after partition 1 caught up: %d held, watermark %s", e.parked.Len(), e.Watermark())
	}
}

// counted is the terms a post's hashtags count into: each hashtag, and each of
// their families once.
func counted(tags []string) []string {
	var out []string
	for _, tg := range tags {
		out = append(out, "hashtag:"+tg)
	}
	for _, tg := range tags {
		k, own := family.KeyOf(tg)
		if f := family.Prefix + k; !own && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// TestGaugesAfterEachCall: the gauges of what the engine holds are set once
// a call (Process, ProcessBatch, Advance), not at each step of event time,
// and say what the engine holds when the call returns; the watermark's says
// nothing until there is one.
func TestGaugesAfterEachCall(t *testing.T) {
	e := newTestEngine(t)
	e.held = true
	e.Expect([]ingest.Partition{{Topic: "content-events", Partition: 0}, {Topic: "content-events", Partition: 1}})
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	rec := func(p int, off int64, ts time.Time) ingest.Record {
		return ingest.Record{Source: ingest.Source{Topic: "content-events", Partition: p, Offset: off}, Kind: ingest.KindContent,
			Content: event.Content{EventID: fmt.Sprint(p, off), TS: ts, ContentID: fmt.Sprint(p, off), CreatorID: "u", Hashtags: []string{"x"}}}
	}
	ctx := context.Background()
	// Partition 1 has said nothing: partition 0's record waits for it.
	if err := e.ProcessBatch(ctx, []ingest.Record{rec(0, 0, start.Add(time.Second))}); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(e.m.parked); got != 1 || e.parked.Len() != 1 {
		t.Fatalf("parked gauge %v, %d records parked; want 1", got, e.parked.Len())
	}
	if got := testutil.ToFloat64(e.m.watermark); e.Watermark().IsZero() && got != 0 {
		t.Fatalf("watermark gauge %v before any watermark, want 0", got)
	}
	if err := e.Process(ctx, rec(1, 0, start.Add(2*time.Second))); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(e.m.parked); got != float64(e.parked.Len()) {
		t.Fatalf("parked gauge %v, %d records parked", got, e.parked.Len())
	}
	if err := e.Advance(ctx, start.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, want := testutil.ToFloat64(e.m.watermark), float64(start.Add(5*time.Minute).Unix()); got != want {
		t.Fatalf("watermark gauge %v, want %v", got, want)
	}
	if got := testutil.ToFloat64(e.m.parked); got != 0 || e.parked.Len() != 0 {
		t.Fatalf("parked gauge %v, %d records parked after the advance; want 0", got, e.parked.Len())
	}
	if got, want := testutil.ToFloat64(e.m.dedupIDs), float64(e.dedup.Len()); got != want {
		t.Fatalf("dedup gauge %v, want %v", got, want)
	}
}

// TestHoldEndsOnceEveryPartitionDelivered: the start-up hold keeps every
// record while an expected partition has not delivered, and ends as soon as
// each has, not pipeline.partition_idle later: the watermark then stands at
// the slowest partition's event time, and only records ahead of it wait.
func TestHoldEndsOnceEveryPartitionDelivered(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	rec := func(p int, off int64, ts time.Time) ingest.Record {
		return ingest.Record{Source: ingest.Source{Topic: "content-events", Partition: p, Offset: off}, Kind: ingest.KindContent,
			Content: event.Content{EventID: fmt.Sprint(p, off), TS: ts, ContentID: fmt.Sprint(p, off), CreatorID: "u", Hashtags: []string{"x"}}}
	}
	for _, tt := range []struct {
		name       string
		expect     int  // partitions expected
		second     bool // partition 1 delivers one record, at 10:00:02
		wantHeld   bool // the hold is over
		wantParked int
		wantWM     time.Time
	}{
		{"one of two delivered: held", 2, false, false, 5, time.Time{}},
		{"both delivered: over, the later records wait", 2, true, true, 2, start.Add(2 * time.Second)},
		{"none expected: held whoever delivers", 0, true, false, 6, time.Time{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(DefaultConfig(), sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			var parts []ingest.Partition
			for p := range tt.expect {
				parts = append(parts, ingest.Partition{Topic: "content-events", Partition: p})
			}
			e.Expect(parts)
			ctx := context.Background()
			for i := range int64(5) {
				if err := e.Process(ctx, rec(0, i, start.Add(time.Duration(i)*time.Second))); err != nil {
					t.Fatal(err)
				}
			}
			if tt.second {
				if err := e.Process(ctx, rec(1, 0, start.Add(2*time.Second))); err != nil {
					t.Fatal(err)
				}
			}
			if e.held != tt.wantHeld || e.parked.Len() != tt.wantParked || !e.Watermark().Equal(tt.wantWM) {
				t.Errorf("hold over %v, %d records parked, watermark %s; want %v, %d, %s",
					e.held, e.parked.Len(), e.Watermark().Format("15:04:05"), tt.wantHeld, tt.wantParked, tt.wantWM.Format("15:04:05"))
			}
		})
	}
}
