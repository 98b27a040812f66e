//go:build integration

package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/trendwatch/trendwatch/config"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/pipeline"
	"github.com/trendwatch/trendwatch/sim/broker"
)

// pageReceiver is an incident webhook endpoint that notes when the first
// page (alert.opened) for each term arrived.
type pageReceiver struct {
	mu    sync.Mutex
	first map[string]time.Time
	early map[string]bool
}

func (p *pageReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	var msg struct {
		Type string `json:"type"`
		Data struct {
			Term  string `json:"term"`
			Early bool   `json:"early"`
		} `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&msg); err == nil && msg.Type == "alert.opened" {
		p.mu.Lock()
		if _, ok := p.first[msg.Data.Term]; !ok {
			p.first[msg.Data.Term], p.early[msg.Data.Term] = now, msg.Data.Early
		}
		p.mu.Unlock()
	}
	w.WriteHeader(http.StatusNoContent)
}

func (p *pageReceiver) paged(term string) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	at, ok := p.first[term]
	return at, ok && p.early[term]
}

// TestEarlyPageLive is the live measurement with early firing, in real
// time: the embedded broker (four partitions, so event time is the slowest
// one's), the consumer group, the engine at the default bucket (1 minute) and
// allowed lateness (2 minutes), and the incident webhook, all as `trendwatch
// run` wires them. After half an hour of history, 10 posts a second stream
// in; then one hashtag surges tenfold (5% of posts to 50%) and another
// threefold (10% to 30%). Latency is from the first surging post to the
// webhook's receipt of the page: the 10x surge must page within 30 s, the 3x
// one within a bucket and 15 s; without early firing both would take over
// three minutes. Both terms are watched: the watchlist judges a surge's first
// bucket whole, where the surge detector waits for a second bucket to confirm
// a first one (pipeline's TestEarlyFiring measures that path in event time).
// The onset falls 2 s into a bucket (event time runs a fixed offset behind
// the clock), where a 3x surge has the least of its first bucket to show; the
// test takes about a minute.
func TestEarlyPageLive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
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

	recv := &pageReceiver{first: map[string]time.Time{}, early: map[string]bool{}}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}

	cfg := config.Default()
	cfg.Kafka.Brokers = []string{b.Addr()}
	cfg.Kafka.Group = "early-live"
	cfg.Sinks = []string{"parquet"}
	cfg.Parquet.Dir = t.TempDir()
	cfg.Checkpoint.Dir = t.TempDir()
	cfg.Metrics.Listen = ""
	cfg.Incident.Enabled = true
	cfg.Incident.Kind = "webhook"
	cfg.Incident.URL = srv.URL
	cfg.Incident.AllowedSchemes = []string{"http"}
	cfg.Incident.AllowedHosts = []string{"127.0.0.1"}
	cfg.Incident.Secret = "whsec_" + base64.StdEncoding.EncodeToString(secret)
	cfg.Incident.MinSeverity = "info"
	cfg.Detectors.Watchlist.Terms = []string{"hashtag:tenfold", "hashtag:threefold"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}

	const (
		rate   = 10 // posts a second
		warm   = 2 * time.Second
		phase  = 2 * time.Second // of the onset into its bucket
		tenX   = "hashtag:tenfold"
		threeX = "hashtag:threefold"
	)
	// Event time runs delta behind the clock, delta chosen once history is
	// written so that the onset falls phase into a bucket.
	histEnd := time.Now().Add(-2 * time.Minute).Truncate(time.Minute).Add(phase - warm)
	w, err := cfg.Kafka.NewWriter("")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rng := mrand.New(mrand.NewPCG(5, 9))
	seq := 0
	post := func(ts time.Time, surging bool) kafka.Message {
		seq++
		tags := []string{fmt.Sprintf("background%d", rng.IntN(20))}
		pA, pB := 0.05, 0.10
		if surging {
			pA, pB = 0.5, 0.3
		}
		if rng.Float64() < pA {
			tags = append(tags, "tenfold")
		}
		if rng.Float64() < pB {
			tags = append(tags, "threefold")
		}
		creator := fmt.Sprint("u", rng.IntN(100_000))
		v, _ := json.Marshal(event.Content{EventID: fmt.Sprint("e", seq), TS: ts.UTC(), ContentID: fmt.Sprint("c", seq),
			CreatorID: creator, Region: "NP", Lang: "ne", Hashtags: tags})
		return kafka.Message{Topic: cfg.Kafka.Topics.Content, Key: []byte(creator), Value: v}
	}
	var hist []kafka.Message
	for ts := histEnd.Add(-30 * time.Minute); ts.Before(histEnd); ts = ts.Add(time.Second / rate) {
		hist = append(hist, post(ts, false))
	}
	if err := w.WriteMessages(ctx, hist...); err != nil {
		t.Fatal(err)
	}

	obs := &watermarkObserver{}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- runPipeline(runCtx, &cfg, log, false, []pipeline.Observer{obs}) }()
	defer func() {
		stop()
		if err := <-ran; err != nil {
			t.Errorf("pipeline: %v", err)
		}
	}()
	// The history is counted (all but its last, still open buckets) before
	// the live stream starts, so that start-up is not part of the latency.
	for obs.reached().Before(histEnd.Add(-4 * time.Minute)) {
		select {
		case err := <-ran:
			t.Fatalf("pipeline stopped: %v", err)
		case <-ctx.Done():
			t.Fatalf("history not counted: reached %s", obs.reached())
		case <-time.After(100 * time.Millisecond):
		}
	}

	delta := time.Since(histEnd)
	onset := histEnd.Add(delta + warm) // wall clock
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	var lat10, lat3 time.Duration
	for lat10 == 0 || lat3 == 0 {
		select {
		case err := <-ran:
			t.Fatalf("pipeline stopped: %v", err)
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case now := <-tick.C:
			if err := w.WriteMessages(ctx, post(now.Add(-delta), !now.Before(onset))); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			term string
			lat  *time.Duration
		}{{tenX, &lat10}, {threeX, &lat3}} {
			if at, early := recv.paged(c.term); !at.IsZero() && *c.lat == 0 {
				if at.Before(onset) {
					t.Fatalf("%s paged %s before the onset", c.term, onset.Sub(at))
				}
				*c.lat = at.Sub(onset)
				t.Logf("%s paged %.1f s after onset (early %v)", c.term, c.lat.Seconds(), early)
				if !early {
					t.Errorf("%s: page not marked early", c.term)
				}
			}
		}
		if time.Since(onset) > time.Minute+45*time.Second {
			break
		}
	}
	if lat10 == 0 || lat10 > 30*time.Second {
		t.Errorf("10x surge paged after %v, want within 30 s (0: not by %s)", lat10, time.Since(onset).Round(time.Second))
	}
	if lat3 == 0 || lat3 > time.Minute+15*time.Second {
		t.Errorf("3x surge paged after %v, want within 75 s (0: not by %s)", lat3, time.Since(onset).Round(time.Second))
	}
}
