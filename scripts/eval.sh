#!/usr/bin/env bash
# make eval: one evaluation of the detectors for every change, on the NAB corpus
# in ../shared/data/nab (53 files), the generator's scenarios over 10 seeds, the
# re-surge scenario and a surge back the next evening, trending against non-trending synthetic topics, and the
# synthetic stand-in for NAB's tweets. Prints one markdown table of the headline
# numbers, then each test's own table, and writes both to eval.md.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
out=${EVAL_OUT:-eval.md}
log=$(mktemp -t trendwatch-eval.XXXXXX)
trap 'rm -f "$log"' EXIT

run() { # name, env, go test args...
	local name=$1 env=$2
	shift 2
	echo "== $name" >&2
	local began=$SECONDS
	env $env $GO test -count=1 -timeout 20m -v "$@" >>"$log" 2>&1 || { cat "$log" >&2; echo "eval: $name failed" >&2; exit 1; }
	echo "   $((SECONDS - began)) s" >&2
}
run "NAB corpus and realTweets" "" -run '^(TestCorpus|TestRealTweets|TestRealTweetsFirstDays|TestCorpusFirstDays)$' ./bench/nab/
run "reference: EWMA z-score on realTweets" "TRENDWATCH_EVAL_REFERENCE=1" -run '^TestReferenceDetectors$' ./bench/nab/
run "synthetic NAB stand-in, 4 seeds" "TRENDWATCH_SYNTH_SEEDS=4" -run '^TestSynthetic$' ./bench/nab/
run "generator scenarios, 10 seeds" "TRENDWATCH_GEN_SEEDS=10" -run '^TestGeneratorScenarios$' ./sim/backtest/
run "re-surge and topics" "TRENDWATCH_TOPICS=100" -run '^(TestResurge|TestSurgeBackNextEvening|TestTopics|TestTopicsHarder|TestTopicsWatched|TestTopicsCascades|TestTopicsFirstDay)$' ./detectors/

{
	echo "## Detection quality ($(date -u +%Y-%m-%d), $(git rev-parse --short HEAD 2>/dev/null || echo unknown))"
	echo
	echo "| evaluation | result | detail |"
	echo "|---|---|---|"
	grep -o 'EVAL | .*' "$log" | sed 's/^EVAL //'
	echo
	echo "### Details"
	echo
	grep -E '^\s+(\||[a-z_]+_test\.go:[0-9]+: [0-9]+ (files|seed))' "$log" | grep -v 'EVAL |' | sed -E 's/^\s+//; s/^[a-z_]+_test\.go:[0-9]+: //'
} | tee "$out"
