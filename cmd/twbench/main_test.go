package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary be its own child, as the command is.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(childMain())
	}
	os.Exit(m.Run())
}

// TestShortRun runs make bench's -short mode, smaller still: every row is
// measured and the table written. It proves the harness works, in seconds;
// the figures mean nothing.
func TestShortRun(t *testing.T) {
	cfg := config{cpus: "1,all", out: filepath.Join(t.TempDir(), "bench.md"), timeout: 2 * time.Minute}
	cfg.shorten()
	cfg.events, cfg.sample, cfg.benchtime = 4000, 1000, 10*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, cfg, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	md, err := os.ReadFile(cfg.out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"decode + validate + normalise", "normalise a hashtag", "engine per content event",
		"kafka-go group Reader alone", "Kafka → detectors, 1 core", "two stages: 4 aggregate process(es)", "one of 2 detect shards, reading its relay", "peak RSS through the 4000-event replay", "load average"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(string(md), " 0 events/s") {
		t.Errorf("a Kafka run measured nothing:\n%s", md)
	}
}
