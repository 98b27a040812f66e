//go:build integration

package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/config"
	"github.com/trendwatch/trendwatch/pipeline"
	"github.com/trendwatch/trendwatch/sim/broker"
	"github.com/trendwatch/trendwatch/sim/gen"
)

// TestKcatFeedsThePipeline feeds the embedded broker with kcat, a third-party
// Kafka client, and checks that the pipeline alerts on what it was fed: the
// broker speaks the real protocol, not something only our own client accepts.
func TestKcatFeedsThePipeline(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("kcat not found; `make test` installs it (apt-get install kcat)")
		}
		t.Skip("kcat not found")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	bcfg := broker.DefaultConfig()
	bcfg.Listen = "127.0.0.1:0"
	b, err := broker.Start(bcfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	gc := gen.DefaultConfig()
	gc.Seed = 5
	gc.Rate = 10
	gc.Duration = 2 * time.Hour
	gc.Speedup = 0
	gc.Start = time.Now().UTC().Add(-gc.Duration).Truncate(time.Hour)
	gr, err := gen.New(gc)
	if err != nil {
		t.Fatal(err)
	}
	var content, reports bytes.Buffer
	for {
		m, ok := gr.Next()
		if !ok {
			break
		}
		w := &content
		if m.Topic == gen.Report {
			w = &reports
		}
		w.Write(m.Value)
		w.WriteByte('\n')
	}
	dir := t.TempDir()
	for topic, buf := range map[string]*bytes.Buffer{"content-events": &content, "report-events": &reports} {
		path := filepath.Join(dir, topic+".jsonl")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(ctx, kcat, "-P", "-b", b.Addr(), "-t", topic, "-l", path)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kcat -P -t %s: %v\n%s", topic, err, out)
		}
	}
	// kcat also reads back what it wrote: the broker serves a foreign consumer.
	out, err := exec.CommandContext(ctx, kcat, "-C", "-b", b.Addr(), "-t", "report-events", "-e", "-q", "-c", "1").Output()
	if err != nil || !bytes.Contains(out, []byte(`"reporter_id"`)) {
		t.Fatalf("kcat -C: %v: %q", err, out)
	}

	cfg := config.Default()
	cfg.Kafka.Brokers = []string{b.Addr()}
	cfg.Kafka.Group = "kcat-test"
	cfg.Sinks = []string{"parquet"}
	cfg.Parquet.Dir = filepath.Join(dir, "data")
	cfg.Checkpoint.Dir = filepath.Join(dir, "checkpoint")
	cfg.Metrics.Listen = ""
	cfg.Pipeline.CommitInterval = 2 * time.Second
	cfg.Pipeline.IdleAdvance = time.Second
	cfg.Detectors.Watchlist.Terms = gen.DefaultWatchlist()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var want []string
	var last time.Time
	for _, l := range gr.Labels() {
		if l.ShouldAlert {
			want = append(want, l.Term)
			if l.End.After(last) {
				last = l.End
			}
		}
	}
	obs := &watermarkObserver{}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- runPipeline(runCtx, &cfg, log, false, []pipeline.Observer{obs}) }()
	// The stream's last minutes close only on the idle clock; every scenario
	// ends before them.
	if limit := gc.Start.Add(gc.Duration).Add(-5 * time.Minute); last.After(limit) {
		last = limit
	}
	obs.waitAndStop(ctx, t, last, ran, stop)
	opened := map[string]bool{}
	obs.mu.Lock()
	for _, ev := range obs.alerts {
		if ev.From == "" {
			opened[ev.Alert.Term] = true
		}
	}
	obs.mu.Unlock()
	for _, term := range want {
		if !opened[term] {
			t.Errorf("no alert on %s, fed through kcat", term)
		}
	}
	files, _ := filepath.Glob(filepath.Join(cfg.Parquet.Dir, "alert_events", "*", "*", "*.parquet"))
	if len(files) == 0 {
		t.Error("no alert_events Parquet file written")
	}
	t.Logf("kcat fed %d content and %d report bytes; alerts opened on %d terms; %d alert files", content.Len(), reports.Len(), len(opened), len(files))
}
