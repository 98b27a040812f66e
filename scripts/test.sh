#!/usr/bin/env bash
# Runs every test: unit tests, then integration tests (build tag "integration")
# against a throwaway ClickHouse server on loopback, against chDB (modern
# ClickHouse embedded in a node package) and against Alertmanager. Installs what
# is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
work=$(mktemp -d -t trendwatch-test.XXXXXX)
port=$(( 20000 + RANDOM % 12000 )) # below the ephemeral range (32768+)
cleanup() {
	./scripts/clickhouse.sh stop "$work/clickhouse" || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "== lint"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; exit 1; fi
$GO vet ./...
$GO vet -tags integration ./...
# staticcheck at the version the Makefile pins, fetched by the go command.
staticcheck=$(sed -n 's/^STATICCHECK ?= //p' Makefile)
$GO run "$staticcheck" ./...
$GO run "$staticcheck" -tags integration ./...

# install CMD PACKAGE...: installs Debian's packages when CMD is missing.
install() {
	local cmd=$1
	shift
	command -v "$cmd" >/dev/null 2>&1 && return
	if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
	$sudo apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

echo "== kcat"
# A third-party Kafka client, to prove the embedded broker speaks the protocol.
install kcat kcat

echo "== Alertmanager"
# The real Alertmanager, for the incident sink's kind alertmanager; the test
# starts its own on a loopback port.
install prometheus-alertmanager prometheus-alertmanager

echo "== gcc"
# The race detector's step (the last) builds with cgo.
install gcc gcc

echo "== chromium"
# Headless Chromium draws the review pages, to prove they render without the
# network: charts drawn, numbers on the page, a hostile term left as text.
install chromium chromium

echo "== ClickHouse"
./scripts/clickhouse.sh start "$work/clickhouse" "$port"
export TRENDWATCH_TEST_CLICKHOUSE="127.0.0.1:$port"

echo "== chDB"
chdb_dir=${TRENDWATCH_CHDB_DIR:-$PWD/.cache/chdb}
if [ ! -d "$chdb_dir/node_modules/chdb" ]; then
	mkdir -p "$chdb_dir"
	npm install --silent --no-audit --no-fund --prefix "$chdb_dir" chdb@3 >/dev/null
fi
export TRENDWATCH_TEST_CHDB="$chdb_dir"

echo "== go test"
$GO test -tags integration -timeout 20m -count=1 ./...

echo "== go test -race"
# The race detector over the packages whose goroutines share state and whose
# tests run in seconds: the consumer's decoders and commits, the notifier,
# the incident sinks, the ClickHouse sink's flusher (about 40 s). `make race`
# runs it over everything (about 11 minutes).
# It needs cgo, so a C compiler (installed above).
$GO test -race -tags integration -timeout 10m -count=1 ./ingest/ ./alert/ ./incident/ ./sinks/clickhouse/
