package incident

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	deliveries *prometheus.CounterVec // by result: delivered, rejected, exhausted
	attempts   *prometheus.CounterVec // by outcome: 2xx, 3xx, 4xx, 5xx, timeout, error
	latency    prometheus.Histogram   // one HTTP attempt
	delay      prometheus.Histogram   // enqueue to delivered
	outbox     prometheus.Gauge
	open       prometheus.Gauge       // kind alertmanager: alerts re-sent while open
	dropped    *prometheus.CounterVec // by reason: outbox_full, open_full
	skipped    *prometheus.CounterVec // by reason: severity, rate_limited, replay, not_triggered, invalid
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trendwatch_incident_deliveries_total",
			Help: "Alert transitions finished, by result: delivered, rejected (a 4xx other than 408/429, not retried) or exhausted (incident.max_attempts reached).",
		}, []string{"result"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trendwatch_incident_attempts_total",
			Help: "HTTP requests to the incident endpoint, by outcome: status class, timeout or error.",
		}, []string{"outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "trendwatch_incident_request_duration_seconds",
			Help:    "Duration of one HTTP request to the incident endpoint.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 10),
		}),
		delay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "trendwatch_incident_delivery_delay_seconds",
			Help:    "Time from enqueueing an alert transition to its delivery, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.01, 3, 12),
		}),
		outbox: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trendwatch_incident_outbox_size",
			Help: "Alert transitions waiting for delivery.",
		}),
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trendwatch_incident_open_alerts",
			Help: "Open alerts re-sent to Alertmanager every incident.resend_interval (kind alertmanager).",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trendwatch_incident_dropped_total",
			Help: "Alert transitions dropped undelivered (outbox_full; superseded: another process took the state over), and open alerts no longer re-sent for incident.max_open (open_full).",
		}, []string{"reason"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trendwatch_incident_skipped_total",
			Help: "Alert transitions not sent by choice, by reason: severity (below incident.min_severity), rate_limited (incident.per_term_interval), replay, not_triggered (resolve of an alert that opened no incident), invalid.",
		}, []string{"reason"}),
	}
	// Every series exists from the start, so a rate() over it is defined before
	// the first event of its kind.
	for _, r := range []string{resultDelivered, resultRejected, resultExhausted} {
		m.deliveries.WithLabelValues(r)
	}
	for _, o := range []string{"2xx", "3xx", "4xx", "5xx", outcomeTimeout, outcomeError} {
		m.attempts.WithLabelValues(o)
	}
	for _, r := range []string{skipSeverity, skipRateLimited, skipReplay, skipNotTriggered, skipInvalid} {
		m.skipped.WithLabelValues(r)
	}
	m.dropped.WithLabelValues(reasonOutboxFull)
	m.dropped.WithLabelValues(reasonOpenFull)
	m.dropped.WithLabelValues(reasonSuperseded)
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.deliveries, m.attempts, m.latency, m.delay, m.outbox, m.open, m.dropped, m.skipped} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register incident notifier metrics: %w", err)
		}
	}
	return m, nil
}
