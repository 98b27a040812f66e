package gen

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// recorder keeps what Run produced and flags any message sent before the wall
// clock allowed it.
type recorder struct {
	mu      sync.Mutex
	began   time.Time
	start   time.Time
	speedup float64
	msgs    []ownedMessage
	calls   int
	early   int
	maxSize int
	fail    error // returned from the second call on
}

func (r *recorder) Produce(_ context.Context, msgs []Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail != nil && r.calls > 1 {
		return r.fail
	}
	allowed := r.start.Add(time.Duration(float64(time.Since(r.began)) * r.speedup))
	r.maxSize = max(r.maxSize, len(msgs))
	for _, m := range msgs {
		if r.speedup > 0 && m.TS.After(allowed) {
			r.early++
		}
		r.msgs = append(r.msgs, ownedMessage{m.Topic, bytes.Clone(m.Key), bytes.Clone(m.Value), m.TS})
	}
	return nil
}

func TestRun(t *testing.T) {
	tests := []struct {
		name      string
		speedup   float64
		d         time.Duration
		maxWall   time.Duration // generous: the machine is shared
		minCalls  int
		wantTicks bool // expect progress before the end
	}{
		{"hours in a minute", 3600, time.Minute, time.Second, 1, false},
		{"paced", 50, time.Minute, 3 * time.Second, 20, true},
		{"unpaced", 0, 10 * time.Minute, 5 * time.Second, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(9, tt.d, 50)
			cfg.Scenarios = nil
			cfg.Speedup = tt.speedup
			want := drain(mustNew(t, cfg))
			g := mustNew(t, cfg)
			rec := &recorder{began: time.Now(), start: cfg.Start, speedup: tt.speedup}
			var progress []Progress
			err := g.Run(context.Background(), rec, func(p Progress) { progress = append(progress, p) })
			elapsed := time.Since(rec.began)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if len(rec.msgs) != len(want) {
				t.Fatalf("produced %d messages, Next gives %d", len(rec.msgs), len(want))
			}
			for i := range want {
				if !bytes.Equal(rec.msgs[i].value, want[i].value) || !bytes.Equal(rec.msgs[i].key, want[i].key) || rec.msgs[i].topic != want[i].topic {
					t.Fatalf("message %d: produced %s, Next gives %s", i, rec.msgs[i].value, want[i].value)
				}
			}
			t.Logf("%d messages in %d Produce calls, %v", len(want), rec.calls, elapsed)
			if rec.early > 0 {
				t.Errorf("%d messages produced before their event time was due", rec.early)
			}
			if tt.speedup > 0 {
				minWall := time.Duration(float64(want[len(want)-1].ts.Sub(cfg.Start)) / tt.speedup)
				if elapsed < minWall || elapsed > minWall+tt.maxWall {
					t.Errorf("took %v, want %v plus at most %v", elapsed, minWall, tt.maxWall)
				}
			} else if elapsed > tt.maxWall {
				t.Errorf("unpaced run of %d messages took %v", len(want), elapsed)
			}
			if rec.calls < tt.minCalls || rec.maxSize > runBatch {
				t.Errorf("%d Produce calls of at most %d messages; want >= %d calls of <= %d", rec.calls, rec.maxSize, tt.minCalls, runBatch)
			}
			last := progress[len(progress)-1]
			var content, reports int64
			for _, m := range want {
				if m.topic == Content {
					content++
				} else {
					reports++
				}
			}
			if !last.Done || last.Content != content || last.Reports != reports || !last.EventTime.Equal(want[len(want)-1].ts) {
				t.Errorf("last progress %+v, want done with %d content, %d reports at %s", last, content, reports, want[len(want)-1].ts)
			}
			if tt.wantTicks && (len(progress) < 2 || progress[0].Done || progress[0].Content == 0) {
				t.Errorf("progress %+v, want a report about once a second", progress)
			}
		})
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	cfg := testConfig(9, time.Hour, 50)
	cfg.Scenarios = nil
	cfg.Speedup = 1
	g := mustNew(t, cfg)
	rec := &recorder{began: time.Now(), start: cfg.Start, speedup: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := g.Run(ctx, rec, nil)
	if elapsed := time.Since(rec.began); !errors.Is(err, context.DeadlineExceeded) || elapsed > time.Second {
		t.Fatalf("Run returned %v after %v, want the context's error soon after 100ms", err, elapsed)
	}
	if len(rec.msgs) == 0 || len(rec.msgs) > 100 || rec.early > 0 {
		t.Errorf("produced %d messages (%d early) in 100ms at real time and 50/s", len(rec.msgs), rec.early)
	}
}

func TestRunProducerError(t *testing.T) {
	cfg := testConfig(9, 10*time.Minute, 50)
	cfg.Scenarios = nil
	broker := errors.New("broker down")
	rec := &recorder{began: time.Now(), start: cfg.Start, fail: broker}
	err := mustNew(t, cfg).Run(context.Background(), rec, nil)
	if !errors.Is(err, broker) {
		t.Fatalf("Run: %v, want it to wrap %v", err, broker)
	}
}

func BenchmarkRun(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Start = testStart
	cfg.Duration = 10 * time.Minute
	cfg.Scenarios = nil
	var n int64
	for b.Loop() {
		g := mustNew(b, cfg)
		if err := g.Run(context.Background(), discard{}, nil); err != nil {
			b.Fatal(err)
		}
		n += g.nContent + g.nReports
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

type discard struct{}

func (discard) Produce(context.Context, []Message) error { return nil }
