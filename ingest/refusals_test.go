package ingest

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/trendwatch/trendwatch/event"
)

func TestRefusalLog(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	old := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	type batch struct {
		n      int
		reason event.Reason
		ts     time.Time
	}
	tests := []struct {
		name    string
		batches []batch // one period's messages
		want    []string
	}{
		{"replay of old events", []batch{{98, event.ReasonTSTooOld, old}, {2, "", time.Time{}}},
			[]string{"98 % of events refused as ts_too_old, event times around 2026-11-20; replaying history? set kafka.limits.max_age=0 or run with --replay", "refused=98 events=100"}},
		{"event times over days", []batch{{40, event.ReasonTSTooOld, old}, {40, event.ReasonTSTooOld, old.Add(-72 * time.Hour)}},
			[]string{"100 % of events refused as ts_too_old, event times from 2026-11-17 to 2026-11-20"}},
		{"clocks ahead", []batch{{60, event.ReasonTSFuture, t0.Add(48 * time.Hour)}, {40, "", time.Time{}}},
			[]string{"60 % of events refused as ts_in_future, event times around 2026-12-06", "kafka.limits.max_future"}},
		{"schema mismatch", []batch{{90, event.ReasonMissingField, time.Time{}}, {10, "", time.Time{}}},
			[]string{"90 % of events refused as missing_field; the producers' messages do not match the schema; see the dead-letter topic dlq"}},
		{"half is not most", []batch{{50, event.ReasonTSTooOld, old}, {50, "", time.Time{}}}, nil},
		{"mixed reasons, none most", []batch{{40, event.ReasonTSTooOld, old}, {40, event.ReasonMissingField, time.Time{}}, {20, "", time.Time{}}}, nil},
		{"a trickle", []batch{{5, event.ReasonTSTooOld, old}}, nil},
		{"all good", []batch{{1000, "", time.Time{}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			r := newRefusalLog(slog.New(slog.NewTextHandler(&buf, nil)), time.Minute, "dlq")
			now := t0
			for _, b := range tt.batches {
				for range b.n {
					now = now.Add(100 * time.Millisecond)
					ts := time.Time{}
					if r.wantTS(b.reason) {
						ts = b.ts
					}
					r.observe(now, b.reason, ts)
				}
			}
			if buf.Len() != 0 {
				t.Fatalf("logged before the minute was over:\n%s", buf.String())
			}
			r.observe(t0.Add(time.Minute+time.Second), "", time.Time{}) // the next minute's first message
			out := buf.String()
			if len(tt.want) == 0 && out != "" {
				t.Errorf("logged %q, want nothing", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("log %q does not say %q", out, w)
				}
			}
			if n := strings.Count(out, "\n"); n > 1 {
				t.Errorf("%d lines for one minute, want at most one", n)
			}
		})
	}
}

// TestConsumerSaysWhyEverythingIsRefused decodes a replay of two-week-old
// events through the consumer's own decode path, on a fake clock.
func TestConsumerSaysWhyEverythingIsRefused(t *testing.T) {
	cfg := DefaultConfig()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	m := newMetrics(nil, cfg)
	c := newConsumer(cfg, log, nil, newDeadLetter(nil, log, m), m)
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	c.dec.Now, c.lenient.Now = clock, clock
	old := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	ctx := context.Background()
	for i := range 200 {
		ts := old.Add(time.Duration(i) * time.Second)
		if i%50 == 0 {
			ts = now // a few live events among the replay
		}
		rec := c.decode(ctx, kafka.Message{Topic: cfg.Topics.Content, Offset: int64(i), Value: contentJSON(i, ts, "tag")})
		if (rec.Kind == KindInvalid) != (i%50 != 0) {
			t.Fatalf("message %d: kind %d", i, rec.Kind)
		}
		now = now.Add(250 * time.Millisecond)
	}
	// 200 messages in 50s; the 241st is the first of the next minute.
	for i := 200; i <= 240; i++ {
		c.decode(ctx, kafka.Message{Topic: cfg.Topics.Content, Offset: int64(i), Value: contentJSON(i, now, "tag")})
		now = now.Add(250 * time.Millisecond)
	}
	out := buf.String()
	// 196 of 240 refused: 81.7 %.
	want := "82 % of events refused as ts_too_old, event times around 2026-11-20; replaying history? set kafka.limits.max_age=0 or run with --replay"
	if !strings.Contains(out, want) || strings.Count(out, "level=WARN") != 1 {
		t.Errorf("log:\n%s\nwant one WARN saying %q", out, want)
	}
}

// TestRefusalLogTick: a period whose messages were mostly refused is reported
// by the ticker once it has ended, though no message comes after it (a replay
// read to its end), and only once.
func TestRefusalLogTick(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	r := newRefusalLog(slog.New(slog.NewTextHandler(&buf, nil)), time.Minute, "dlq")
	for i := range 50 {
		r.observe(t0.Add(time.Duration(i)*100*time.Millisecond), event.ReasonTSTooOld, time.Time{})
	}
	r.tick(t0.Add(30 * time.Second))
	if buf.Len() != 0 {
		t.Fatalf("logged before the minute was over:\n%s", buf.String())
	}
	r.tick(t0.Add(61 * time.Second))
	r.tick(t0.Add(200 * time.Second))
	if out := buf.String(); !strings.Contains(out, "100 % of events refused as ts_too_old") || strings.Count(out, "\n") != 1 {
		t.Errorf("log %q, want one line saying 100 %% refused as ts_too_old", out)
	}
}
