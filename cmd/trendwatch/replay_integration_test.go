//go:build integration

package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/trendwatch/trendwatch/config"
	"github.com/trendwatch/trendwatch/pipeline"
	"github.com/trendwatch/trendwatch/sim/broker"
	"github.com/trendwatch/trendwatch/sim/gen"
)

// syncBuffer is a log destination two goroutines may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestReplayOfOldEvents plays two-week-old events through the embedded broker.
// With the defaults every event is refused as too old, and the log says so
// and names the fix, although the stream stops before the minute is over;
// with --replay the same stream is counted to its last minute, which closes on
// pipeline.idle_close after the stream goes quiet.
func TestReplayOfOldEvents(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(&syncBuffer{}, nil))
	bcfg := broker.DefaultConfig()
	bcfg.Listen = "127.0.0.1:0"
	b, err := broker.Start(bcfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	gc := gen.DefaultConfig()
	gc.Seed = 3
	gc.Rate = 5
	gc.Duration = 20 * time.Minute
	gc.Speedup = 0
	gc.Start = time.Now().UTC().Add(-14 * 24 * time.Hour).Truncate(time.Hour)
	gr, err := gen.New(gc)
	if err != nil {
		t.Fatal(err)
	}
	base := config.Default()
	base.Kafka.Brokers = []string{b.Addr()}
	w, err := base.Kafka.NewWriter("")
	if err != nil {
		t.Fatal(err)
	}
	var msgs []kafka.Message
	for {
		m, ok := gr.Next()
		if !ok {
			break
		}
		topic := base.Kafka.Topics.Content
		if m.Topic == gen.Report {
			topic = base.Kafka.Topics.Reports
		}
		msgs = append(msgs, kafka.Message{Topic: topic, Key: append([]byte(nil), m.Key...), Value: append([]byte(nil), m.Value...)})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	w.Close()

	run := func(name string, replay bool, until func(logged string, obs *watermarkObserver) bool) string {
		t.Helper()
		dir := t.TempDir()
		cfg := base
		cfg.Kafka.Group = "replay-test-" + name
		cfg.Sinks = []string{"parquet"}
		cfg.Parquet.Dir = filepath.Join(dir, "data")
		cfg.Checkpoint.Dir = filepath.Join(dir, "checkpoint")
		cfg.Metrics.Listen = ""
		cfg.Pipeline.CommitInterval = time.Second
		cfg.Pipeline.IdleClose = 3 * time.Second
		var logged syncBuffer
		log := slog.New(slog.NewTextHandler(&logged, nil))
		if replay {
			applyReplay(&cfg, log)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		obs := &watermarkObserver{}
		runCtx, stop := context.WithCancel(ctx)
		ran := make(chan error, 1)
		go func() { ran <- runPipeline(runCtx, &cfg, log, replay, []pipeline.Observer{obs}) }()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for !until(logged.String(), obs) {
			select {
			case err := <-ran:
				t.Fatalf("%s: the pipeline stopped early: %v\n%s", name, err, logged.String())
			case <-ctx.Done():
				stop()
				t.Fatalf("%s: timed out; log:\n%s", name, logged.String())
			case <-tick.C:
			}
		}
		stop()
		if err := <-ran; err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return logged.String()
	}

	out := run("defaults", false, func(logged string, _ *watermarkObserver) bool {
		return strings.Contains(logged, "refused as ts_too_old")
	})
	for _, want := range []string{"100 % of events refused as ts_too_old", "event times around " + gc.Start.Format(time.DateOnly), "--replay", "claimed the pipeline's state"} {
		if !strings.Contains(out, want) {
			t.Errorf("the refusal warning does not say %q:\n%s", want, out)
		}
	}

	last := gc.Start.Add(gc.Duration - time.Minute)
	out = run("replay", true, func(_ string, obs *watermarkObserver) bool { return !obs.reached().Before(last) })
	if strings.Contains(out, "refused as") {
		t.Errorf("a replay refused events:\n%s", out)
	}
	// Its rows replace the live run's of the same minutes, and it fences no one.
	if !strings.Contains(out, "replay: no epoch claimed") || strings.Contains(out, "claimed the pipeline's state") {
		t.Errorf("a replay claimed an epoch, or did not say it writes with the largest:\n%s", out)
	}
}
