# make test: unit, fuzz-seed and integration tests against a real ClickHouse server
# (installed from Debian when missing) and modern ClickHouse through chDB.
GO ?= go

.PHONY: test unit race lint bench bench-micro build eval

test:
	./scripts/test.sh

unit:
	$(GO) test ./...

# The race detector over the unit tests, and over the integration tests of the
# packages whose goroutines share state (the engine's run loop, the consumer's
# decoders, the sinks' flushers, the notifier): about 11 minutes on 2 cores.
# make test runs the quick part of it (scripts/test.sh). The integration half
# needs make test's servers: TRENDWATCH_TEST_CLICKHOUSE and
# TRENDWATCH_TEST_CHDB, as scripts/test.sh sets.
race:
	$(GO) test -race -timeout 30m ./...
	$(GO) test -race -timeout 30m -tags integration ./pipeline/ ./ingest/ ./sinks/... ./alert/ ./incident/

# staticcheck at a pinned version, fetched by the go command on first use.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	gofmt -l . | (! grep .)
	$(GO) vet ./...
	$(GO) vet -tags integration ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) run $(STATICCHECK) -tags integration ./...

# make bench: one generated stream of 1M messages; decode, normalise and engine
# cost per event, Kafka → detectors at 1, 2, 4, 8 and all cores, peak RSS, and
# the ClickHouse Kafka-engine peer where clickhouse-server is installed, and the
# live measurement (16 surges in real time: onset to trendwatch's page, the term
# watched or not, and to the peer's polled spike query); prints the table and
# writes it to bench.md (about 10 minutes, 7 of them the live run; -live 0 skips
# it). BENCH_FLAGS=-short proves it
# works in seconds (go test ./cmd/twbench does too); bench-micro runs the
# package benchmarks.
BENCH_FLAGS ?=
bench:
	$(GO) run ./cmd/twbench $(BENCH_FLAGS)

bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem ./sketches/ ./event/ ./ingest/ ./pipeline/... ./internal/hashtable/ ./bench/

build:
	$(GO) build -o bin/trendwatch ./cmd/trendwatch

# Detection quality on the NAB corpus (../shared), generator scenarios,
# re-surge and topics: one table, written to eval.md (about 5 minutes).
eval:
	./scripts/eval.sh
