package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/pipeline"
)

func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// health answers /healthz (liveness) and /readyz (readiness) from what the
// engine reports: buckets as they close, and its Status once a second. The
// verdict is reached on the handler's own clock, so an engine that stopped
// reporting is judged by how long it has gone without a commit.
type health struct {
	cfg      pipeline.Config
	now      func() time.Time
	assigned atomic.Pointer[func() bool] // the consumer group assigned this member its partitions
	last     atomic.Pointer[healthState]
	status   atomic.Pointer[pipeline.Status]
	ready    atomic.Bool // sticky: readiness is about start-up
	// standby is set while another instance holds the consumer group and
	// this one waits to take over (kafka.standby).
	standby atomic.Bool
}

func newHealth(cfg pipeline.Config) *health {
	return &health{cfg: cfg, now: time.Now}
}

type healthState struct {
	Status     string    `json:"status"`
	Reason     string    `json:"reason,omitempty"`
	Watermark  time.Time `json:"watermark"`
	LastBucket time.Time `json:"last_bucket"`
	Tracked    int       `json:"tracked_terms"`
	WindowMiB  float64   `json:"window_mib"`
	Late       uint64    `json:"late_events"`
	Invalid    uint64    `json:"invalid_messages"`
	LastCommit time.Time `json:"last_commit,omitzero"`
	Lag        int64     `json:"lag_messages"`
	// Shard names the terms this process judges ("shard-1-of-3"); absent
	// when it judges them all.
	Shard     string    `json:"shard,omitempty"`
	CheckedAt time.Time `json:"updated_at"`
}

func (h *health) Bucket(r *pipeline.BucketReport) {
	h.last.Store(&healthState{Status: "ok", LastBucket: r.Start, Watermark: r.Start, Tracked: r.Tracked,
		WindowMiB: r.WindowMiB, Late: r.Late, Invalid: r.Invalid})
}

func (h *health) Alert(alert.Event) {}

func (h *health) Status(s pipeline.Status) { h.status.Store(&s) }

// state is the body both endpoints answer with, and whether the process is
// alive and well.
func (h *health) state() (*healthState, bool) {
	st := healthState{Status: "starting", Lag: -1}
	if last := h.last.Load(); last != nil {
		st = *last
	}
	st.CheckedAt, st.Shard = h.now(), h.cfg.ShardName()
	if h.standby.Load() {
		// Alive and waiting: nothing to judge until it owns the partitions.
		st.Status, st.Reason = "standby", "another instance holds the consumer group; this one takes over when it leaves"
		return &st, true
	}
	s := h.status.Load()
	if s == nil {
		// Start-up is bounded by kafka.startup_timeout, not by this check.
		return &st, true
	}
	st.LastCommit, st.Lag = s.LastCommit, s.Lag
	if st.Status == "starting" && s.Ready {
		st.Status = "ok"
	}
	if reason := s.Unhealthy(st.CheckedAt, h.cfg); reason != "" {
		st.Status, st.Reason = "unhealthy", reason
		return &st, false
	}
	return &st, true
}

// ServeHTTP answers /healthz: 503 with the reason when commits have failed
// for longer than pipeline.max_commit_failure or lag has grown for longer
// than pipeline.max_lag_growth, else 200.
func (h *health) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	st, ok := h.state()
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, st)
}

// readyz answers 200 once the group has assigned the partitions and the
// start-up hold is over, and while the process is healthy; 503 with the
// reason otherwise.
func (h *health) readyz(w http.ResponseWriter, _ *http.Request) {
	st, ok := h.state()
	if ok && !h.ready.Load() {
		s := h.status.Load()
		switch {
		case h.standby.Load():
			// st.Reason says so already.
		case !h.partitionsAssigned():
			st.Reason = "waiting for the consumer group to assign partitions"
		case s == nil || !s.Ready:
			st.Reason = "start-up hold: waiting for every assigned partition to deliver or stay silent for pipeline.partition_idle"
		default:
			h.ready.Store(true)
		}
		if !h.ready.Load() {
			st.Status, ok = "not ready", false
		}
	}
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	} else {
		st.Status = "ready"
	}
	writeJSON(w, code, st)
}

func (h *health) partitionsAssigned() bool {
	f := h.assigned.Load()
	return f == nil || (*f)()
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func opsMux(reg *prometheus.Registry, h *health) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.Handle("/healthz", h)
	mux.HandleFunc("/readyz", h.readyz)
	return mux
}

// serveOps serves /metrics, /healthz and /readyz on addr until ctx ends. Loopback by
// default: metrics are for the host's own scraper unless an operator says otherwise.
func serveOps(ctx context.Context, addr string, reg *prometheus.Registry, h *health, log *slog.Logger) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: opsMux(reg, h), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	log.Info("serving /metrics, /healthz and /readyz", "addr", ln.Addr().String())
	return nil
}
