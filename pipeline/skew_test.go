package pipeline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/sketches"
)

// TestSkewedPartitions delivers four partitions the way a consumer catching up
// on a backlog does: in chunks, one partition far ahead of another, report
// partitions finishing long before content ones. Every bucket must still be
// counted in full, and the buckets must close as the records arrive, without
// waiting for the idle clock.
func TestSkewedPartitions(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	const minutes = 60
	type part struct {
		topic string
		id    int
		recs  []ingest.Record
	}
	parts := []*part{{topic: "content-events", id: 0}, {topic: "content-events", id: 1}, {topic: "report-events", id: 0}}
	n := 0
	for m := 0; m < minutes; m++ {
		for i := 0; i < 100; i++ {
			n++
			ts := start.Add(time.Duration(m)*time.Minute + time.Duration(i)*600*time.Millisecond)
			p := parts[n%2]
			p.recs = append(p.recs, ingest.Record{Kind: ingest.KindContent, Content: event.Content{
				EventID: fmt.Sprint("e", n), TS: ts, ContentID: fmt.Sprint("c", n), CreatorID: fmt.Sprint("u", n),
				Hashtags: []string{"steady"},
			}})
			if i%25 == 0 {
				r := parts[2]
				r.recs = append(r.recs, ingest.Record{Kind: ingest.KindReport, Report: event.Report{
					EventID: fmt.Sprint("r", n), TS: ts, ContentID: fmt.Sprint("c", n), ReporterID: "x", Reason: "spam"}})
			}
		}
	}
	for _, p := range parts {
		for i := range p.recs {
			p.recs[i].Source = ingest.Source{Topic: p.topic, Partition: p.id, Offset: int64(i)}
			p.recs[i].Lag = int64(len(p.recs) - i - 1)
		}
	}
	sink := &memSink{}
	cfg := DefaultConfig()
	cfg.MaxParked = 3000 // the start-up hold ends on it, long before its wall-clock end
	e, err := New(cfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), []Sink{sink}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.Expect([]ingest.Partition{{Topic: "content-events", Partition: 0}, {Topic: "content-events", Partition: 1}, {Topic: "report-events", Partition: 0}})
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	next := make([]int, len(parts))
	for {
		// The report partition drains first; content partitions alternate in
		// chunks, partition 1 lagging behind partition 0.
		var p int
		switch {
		case next[2] < len(parts[2].recs):
			p = 2
		case next[0] < len(parts[0].recs) && (next[0] < next[1]+800 || next[1] >= len(parts[1].recs)):
			p = 0
		case next[1] < len(parts[1].recs):
			p = 1
		default:
			p = -1
		}
		if p < 0 {
			break
		}
		chunk := 1 + rng.IntN(200)
		for k := 0; k < chunk && next[p] < len(parts[p].recs); k++ {
			if err := e.Process(ctx, parts[p].recs[next[p]]); err != nil {
				t.Fatal(err)
			}
			next[p]++
		}
	}
	if e.watermark.Before(start.Add(55 * time.Minute)) {
		t.Errorf("watermark %s after the last record; want the buckets to close as records arrive", e.watermark)
	}
	if err := e.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[time.Time]uint64{}
	for _, r := range sink.rows {
		if r.Term == "hashtag:steady" {
			got[r.Bucket] += r.Mentions
		}
	}
	for m := 0; m < minutes; m++ {
		b := start.Add(time.Duration(m) * time.Minute)
		if got[b] != 100 {
			t.Errorf("%s: %d mentions, want 100", b.Format("15:04"), got[b])
		}
	}
	if e.window.Dropped() != 0 {
		t.Errorf("%d events dropped as late", e.window.Dropped())
	}
}
