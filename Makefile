# make test: unit, fuzz-seed and integration tests against a real ClickHouse server
# (installed from Debian when missing) and modern ClickHouse through chDB.
GO ?= go

.PHONY: test unit lint bench build eval

test:
	./scripts/test.sh

unit:
	$(GO) test ./...

lint:
	gofmt -l . | (! grep .)
	$(GO) vet ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./sketches/ ./event/ ./bench/

build:
	$(GO) build -o bin/trendwatch ./cmd/trendwatch

# Detection quality on the NAB corpus (../shared), generator scenarios,
# re-surge and topics: one table, written to eval.md (about 5 minutes).
eval:
	./scripts/eval.sh
