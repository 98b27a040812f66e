// Package faults proves trendwatch's delivery semantics against real processes:
// the trendwatch binary, its embedded Kafka-protocol broker and a ClickHouse
// server. Its tests (build tag integration, run by `make test`) kill, stop and
// restart each of them mid-stream and compare what lands in ClickHouse with the
// generator's own counts, feed every kind of bad input, and check that secrets
// stay out of logs and metrics. The package holds no code of its own.
package faults
