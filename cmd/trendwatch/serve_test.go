package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/config"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline"
)

// TestHealthEndpoints serves /healthz and /readyz with the real mux through
// each state the engine can report.
func TestHealthEndpoints(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	diskFull := errors.New("checkpoint: write /data/.state-1.tmp: read-only file system")
	type want struct {
		code   int
		status string
		reason string
	}
	tests := []struct {
		name     string
		status   *pipeline.Status // nil: the engine has not reported yet
		assigned bool
		standby  bool
		now      time.Time
		healthz  want
		readyz   want
	}{
		{name: "starting", now: t0,
			healthz: want{200, "starting", ""}, readyz: want{503, "not ready", "assign"}},
		{name: "standby", standby: true, now: t0,
			healthz: want{200, "standby", "another instance holds the consumer group"}, readyz: want{503, "not ready", "another instance holds the consumer group"}},
		{name: "partitions not assigned", status: &pipeline.Status{LastCommit: t0, Ready: true}, now: t0,
			healthz: want{200, "ok", ""}, readyz: want{503, "not ready", "assign"}},
		{name: "start-up hold", status: &pipeline.Status{LastCommit: t0}, assigned: true, now: t0,
			healthz: want{200, "starting", ""}, readyz: want{503, "not ready", "hold"}},
		{name: "ready", status: &pipeline.Status{LastCommit: t0, Ready: true}, assigned: true, now: t0.Add(5 * time.Second),
			healthz: want{200, "ok", ""}, readyz: want{200, "ready", ""}},
		{name: "checkpoint failing 30s", status: &pipeline.Status{LastCommit: t0, Ready: true, CommitErr: diskFull}, assigned: true, now: t0.Add(30 * time.Second),
			healthz: want{200, "ok", ""}, readyz: want{200, "ready", ""}},
		{name: "checkpoint failing 2m", status: &pipeline.Status{LastCommit: t0, Ready: true, CommitErr: diskFull}, assigned: true, now: t0.Add(2 * time.Minute),
			healthz: want{503, "unhealthy", "read-only file system"}, readyz: want{503, "unhealthy", "read-only file system"}},
		{name: "engine stuck", status: &pipeline.Status{LastCommit: t0, Ready: true}, assigned: true, now: t0.Add(10 * time.Minute),
			healthz: want{503, "unhealthy", "stuck"}, readyz: want{503, "unhealthy", "stuck"}},
		{name: "lag growing 6m", status: &pipeline.Status{LastCommit: t0.Add(6 * time.Minute), Ready: true, Lag: 50000, LagFrom: 100,
			LagGrowing: t0, LagRose: t0.Add(6 * time.Minute)}, assigned: true, now: t0.Add(6 * time.Minute),
			healthz: want{503, "unhealthy", "lag grew from 100 to 50000"}, readyz: want{503, "unhealthy", "pipeline.max_lag_growth"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHealth(pipeline.DefaultConfig())
			h.now = func() time.Time { return tt.now }
			assigned := func() bool { return tt.assigned }
			h.assigned.Store(&assigned)
			h.standby.Store(tt.standby)
			if tt.status != nil {
				h.Status(*tt.status)
			}
			srv := httptest.NewServer(opsMux(newRegistry(), h))
			defer srv.Close()
			for path, w := range map[string]want{"/healthz": tt.healthz, "/readyz": tt.readyz} {
				resp, err := http.Get(srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				var body healthState
				err = json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				if err != nil {
					t.Fatalf("%s: decode: %v", path, err)
				}
				if resp.StatusCode != w.code || body.Status != w.status || !strings.Contains(body.Reason, w.reason) || (w.reason == "" && body.Reason != "") {
					t.Errorf("%s: %d %q %q; want %d %q with reason %q", path, resp.StatusCode, body.Status, body.Reason, w.code, w.status, w.reason)
				}
			}
		})
	}
}

// TestReadyStaysReady: readiness is about start-up; once ready, a new hold
// (a rebalance) does not take the instance out of rotation, a failure does.
func TestReadyStaysReady(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	h := newHealth(pipeline.DefaultConfig())
	h.now = func() time.Time { return t0 }
	rr := httptest.NewRecorder()
	h.Status(pipeline.Status{LastCommit: t0, Ready: true})
	h.readyz(rr, httptest.NewRequest("GET", "/readyz", nil))
	if rr.Code != 200 {
		t.Fatalf("ready: %d %s", rr.Code, rr.Body)
	}
	h.Status(pipeline.Status{LastCommit: t0})
	rr = httptest.NewRecorder()
	h.readyz(rr, httptest.NewRequest("GET", "/readyz", nil))
	if rr.Code != 200 {
		t.Errorf("after a new hold: %d %s", rr.Code, rr.Body)
	}
}

// TestHealthNamesShard: a process of a sharded pipeline says which shard it
// is; one judging every term says nothing of shards.
func TestHealthNamesShard(t *testing.T) {
	for _, tt := range []struct {
		shard, shards int
		want          string
	}{{0, 1, ""}, {2, 3, "shard-2-of-3"}} {
		cfg := pipeline.DefaultConfig()
		cfg.Shard, cfg.Shards = tt.shard, tt.shards
		rr := httptest.NewRecorder()
		newHealth(cfg).ServeHTTP(rr, httptest.NewRequest("GET", "/healthz", nil))
		var body map[string]any
		if err := json.Unmarshal(rr.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		got, ok := body["shard"]
		if tt.want == "" && ok || tt.want != "" && got != tt.want {
			t.Errorf("shard %d of %d: /healthz says shard %v (present %v), want %q", tt.shard, tt.shards, got, ok, tt.want)
		}
	}
}

// TestRunExitsWhenNoBrokerAnswers: brokers that never answer end start-up
// after kafka.startup_timeout with an error naming them, instead of
// "starting" for ever.
func TestRunExitsWhenNoBrokerAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused

	cfg := config.Default()
	cfg.Kafka.Brokers = []string{dead}
	cfg.Kafka.StartupTimeout = 500 * time.Millisecond
	cfg.Metrics.Listen = ""
	cfg.Sinks = []string{"parquet"}
	cfg.Parquet.Dir = t.TempDir()
	cfg.Checkpoint.Dir = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	began := time.Now()
	err = runPipeline(ctx, &cfg, slog.New(slog.DiscardHandler), false, nil)
	took := time.Since(began)
	if err == nil || !strings.Contains(err.Error(), dead) || !strings.Contains(err.Error(), "kafka.startup_timeout") {
		t.Fatalf("runPipeline: %v; want an error naming %s and kafka.startup_timeout", err, dead)
	}
	if took > 10*time.Second {
		t.Errorf("gave up after %s, want about kafka.startup_timeout (500ms)", took)
	}
	t.Logf("%s: %v", took.Round(time.Millisecond), err)
}

func TestReplaySetsWhatAReplayNeeds(t *testing.T) {
	cfg := config.Default()
	cfg.Kafka.StartOffset = "latest"
	cfg.Incident.Enabled = true
	applyReplay(&cfg, slog.New(slog.DiscardHandler))
	if cfg.Kafka.Limits.MaxAge != 0 || cfg.Kafka.Limits.MaxFuture != 0 || cfg.Kafka.StartOffset != "earliest" || cfg.Incident.Enabled {
		t.Errorf("after --replay: max_age %v, max_future %v, start_offset %s, incident %v",
			cfg.Kafka.Limits.MaxAge, cfg.Kafka.Limits.MaxFuture, cfg.Kafka.StartOffset, cfg.Incident.Enabled)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("replay configuration does not validate: %v", err)
	}
	var help strings.Builder
	root := newRoot()
	root.SetOut(&help)
	root.SetArgs([]string{"run", "--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"--replay", "kafka.limits.max_age=0", "incident.enabled=false"} {
		if !strings.Contains(help.String(), w) {
			t.Errorf("run --help does not mention %s", w)
		}
	}
}

// roFS is a checkpoint directory that has turned read-only.
type roFS struct{}

func (roFS) Stage(func(io.Writer) error) error {
	return errors.New("checkpoint: create temp in /data: open /data/.state-1.tmp: read-only file system")
}

func (roFS) Commit() (int, error) { return 0, errors.New("checkpoint: nothing staged to commit") }

// TestHealthzWithRunningEngine wires a running engine whose every checkpoint
// fails to the real handler, as `trendwatch run` does, and waits for
// /healthz to turn 503 with the reason; bounds are scaled down to keep the
// wait short.
func TestHealthzWithRunningEngine(t *testing.T) {
	cfg := config.Default()
	cfg.Pipeline.CommitInterval = 100 * time.Millisecond
	cfg.Pipeline.MaxCommitFailure = 300 * time.Millisecond
	h := newHealth(cfg.Pipeline)
	eng, err := pipeline.New(cfg.Pipeline, cfg.Window, cfg.Detectors, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	eng.AddObserver(h)
	srv := httptest.NewServer(opsMux(newRegistry(), h))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	in := make(chan ingest.Record)
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx, in, nil, roFS{}) }()
	defer func() {
		cancel()
		<-done
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		var body healthState
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		// On a loaded machine the handler may judge the engine before the
		// first failed round is reported ("stuck", no error): that is 503
		// too, and the reason follows.
		if resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(body.Reason, "read-only file system") {
			t.Logf("503: %s", body.Reason)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz %d %q %q after 15s of failing checkpoints", resp.StatusCode, body.Status, body.Reason)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
