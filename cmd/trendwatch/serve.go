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

// health is what /healthz reports, updated by the pipeline as buckets close.
type health struct {
	last atomic.Pointer[healthState]
}

type healthState struct {
	Status     string    `json:"status"`
	Watermark  time.Time `json:"watermark"`
	LastBucket time.Time `json:"last_bucket"`
	Tracked    int       `json:"tracked_terms"`
	WindowMiB  float64   `json:"window_mib"`
	Late       uint64    `json:"late_events"`
	Invalid    uint64    `json:"invalid_messages"`
	CheckedAt  time.Time `json:"updated_at"`
}

func (h *health) Bucket(r *pipeline.BucketReport) {
	h.last.Store(&healthState{Status: "ok", LastBucket: r.Start, Watermark: r.Start, Tracked: r.Tracked,
		WindowMiB: r.WindowMiB, Late: r.Late, Invalid: r.Invalid, CheckedAt: time.Now()})
}

func (h *health) Alert(alert.Event) {}

func (h *health) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	st := h.last.Load()
	if st == nil {
		st = &healthState{Status: "starting", CheckedAt: time.Now()}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(st)
}

// serveOps serves /metrics and /healthz on addr until ctx ends. Loopback by
// default: metrics are for the host's own scraper unless an operator says otherwise.
func serveOps(ctx context.Context, addr string, reg *prometheus.Registry, h *health, log *slog.Logger) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.Handle("/healthz", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
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
	log.Info("serving /metrics and /healthz", "addr", ln.Addr().String())
	return nil
}
