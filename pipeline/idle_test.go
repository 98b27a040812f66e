package pipeline

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/sketches"
)

func alertKeys(evs []alert.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Alert.Detector+"/"+ev.Alert.Term+"/"+string(ev.To)+"@"+ev.At.UTC().Format(time.RFC3339))
	}
	return out
}

// TestIdleClose: when every partition goes quiet, the open buckets close
// after pipeline.idle_close of silence, exactly as if the input had ended,
// and an event for them that comes after all is late. The engine's ticks are
// driven with a fake clock.
func TestIdleClose(t *testing.T) {
	f := &feed{start: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), minutes: 62, surgeAt: 60}
	recs := f.records()
	drained := &memSink{}
	run(t, newTestEngine(t, drained), recs, true)
	lastBucket := f.start.Add(61 * time.Minute)

	tests := []struct {
		name        string
		idleAdvance time.Duration
		idleClose   time.Duration
		silent      time.Duration // ticks up to this long after the last record
		wantClosed  bool
	}{
		{name: "default: bucket + lateness", idleAdvance: 0, idleClose: 0, silent: 3 * time.Minute, wantClosed: true},
		{name: "not silent long enough", idleAdvance: 0, idleClose: 0, silent: 3*time.Minute - 2*time.Second, wantClosed: false},
		{name: "short idle_close", idleAdvance: 0, idleClose: 10 * time.Second, silent: 10 * time.Second, wantClosed: true},
		{name: "with idle advance on", idleAdvance: 30 * time.Second, idleClose: 0, silent: 3 * time.Minute, wantClosed: true},
		{name: "off", idleAdvance: 0, idleClose: -1, silent: time.Hour, wantClosed: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			cfg := DefaultConfig()
			cfg.IdleAdvance, cfg.IdleClose = tt.idleAdvance, tt.idleClose
			sink := &memSink{}
			e, err := New(cfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), []Sink{sink},
				slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})), nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			run(t, e, recs, false)
			last := time.Now() // the engine's wall clock at the last record
			for d := time.Second; d <= tt.silent; d += time.Second {
				if err := e.tick(ctx, last.Add(d), 0); err != nil {
					t.Fatal(err)
				}
			}
			var sawLast bool
			for _, r := range sink.rows {
				sawLast = sawLast || r.Bucket.Equal(lastBucket)
			}
			if sawLast != tt.wantClosed {
				t.Fatalf("last bucket written: %v, want %v (closed up to %s)", sawLast, tt.wantClosed, e.window.Closed())
			}
			said := strings.Contains(logs.String(), "closed the open buckets")
			if !tt.wantClosed {
				if said {
					t.Errorf("logged an idle close that did not happen:\n%s", logs.String())
				}
				return
			}
			t.Log(strings.TrimSpace(logs.String()))
			if tt.idleAdvance == 0 {
				if !said || !strings.Contains(logs.String(), "buckets=3") || !strings.Contains(logs.String(), "last=2026-11-20T11:01:00") {
					t.Errorf("idle close not logged at INFO with the buckets closed:\n%s", logs.String())
				}
			}
			// The same rows and alerts as a stream that ended.
			if got, want := mentionsByKey(sink.rows), mentionsByKey(drained.rows); !reflect.DeepEqual(got, want) {
				t.Errorf("rows after idle close differ from a drained engine's: %d vs %d keys", len(got), len(want))
			}
			// In the same order but where idle advance creeps event time
			// through the last bucket's end: early firing then judges the
			// complete bucket before it closes, as the drained engine, which
			// jumps past it, does not, and a page it raises at close comes
			// early. Early firing judges a complete bucket as its close does
			// (the same counts and history), so the transitions are the same.
			got, want := alertKeys(sink.alerts), alertKeys(drained.alerts)
			if tt.idleAdvance > 0 {
				slices.Sort(got)
				slices.Sort(want)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("alerts after idle close:\n%v\nwant those of a drained engine:\n%v", got, want)
			}
			// An event for a closed bucket that comes after all is late.
			late := testutil.ToFloat64(e.m.late)
			rows := len(sink.rows)
			err = e.Process(ctx, ingest.Record{Source: ingest.Source{Topic: "content-events", Offset: 1 << 40}, Kind: ingest.KindContent,
				Content: event.Content{EventID: "straggler", TS: lastBucket.Add(30 * time.Second), ContentID: "cs", CreatorID: "us", Hashtags: []string{"surgingtag"}}})
			if err != nil {
				t.Fatal(err)
			}
			if got := testutil.ToFloat64(e.m.late); got != late+1 {
				t.Errorf("late events %v after a straggler, want %v", got, late+1)
			}
			if len(sink.rows) != rows {
				t.Errorf("a straggler for a closed bucket wrote %d rows", len(sink.rows)-rows)
			}
		})
	}
}

// TestIdleCloseWaitsForUnread: silence with records in the log that were not
// read (a consumer cut off, or a detect process whose aggregate processes
// died before relaying them) is not an idle input: event time stays, and
// the buckets close only once the high-water marks show nothing unread. The
// same holds while the high-water marks cannot be read at all (the brokers
// away while a standby replays a backlog): silence then says nothing.
func TestIdleCloseWaitsForUnread(t *testing.T) {
	tests := []struct {
		name string
		// unread and readable set the ends before and after ten minutes
		// of silence.
		unread, readable func(ends *flakyEnds)
	}{
		{"records unread",
			func(ends *flakyEnds) {
				for p := range ends.hwm {
					ends.hwm[p] += 10
				}
			},
			func(ends *flakyEnds) {
				for p := range ends.hwm {
					ends.hwm[p] -= 10
				}
			}},
		{"high-water marks unreadable",
			func(ends *flakyEnds) { ends.err = errors.New("dial tcp: connection refused") },
			func(ends *flakyEnds) { ends.err = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &feed{start: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), minutes: 62, surgeAt: 60}
			recs := f.records()
			lastBucket := f.start.Add(61 * time.Minute)
			sink := &memSink{}
			e := newTestEngine(t, sink)
			ctx := context.Background()
			run(t, e, recs, false)
			// Each partition's log ends where the consumer got to.
			ends := &flakyEnds{hwm: fixedEnds{}}
			for _, o := range e.Offsets() {
				ends.hwm[ingest.Partition{Topic: o.Topic, Partition: o.Partition}] = o.Offset + 1
			}
			tt.unread(ends)
			e.in.SetEnds(ends)
			last := time.Now()
			silence := func(from, to time.Duration) {
				for d := from; d <= to; d += time.Second {
					if err := e.tick(ctx, last.Add(d), 0); err != nil {
						t.Fatal(err)
					}
					e.in.Await()
				}
			}
			written := func() bool {
				for _, r := range sink.rows {
					if r.Bucket.Equal(lastBucket) {
						return true
					}
				}
				return false
			}
			silence(time.Second, 10*time.Minute)
			if written() {
				t.Fatalf("closed the last bucket after ten minutes of silence (closed up to %s)", e.window.Closed())
			}
			tt.readable(ends)
			silence(10*time.Minute+time.Second, 20*time.Minute)
			if !written() {
				t.Fatalf("the last bucket did not close once nothing was unread (closed up to %s)", e.window.Closed())
			}
		})
	}
}

// flakyEnds answers HighWaterMarks from hwm, or fails with err.
type flakyEnds struct {
	hwm fixedEnds
	err error
}

func (f *flakyEnds) HighWaterMarks(ctx context.Context, parts []ingest.Partition) (map[ingest.Partition]int64, error) {
	if f.err != nil {
		return nil, f.err
	}
	return f.hwm.HighWaterMarks(ctx, parts)
}

// fixedEnds answers HighWaterMarks from a map.
type fixedEnds map[ingest.Partition]int64

func (f fixedEnds) HighWaterMarks(_ context.Context, parts []ingest.Partition) (map[ingest.Partition]int64, error) {
	out := make(map[ingest.Partition]int64, len(parts))
	for _, p := range parts {
		out[p] = f[p]
	}
	return out, nil
}
