package parquet

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	rows         *prometheus.CounterVec
	files        *prometheus.CounterVec
	bytes        *prometheus.CounterVec
	buffered     *prometheus.GaugeVec
	errors       *prometheus.CounterVec
	compactions  *prometheus.CounterVec
	flushSeconds prometheus.Histogram
}

// newMetrics registers with reg; a nil reg keeps the metrics unregistered.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trendwatch_parquet_rows_written_total",
			Help: "Rows written to durable Parquet part files.",
		}, []string{"table"}),
		files: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trendwatch_parquet_files_written_total",
			Help: "Parquet part files written.",
		}, []string{"table"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trendwatch_parquet_bytes_written_total",
			Help: "Bytes of Parquet part files written.",
		}, []string{"table"}),
		buffered: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "trendwatch_parquet_buffered_rows",
			Help: "Rows in memory waiting for the next Flush.",
		}, []string{"table"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trendwatch_parquet_write_errors_total",
			Help: "Part files that could not be written; their rows stay buffered.",
		}, []string{"table"}),
		compactions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trendwatch_parquet_compactions_total",
			Help: "Compactions of complete partitions, by result (ok, error; busy: a pass left for the next flush, another process holding the dataset's compaction lock).",
		}, []string{"table", "result"}),
		flushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "trendwatch_parquet_flush_duration_seconds",
			Help:    "Time to write the buffered rows of all partitions.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.rows, m.files, m.bytes, m.buffered, m.errors, m.compactions, m.flushSeconds} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register parquet sink metrics: %w", err)
		}
	}
	return m, nil
}
