//go:build integration

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/config"
	"github.com/trendwatch/trendwatch/internal/testenv"
	"github.com/trendwatch/trendwatch/pipeline"
	"github.com/trendwatch/trendwatch/sim/broker"
	"github.com/trendwatch/trendwatch/sim/gen"
	chsink "github.com/trendwatch/trendwatch/sinks/clickhouse"
)

// watermarkObserver lets the test wait for event time to pass a point.
type watermarkObserver struct {
	mu     sync.Mutex
	last   time.Time
	alerts []alert.Event
}

func (o *watermarkObserver) Bucket(r *pipeline.BucketReport) {
	o.mu.Lock()
	o.last = r.Start
	o.mu.Unlock()
}

func (o *watermarkObserver) Alert(ev alert.Event) {
	o.mu.Lock()
	o.alerts = append(o.alerts, ev)
	o.mu.Unlock()
}

func (o *watermarkObserver) reached() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last
}

// waitAndStop waits until the pipeline has closed the bucket of last, then
// stops it and checks it ended cleanly.
func (o *watermarkObserver) waitAndStop(ctx context.Context, t *testing.T, last time.Time, ran <-chan error, stop func()) {
	t.Helper()
	for o.reached().Before(last) {
		select {
		case err := <-ran:
			t.Fatalf("pipeline stopped early: %v", err)
		case <-ctx.Done():
			t.Fatalf("pipeline reached only %s, want %s", o.reached(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
	stop()
	if err := <-ran; err != nil {
		t.Fatalf("pipeline: %v", err)
	}
}

// TestPipelineEndToEnd runs gen → embedded broker → kafka-go consumer group →
// sketches → detectors → ClickHouse, and checks with SQL against the real
// server that every injected surge alerted on the right term and that the slow
// trend and the daily peak did not.
func TestPipelineEndToEnd(t *testing.T) {
	chAddr := testenv.ClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}

	bcfg := broker.DefaultConfig()
	bcfg.Listen = "127.0.0.1:0"
	b, err := broker.Start(bcfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	gc := gen.DefaultConfig()
	gc.Seed = 11
	gc.Duration = 3 * time.Hour
	gc.Speedup = 0
	gc.Rate = 20 // scenarios keep their strength below the default rate of 50
	gc.Start = time.Now().UTC().Add(-gc.Duration).Truncate(time.Hour)
	gr, err := gen.New(gc)
	if err != nil {
		t.Fatal(err)
	}
	labels := gr.Labels()

	cfg := config.Default()
	cfg.Kafka.Brokers = []string{b.Addr()}
	cfg.Kafka.Group = "e2e"
	cfg.Sinks = []string{"clickhouse"}
	cfg.ClickHouse.Addr = []string{chAddr}
	cfg.ClickHouse.Database = fmt.Sprintf("tw_e2e_%d", time.Now().UnixNano())
	cfg.Checkpoint.Dir = t.TempDir()
	cfg.Metrics.Listen = ""
	cfg.Pipeline.CommitInterval = 2 * time.Second
	cfg.Pipeline.IdleAdvance = time.Second
	cfg.Detectors.Watchlist.Terms = gen.DefaultWatchlist()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := chsink.Migrate(ctx, cfg.ClickHouse, log); err != nil {
		t.Fatal(err)
	}

	produced := make(chan error, 1)
	go func() { produced <- genToKafka(ctx, gr, &cfg, io.Discard) }()

	var last time.Time
	for _, l := range labels {
		if l.ShouldAlert && l.End.After(last) {
			last = l.End
		}
	}
	obs := &watermarkObserver{}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- runPipeline(runCtx, &cfg, log, false, []pipeline.Observer{obs}) }()

	if err := <-produced; err != nil {
		t.Fatalf("produce: %v", err)
	}
	t.Logf("produced %s of event time; waiting for the pipeline to pass %s", gc.Duration, last.Format(time.RFC3339))
	// The stream's last minutes close only on the idle clock; every scenario
	// ends before them.
	if limit := gc.Start.Add(gc.Duration).Add(-5 * time.Minute); last.After(limit) {
		last = limit
	}
	obs.waitAndStop(ctx, t, last, ran, stop)

	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{chAddr}, Auth: clickhouse.Auth{Database: cfg.ClickHouse.Database}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	alerted := map[string][]string{}
	rows, err := conn.Query(ctx, "SELECT term, detector FROM alerts FINAL ORDER BY term")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var term, det string
		if err := rows.Scan(&term, &det); err != nil {
			t.Fatal(err)
		}
		alerted[term] = append(alerted[term], det)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, l := range labels {
		got := alerted[l.Term]
		switch {
		case l.ShouldAlert && len(got) == 0:
			t.Errorf("%s: no alert in ClickHouse on %s", l.Scenario, l.Term)
		case !l.ShouldAlert && len(got) > 0:
			t.Errorf("%s: %s must not alert, ClickHouse has %v", l.Scenario, l.Term, got)
		default:
			t.Logf("%s %s: alerts %v", l.Scenario, l.Term, got)
		}
	}
	// Precision: alerts on terms no scenario names. A background term can
	// surge by chance, so one is tolerated; more means the detectors are noisy.
	labelled := map[string]bool{}
	for _, l := range labels {
		labelled[l.Term] = true
	}
	var stray []string
	for term := range alerted {
		if !labelled[term] {
			stray = append(stray, term)
		}
	}
	if len(stray) > 1 {
		t.Errorf("alerts on %d terms no scenario names: %v", len(stray), stray)
	}
	var minutes uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM term_history").Scan(&minutes); err != nil {
		t.Fatal(err)
	}
	if minutes == 0 {
		t.Error("term_history is empty")
	}
	t.Logf("term_history rows: %d; alerts seen by the observer: %d", minutes, len(obs.alerts))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
