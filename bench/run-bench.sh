#!/bin/sh
# Runs the figures of bench/README.md on this machine: one xuncha-bench run
# with every workload at 1 and 64 calls in flight against a fresh xunchad
# (RssAnon sampled meanwhile), then start-up time and disk use with a store
# of COUNT findings. Everything goes to a temporary directory that is removed
# at the end, except the JSON results (OUT, default ./bench-results.json).
#
#   bench/run-bench.sh [BUILD_DIR]       (default: build)
#   DURATION=10 COUNT=1000000 OUT=bench-results.json bench/run-bench.sh build
set -eu

BUILD=${1:-build}
DURATION=${DURATION:-10}
COUNT=${COUNT:-1000000}
OUT=${OUT:-bench-results.json}
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/bench/bench-lib.sh"
bench_build "$BUILD"

bench_scratch bench

stop_server() {
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=
}

echo "== workloads (RssAnon of xunchad sampled every second in $TMP/rss)"
start_server "$TMP/data"
( while kill -0 "$SERVER_PID" 2>/dev/null; do
    awk '/RssAnon/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null; sleep 1
  done ) > "$TMP/rss" &
"$BENCH" run --server "127.0.0.1:$PORT" --ca "$C/ca.pem" --cert "$C/city.pem" \
  --key "$C/city.key" --connections 4 --inflight 1,64 --duration "$DURATION" --json "$OUT"
sort -n "$TMP/rss" | awk 'NR==1 {min=$1} {max=$1} END {printf "xunchad RssAnon: %d..%d KiB\n", min, max}'
stop_server
"$BENCH" disk --data "$TMP/data" | tail -1

echo "== start-up with $COUNT findings stored"
"$BENCH" fill --data "$TMP/big" --count "$COUNT" --per-commit 1000 | tail -1
"$BENCH" disk --data "$TMP/big"
t0=$(date +%s%N)
start_server "$TMP/big"
t1=$(date +%s%N)
echo "start-up to serving: $(( (t1 - t0) / 1000000 )) ms"
stop_server
