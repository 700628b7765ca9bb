#!/usr/bin/env bash
# Re-records the evaluation corpus of the change-point detector: real, short
# runs of perf-exporter's Fortio engine against the built-in target on this
# machine, so the series carry this machine's real run-to-run noise. Each run
# becomes one CSV line (OUT/NAME.csv): start time, outcome, p50, p90, p99,
# achieved requests per second, error ratio. The evaluation test injects
# changes of known size and position into these series.
#
#   changepoint/testdata/record.sh [RUNS_BASE] [RUNS_TAIL] [RUNS_ERRORS]
#
# DURATION is each run's length, OUT the folder, PORT the target's port
# (default 18089). Takes about DURATION + 0.3 s per run. The two corpora
# were recorded with
#   DURATION=1s OUT=changepoint/testdata/corpus-1s changepoint/testdata/record.sh 400 150 60
#   DURATION=3s OUT=changepoint/testdata/corpus-3s changepoint/testdata/record.sh 350 120 50
# and, with nothing else running on the machine,
#   DURATION=1s OUT=changepoint/testdata/corpus-1s-quiet PORT=18190 changepoint/testdata/record.sh 400 150 60
set -euo pipefail
cd "$(dirname "$0")/../.."
runs_base=${1:-400}
runs_tail=${2:-150}
runs_errors=${3:-60}
port=${PORT:-18089}
out=${OUT:-changepoint/testdata/corpus-3s}
duration=${DURATION:-3s}
work=$(mktemp -d)
trap 'kill "$target_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/perf-exporter" ./cmd/perf-exporter
"$work/perf-exporter" target --listen "127.0.0.1:$port" 2>/dev/null &
target_pid=$!
sleep 1
mkdir -p "$out"

# record NAME RUNS QUERY: RUNS runs of DURATION, 16 connections, as fast as they
# go (qps 0, so achieved_rps is judged too), against /echo?QUERY.
record() {
	local name=$1 runs=$2 query=$3 csv="$out/$1.csv"
	echo "start_time,outcome,p50,p90,p99,achieved_rps,error_ratio" >"$csv.tmp"
	for i in $(seq 1 "$runs"); do
		"$work/perf-exporter" run --url "http://127.0.0.1:$port/echo?$query" \
			--connections 16 --duration "$duration" --json "$work/run.json" >/dev/null 2>&1 || true
		jq -r '[.StartTime, .PerfExporter.Outcome,
			(.DurationHistogram.Percentiles[] | select(.Percentile == 50 or .Percentile == 90 or .Percentile == 99) | .Value),
			.ActualQPS, .PerfExporter.ErrorRatio] | @csv' "$work/run.json" | tr -d '"' >>"$csv.tmp"
	done
	mv "$csv.tmp" "$csv"
	echo "$csv: $runs runs"
}

# base: 20 ms per request, the shape of every injected series.
record base "$runs_base" "delay=20ms"
# heavy tail: 1 % of requests 30 times slower.
record heavytail "$runs_tail" "delay=20ms:99,600ms:1"
# errors: 2 % of requests answered 503, spliced after base runs for the
# error-ratio change 0 -> 2 %.
record errors "$runs_errors" "delay=20ms&status=200:98,503:2"
