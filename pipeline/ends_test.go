package pipeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/ingest"
)

// fakeLog is the input's partitions as a broker holds them: every record
// produced so far, in order, and how many of each the consumer has been
// given. It answers HighWaterMarks as the broker would.
type fakeLog struct {
	recs map[ingest.Partition][]ingest.Record
	read map[ingest.Partition]int
	down bool // the broker does not answer
}

func (f *fakeLog) produce(p ingest.Partition, rec ingest.Record) {
	rec.Source = ingest.Source{Topic: p.Topic, Partition: p.Partition, Offset: int64(len(f.recs[p]))}
	f.recs[p] = append(f.recs[p], rec)
}

// fetch hands the consumer what is left of p, each record with the lag
// kafka-go gives it.
func (f *fakeLog) fetch(p ingest.Partition) []ingest.Record {
	out := f.recs[p][f.read[p]:]
	f.read[p] = len(f.recs[p])
	for i := range out {
		out[i].Lag = int64(len(out) - 1 - i)
	}
	return out
}

func (f *fakeLog) HighWaterMarks(_ context.Context, parts []ingest.Partition) (map[ingest.Partition]int64, error) {
	if f.down {
		return nil, fmt.Errorf("broker down")
	}
	out := make(map[ingest.Partition]int64)
	for _, p := range parts {
		out[p] = int64(len(f.recs[p]))
	}
	return out, nil
}

// TestReconnectingPartitionIsNotIdle is the window in which a report was
// lost at a broker restart, replayed on a fake clock: event time runs 120
// times faster than the wall clock, as in the fault suite. Three partitions
// deliver, the broker goes away for 4 s, and two of them come back at once
// while the third (content-events/0) reconnects 3 s later. Meanwhile the
// producer goes on writing to all three, and the reports partition carries
// reports on content still waiting in content-events/0.
//
// Judged by silence, content-events/0 had delivered a record that was the
// newest in it, then said nothing for partition_idle: it was idle, event
// time followed the other two, the reports were applied before the content
// they name (unattributed) and the content came too late. Judged by the
// high-water marks, it is behind, and holds event time until it delivers;
// one with nothing to deliver (the last case) still lets event time go on.
func TestReconnectingPartitionIsNotIdle(t *testing.T) {
	tests := []struct {
		name           string
		ends           bool
		quiet          bool // content-events/0 gets nothing after the restart
		wantLost       bool
		wantLateClosed bool // the minutes after the restart closed before content-events/0 spoke
	}{
		{name: "silence alone: the loss", ends: false, wantLost: true},
		{name: "high-water marks", ends: true},
		{name: "high-water marks, partition with nothing to say", ends: true, quiet: true, wantLateClosed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			sink := &memSink{}
			e := newTestEngine(t, sink)
			slow := ingest.Partition{Topic: "content-events", Partition: 0}
			fast := ingest.Partition{Topic: "content-events", Partition: 1}
			reps := ingest.Partition{Topic: "report-events", Partition: 0}
			parts := []ingest.Partition{slow, fast, reps}
			e.Expect(parts)
			log := &fakeLog{recs: map[ingest.Partition][]ingest.Record{}, read: map[ingest.Partition]int{}}
			if tt.ends {
				e.in.SetEnds(log)
			}
			wall0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			ev0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
			eventAt := func(wall time.Time) time.Time { return ev0.Add(120 * wall.Sub(wall0)) }
			n := 0
			post := func(p ingest.Partition, ts time.Time, tag string) string {
				n++
				id := fmt.Sprint("c", n)
				log.produce(p, ingest.Record{Kind: ingest.KindContent, Content: event.Content{EventID: id, TS: ts, ContentID: id,
					CreatorID: fmt.Sprint("u", n), Hashtags: []string{tag}}})
				return id
			}
			report := func(ts time.Time, content string) {
				n++
				log.produce(reps, ingest.Record{Kind: ingest.KindReport, Report: event.Report{EventID: fmt.Sprint("r", n), TS: ts,
					ContentID: content, ReporterID: fmt.Sprint("rep", n), Reason: "spam"}})
			}
			// step moves the clock to wall, asks for the high-water marks
			// as the engine does and waits for the answer (a real broker
			// answers while records flow; here, in between), then hands the
			// engine what the partitions that are connected have.
			step := func(wall time.Time, connected ...ingest.Partition) {
				if err := e.tick(ctx, wall, 0); err != nil {
					t.Fatal(err)
				}
				e.in.Await()
				for _, p := range connected {
					for _, rec := range log.fetch(p) {
						if err := e.processAt(ctx, &rec, wall); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			const tick = 100 * time.Millisecond
			wall := wall0
			// 10 s of wall clock, 20 minutes of event time, all connected.
			for ; wall.Before(wall0.Add(10 * time.Second)); wall = wall.Add(tick) {
				ts := eventAt(wall)
				id := post(slow, ts, "alpha")
				post(fast, ts.Add(time.Second), "beta")
				report(ts.Add(2*time.Second), id)
				step(wall, parts...)
			}
			// The broker goes away for 4 s: nothing is produced or read.
			log.down = true
			restart := wall.Add(4 * time.Second)
			for ; wall.Before(restart); wall = wall.Add(tick) {
				step(wall)
			}
			log.down = false
			// Two partitions reconnect at once, content-events/0 3 s later.
			var named []string
			for ; wall.Before(restart.Add(3 * time.Second)); wall = wall.Add(tick) {
				ts := eventAt(wall.Add(-4 * time.Second)) // the producer resumes where it stopped
				post(fast, ts.Add(time.Second), "beta")
				if !tt.quiet {
					id := post(slow, ts, "alpha")
					report(ts.Add(2*time.Second), id)
					named = append(named, id)
				}
				step(wall, fast, reps)
			}
			closedBefore := e.window.Closed()
			for end := wall.Add(3 * time.Second); wall.Before(end); wall = wall.Add(tick) {
				step(wall, parts...)
			}
			if err := e.Drain(ctx); err != nil {
				t.Fatal(err)
			}

			unattributed, late := testutil.ToFloat64(e.m.unattrib), testutil.ToFloat64(e.m.late)
			var alphaReports uint64
			for _, r := range sink.rows {
				if r.Term == "hashtag:alpha" {
					alphaReports += r.Reports
				}
			}
			var produced uint64
			for _, rec := range log.recs[reps] {
				if rec.Kind == ingest.KindReport {
					produced++
				}
			}
			t.Logf("%d reports produced, %d counted against hashtag:alpha; %v unattributed, %v late; after the restart %d reports named content of content-events/0; closed up to %s before it spoke",
				produced, alphaReports, unattributed, late, len(named), closedBefore.Format("15:04"))
			lost := unattributed > 0 || late > 0 || alphaReports != produced
			if lost != tt.wantLost {
				t.Errorf("lost: %v, want %v", lost, tt.wantLost)
			}
			// Event time must not stall for a partition with nothing to
			// deliver: the minutes after the restart close while it is silent.
			afterRestart := eventAt(restart.Add(-4 * time.Second)).Truncate(time.Minute)
			if got := closedBefore.After(afterRestart); got != tt.wantLateClosed && !tt.wantLost {
				t.Errorf("buckets after the restart closed before content-events/0 spoke: %v, want %v", got, tt.wantLateClosed)
			}
		})
	}
}

// TestRestartedPartitionSlowToStart: restarted from a checkpoint, the
// consumer starts delivering two partitions at once and the third 8 s
// later. Judged by silence, the third was idle before it spoke and its
// events came too late; judged by the high-water marks it holds event time
// until it delivers what it has, also when the process could not list its
// partitions at start-up (no Expect): the checkpoint names them.
func TestRestartedPartitionSlowToStart(t *testing.T) {
	for _, tt := range []struct{ withEnds, expect bool }{{false, true}, {true, true}, {true, false}} {
		withEnds := tt.withEnds
		t.Run(fmt.Sprintf("high-water marks %v, partitions listed %v", tt.withEnds, tt.expect), func(t *testing.T) {
			ctx := context.Background()
			e := newTestEngine(t, &memSink{})
			parts := []ingest.Partition{{Topic: "content-events", Partition: 0}, {Topic: "content-events", Partition: 1}, {Topic: "content-events", Partition: 2}}
			log := &fakeLog{recs: map[ingest.Partition][]ingest.Record{}, read: map[ingest.Partition]int{}}
			if withEnds {
				e.in.SetEnds(log)
			}
			ev0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
			n := 0
			post := func(p ingest.Partition, ts time.Time) {
				n++
				id := fmt.Sprint("c", n)
				log.produce(p, ingest.Record{Kind: ingest.KindContent, Content: event.Content{EventID: id, TS: ts, ContentID: id, CreatorID: id, Hashtags: []string{"tag"}}})
			}
			// What the checkpoint counted: 10 records of each partition.
			var counted []ingest.Offset
			for _, p := range parts {
				for range 10 {
					post(p, ev0)
				}
				log.fetch(p)
				counted = append(counted, ingest.Offset{Topic: p.Topic, Partition: p.Partition, Offset: 9})
			}
			wall := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			e.in.Restore(counted, wall)
			if tt.expect {
				e.in.Expect(parts, wall)
			}
			for i := range 100 { // 10 s of wall clock, 20 minutes of event time
				ts := ev0.Add(time.Duration(i) * 12 * time.Second)
				for _, p := range parts {
					post(p, ts)
				}
				if err := e.tick(ctx, wall, 0); err != nil {
					t.Fatal(err)
				}
				e.in.Await()
				connected := parts[:2]
				if i >= 80 {
					connected = parts
				}
				for _, p := range connected {
					for _, rec := range log.fetch(p) {
						if err := e.processAt(ctx, &rec, wall); err != nil {
							t.Fatal(err)
						}
					}
				}
				wall = wall.Add(100 * time.Millisecond)
			}
			if err := e.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			late := testutil.ToFloat64(e.m.late)
			t.Logf("%v events late", late)
			if lost := late > 0; lost == withEnds {
				t.Errorf("%v events late with high-water marks %v", late, withEnds)
			}
		})
	}
}
