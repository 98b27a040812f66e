//go:build integration

package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"
)

// TestPeerStage runs make bench's two ClickHouse rows on a small backlog with
// the test server (scripts/clickhouse.sh, as make bench does): ClickHouse's
// Kafka engine and trendwatch with its ClickHouse sink each count the whole
// backlog the generator produced. The -short run leaves this stage out, so a
// break in it (one waited out its deadline for a while) went unseen by CI.
func TestPeerStage(t *testing.T) {
	t.Chdir("../..") // the script's place, where make bench runs
	if _, err := clickhouseScript(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const asked = 20_000
	st, err := startStream(ctx, config{events: asked, sample: 100}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	p, err := measurePeer(ctx, st, asked)
	if err != nil || p.skipped != "" {
		t.Fatalf("peer stage: %v %s", err, p.skipped)
	}
	if p.messages <= 0 || p.messages > asked || p.events <= 0 || p.events > p.messages || p.mentions < p.events {
		t.Fatalf("backlog of %d messages, %d content events, %d mentions (asked %d)", p.messages, p.events, p.mentions, asked)
	}
	if p.ch.Events != p.events || !(p.ch.Seconds > 0) {
		t.Errorf("the peer counted %d content events in %.2f s, want the backlog's %d", p.ch.Events, p.ch.Seconds, p.events)
	}
	// The readiness marks stand in the topic before the backlog, stamped
	// before it: trendwatch reads them too (and its row fails when more than
	// 1 % of what it read came late, as all of the backlog did while they
	// were stamped at the clock).
	if p.marks <= 0 || p.tw.Events != p.messages+p.marks || !(p.tw.Seconds > 0) {
		t.Errorf("trendwatch took %d records in %.2f s, want the backlog's %d and %d marks", p.tw.Events, p.tw.Seconds, p.messages, p.marks)
	}
	t.Logf("backlog %d messages: peer %.0f content events/s, trendwatch %.0f", p.messages, p.ch.rate(), float64(p.events)/p.tw.Seconds)
}
