package backtest_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/pipeline"
	"github.com/trendwatch/trendwatch/sim/backtest"
	"github.com/trendwatch/trendwatch/sim/gen"
	"github.com/trendwatch/trendwatch/sketches"
	"github.com/trendwatch/trendwatch/trend"
)

// shortGenerator is two hours of the generator's platform at 20 posts a
// second, every scenario in it, from seed.
func shortGenerator(t *testing.T, seed int64) *gen.Generator {
	t.Helper()
	cfg := gen.DefaultConfig()
	cfg.Seed = seed
	cfg.Duration = 2 * time.Hour
	cfg.Rate = 20
	cfg.Start = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	g, err := gen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// rowSink keeps the rows, alert transitions and intake it is given.
type rowSink struct {
	rows   []trend.Minute
	alerts []alert.Event
	intake []trend.Intake
}

func (s *rowSink) WriteIntake(_ context.Context, in trend.Intake) error {
	s.intake = append(s.intake, in)
	return nil
}

func (s *rowSink) WriteMinutes(_ context.Context, rows []trend.Minute) error {
	s.rows = append(s.rows, rows...)
	return nil
}

func (s *rowSink) WriteAlerts(_ context.Context, evs []alert.Event) error {
	s.alerts = append(s.alerts, evs...)
	return nil
}

func (s *rowSink) Flush(context.Context) error { return nil }
func (s *rowSink) Close() error                { return nil }

// TestShardsSameAsOne runs one generated stream (every scenario, families,
// reports through the join) through one process and through the processes
// of 1 of 2 and of 3 shards, and wants the shards' rows and alerts together
// to be the single process's: each (term, bucket) row written by exactly one
// shard with the same counts, and the same alert transitions. The one
// number a shard cannot know is the platform's mentions per creator, a median
// over every tracked term; each shard takes it over its own, which moves the
// coordination norm a little and is left out of the comparison (the
// alerts' explanations).
func TestShardsSameAsOne(t *testing.T) {
	g := shortGenerator(t, 7)
	var stream bytes.Buffer
	for m, ok := g.Next(); ok; m, ok = g.Next() {
		stream.Write(m.Value)
		stream.WriteByte('\n')
	}
	run := func(shard, shards int) *rowSink {
		t.Helper()
		sink := &rowSink{}
		pcfg := pipeline.DefaultConfig()
		pcfg.Shard, pcfg.Shards = shard, shards
		limits := event.DefaultLimits()
		limits.MaxAge, limits.MaxFuture = 0, 0
		// Watched terms are tracked from the start, by their shard only.
		dcfg := detectors.DefaultConfig()
		dcfg.Watchlist.Terms = gen.DefaultWatchlist()
		if _, err := backtest.Run(context.Background(), backtest.Config{
			Pipeline: pcfg, Window: sketches.DefaultWindowConfig(), Detectors: dcfg,
			Limits: limits, Sinks: []pipeline.Sink{sink},
		}, bytes.NewReader(stream.Bytes())); err != nil {
			t.Fatalf("shard %d of %d: %v", shard, shards, err)
		}
		return sink
	}
	one := run(0, 1)
	wantRows, wantAlerts := rowsByKey(one.rows), alertTransitions(one.alerts)
	if len(wantRows) < 1000 || len(wantAlerts) < 10 {
		t.Fatalf("the stream made %d rows and %d alert transitions; want a real test", len(wantRows), len(wantAlerts))
	}
	wantIntake := intakeByBucket(one.intake)
	var events uint64
	for _, in := range one.intake {
		events += in.Events
	}
	if len(one.intake) == 0 || events == 0 {
		t.Fatalf("one process wrote %d intake rows counting %d events", len(one.intake), events)
	}
	for _, shards := range []int{2, 3} {
		gotRows := map[string]string{}
		var gotAlerts []string
		for shard := range shards {
			s := run(shard, shards)
			if len(s.rows) == 0 {
				t.Errorf("shard %d of %d wrote no rows", shard, shards)
			}
			for k, r := range rowsByKey(s.rows) {
				if _, dup := gotRows[k]; dup {
					t.Errorf("%d shards: row %s written by two shards", shards, k)
				}
				gotRows[k] = r
			}
			gotAlerts = append(gotAlerts, alertTransitions(s.alerts)...)
			// Every shard reads the whole stream; the first alone writes
			// the intake, the same as one process's.
			switch got := intakeByBucket(s.intake); {
			case shard == 0 && !maps.Equal(got, wantIntake):
				t.Errorf("shard 0 of %d: intake of %d buckets differs from one process's %d", shards, len(got), len(wantIntake))
			case shard > 0 && len(got) > 0:
				t.Errorf("shard %d of %d wrote the intake of %d buckets", shard, shards, len(got))
			}
		}
		slices.Sort(gotAlerts)
		diff := 0
		for k, want := range wantRows {
			if got := gotRows[k]; got != want {
				if diff++; diff <= 5 {
					t.Errorf("%d shards: row %s\n got %s\nwant %s", shards, k, got, want)
				}
			}
		}
		for k := range gotRows {
			if _, ok := wantRows[k]; !ok {
				if diff++; diff <= 5 {
					t.Errorf("%d shards: row %s not written by one process", shards, k)
				}
			}
		}
		if diff > 0 {
			t.Errorf("%d shards: %d of %d rows differ", shards, diff, len(wantRows))
		}
		if !slices.Equal(gotAlerts, wantAlerts) {
			t.Errorf("%d shards: %d alert transitions, one process %d; first difference: %s", shards, len(gotAlerts), len(wantAlerts), firstDiff(gotAlerts, wantAlerts))
		}
	}
}

// intakeByBucket keys intake rows by bucket, without their version.
func intakeByBucket(ins []trend.Intake) map[string]trend.Intake {
	out := make(map[string]trend.Intake, len(ins))
	for _, in := range ins {
		in.Version = 0
		out[in.Bucket.Format(time.RFC3339)] = in
	}
	return out
}

// rowsByKey keys rows by term and bucket, keeping the last write of each
// (as ReplacingMergeTree does) without its version.
func rowsByKey(rows []trend.Minute) map[string]string {
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		r.Version = 0
		out[r.Term+"@"+r.Bucket.Format(time.RFC3339)] = fmt.Sprintf("%+v", r)
	}
	return out
}

// alertTransitions describes each transition by what pages and what an
// incident manager reads, sorted.
func alertTransitions(evs []alert.Event) []string {
	out := make([]string, 0, len(evs))
	for _, ev := range evs {
		a := ev.Alert
		out = append(out, strings.Join([]string{a.Key, string(ev.From), string(ev.To), ev.At.Format(time.RFC3339),
			fmt.Sprint(ev.Seq), a.Severity.String(), fmt.Sprintf("%.6g/%.6g", a.Observed, a.Expected), ev.Reason, a.Summary}, " "))
	}
	slices.Sort(out)
	return out
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("\n got %s\nwant %s", a[i], b[i])
		}
	}
	return "one is a prefix of the other"
}
