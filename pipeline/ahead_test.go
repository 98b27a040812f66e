package pipeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/sketches"
)

// TestStampedAheadOfClock: live (the clock moving with event time), ten
// posts a second over three partitions, and at minute 5 posts stamped half
// an hour ahead, as a producer whose clock runs ahead writes them (within
// kafka.limits.max_future's hour). Event time was the largest stamp read,
// so one such post per partition moved it half an hour on, and every
// ordinary post after it was late: 2,999 of the last 3,000. With
// pipeline.max_ahead the posts ahead wait for the clock and count in their
// own minute; when they fill the holding area they are dropped, not let
// move event time.
func TestStampedAheadOfClock(t *testing.T) {
	tests := []struct {
		name      string
		maxAhead  time.Duration
		maxParked int
		ahead     int // posts stamped ahead, per partition
		wantLate  bool
		wantAhead uint64 // the ahead tag's mentions counted
		wantLost  float64
	}{
		{name: "bounded", maxAhead: 10 * time.Second, maxParked: 200000, ahead: 10, wantAhead: 30},
		{name: "holding area full", maxAhead: 10 * time.Second, maxParked: 12, ahead: 10, wantAhead: 12, wantLost: 30 - 12},
		{name: "unbounded (replay)", maxAhead: 0, maxParked: 200000, ahead: 10, wantLate: true, wantAhead: 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.MaxAhead, cfg.MaxParked = tt.maxAhead, tt.maxParked
			sink := &memSink{}
			e, err := New(cfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), []Sink{sink}, nil, prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
			aheadAt := start.Add(5*time.Minute + 30*time.Minute)
			off := make([]int64, 3)
			n := 0
			send := func(p int, ts, now time.Time, tag string) {
				n++
				r := ingest.Record{Kind: ingest.KindContent, Source: ingest.Source{Topic: "content-events", Partition: p, Offset: off[p]},
					Content: event.Content{EventID: fmt.Sprint("e", n), TS: ts, ContentID: fmt.Sprint("c", n),
						CreatorID: fmt.Sprint("u", n%50), Region: "NP", Hashtags: []string{tag}}}
				off[p]++
				if err := e.processAt(ctx, &r, now); err != nil {
					t.Fatal(err)
				}
			}
			const perSecond = 10
			for i := 0; i < 40*60*perSecond; i++ {
				ts := start.Add(time.Duration(i) * time.Second / perSecond)
				send(i%3, ts, ts, "steady")
				if i == 5*60*perSecond {
					for k := range tt.ahead {
						for p := range 3 {
							send(p, aheadAt.Add(time.Duration(k)*time.Second), ts, "ahead")
						}
					}
				}
			}
			if err := e.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			late := testutil.ToFloat64(e.m.late)
			if got := late > 0; got != tt.wantLate {
				t.Errorf("%v posts late, want late: %v", late, tt.wantLate)
			}
			if got := testutil.ToFloat64(e.m.aheadLost); got != tt.wantLost {
				t.Errorf("%v dropped ahead of the clock, want %v", got, tt.wantLost)
			}
			latest := map[string]uint64{}
			for _, r := range sink.rows {
				latest[r.Term+"@"+r.Bucket.Format("15:04")] = r.Mentions
			}
			if got := latest["hashtag:ahead@"+aheadAt.Format("15:04")]; got != tt.wantAhead {
				t.Errorf("ahead tag counted %d in its minute, want %d", got, tt.wantAhead)
			}
			if !tt.wantLate {
				// Every minute of the ordinary tag whole: 600 posts.
				for m := 0; m < 40; m++ {
					if k := "hashtag:steady@" + start.Add(time.Duration(m)*time.Minute).Format("15:04"); latest[k] != 60*perSecond {
						t.Errorf("%s: %d mentions, want %d", k, latest[k], 60*perSecond)
					}
				}
			}
		})
	}
}
