package clickhouse

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	rowsWritten   *prometheus.CounterVec
	flushDuration prometheus.Histogram
	flushErrors   *prometheus.CounterVec
	retries       *prometheus.CounterVec
	queuedRows    prometheus.Gauge
	blocked       prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		rowsWritten: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trendwatch_clickhouse_rows_written_total",
			Help: "Rows ClickHouse acknowledged, by table.",
		}, []string{"table"}),
		flushDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "trendwatch_clickhouse_flush_duration_seconds",
			Help: "Time from starting a flush to every row of it being acknowledged, retries included.",
			// 5ms to ~40s: a healthy insert is tens of milliseconds, an outage is
			// bounded by max_retry_delay between attempts.
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
		flushErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trendwatch_clickhouse_flush_errors_total",
			Help: "Failed INSERT attempts, by table and kind (transient: retried; permanent: the sink stops).",
		}, []string{"table", "kind"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trendwatch_clickhouse_retries_total",
			Help: "INSERT attempts after a transient failure, by table.",
		}, []string{"table"}),
		queuedRows: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trendwatch_clickhouse_queued_rows",
			Help: "Rows accepted but not yet acknowledged by ClickHouse.",
		}),
		blocked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trendwatch_clickhouse_write_blocked_seconds_total",
			Help: "Time writers spent blocked on a full queue (backpressure).",
		}),
	}
	for _, t := range []string{"trend_minute", "alerts", "alert_events", "ingest_stats"} {
		m.rowsWritten.WithLabelValues(t)
		m.retries.WithLabelValues(t)
		m.flushErrors.WithLabelValues(t, "transient")
		m.flushErrors.WithLabelValues(t, "permanent")
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.rowsWritten, m.flushDuration, m.flushErrors, m.retries, m.queuedRows, m.blocked} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
