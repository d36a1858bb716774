#!/bin/sh
# Server and load-generator CPU per call: starts a fresh xunchad on a
# temporary store, runs one xuncha-bench workload against it and prints
# calls/s, p50, and the CPU time (user + system) of xunchad and of the bench
# divided by the calls served. On a shared machine calls/s moves with other
# processes' load; CPU per call moves much less, so compare builds with it
# (run them alternately). The CPU counts from the server's start, so the
# bench's seeding and warm-up are included; DURATION of 5 s or more keeps
# that small.
#
#   bench/cpu-per-call.sh BUILD_DIR INFLIGHT DURATION WORKLOAD [xunchad args...]
#   bench/cpu-per-call.sh build 64 5 create
set -eu

[ $# -ge 4 ] || { echo "usage: $0 BUILD_DIR INFLIGHT DURATION WORKLOAD [xunchad args...]" >&2; exit 2; }
BUILD=$1; INFLIGHT=$2; DURATION=$3; WORKLOAD=$4; shift 4
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/bench/bench-lib.sh"
bench_build "$BUILD"

bench_scratch cpu
start_server "$TMP/data" "$@"
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
s0=$(ticks "$SERVER_PID")
t0=$(awk '{print $1}' /proc/uptime)
"$BENCH" run --server "127.0.0.1:$PORT" --ca "$C/ca.pem" --cert "$C/city.pem" \
  --key "$C/city.key" --connections 4 --inflight "$INFLIGHT" --duration "$DURATION" \
  --no-health --rounds 1 --json "$TMP/r.json" "$WORKLOAD" >"$TMP/bench.txt" 2>&1 &
BENCH_PID=$!
# The bench's own CPU, read just before it exits (it is our child).
b=0
while kill -0 "$BENCH_PID" 2>/dev/null; do
  b=$(ticks "$BENCH_PID" 2>/dev/null || echo "$b")
  sleep 0.2
done
wait "$BENCH_PID" || { cat "$TMP/bench.txt" >&2; exit 1; }
s1=$(ticks "$SERVER_PID")
t1=$(awk '{print $1}' /proc/uptime)
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=
HZ=$(getconf CLK_TCK)
python3 - "$TMP/r.json" "$s0" "$s1" "$b" "$HZ" "$t0" "$t1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s0, s1, b, hz = (int(float(x)) for x in sys.argv[2:6])
wall = float(sys.argv[7]) - float(sys.argv[6])
res = r["results"][0]
# Calls served over the whole server life: the measured window's rate times
# the wall time (seeding and warm-up run at about the same rate).
calls = res["calls_per_s"] * wall
print("%s@%d: %.0f calls/s  p50 %.2f ms  server %.0f%% CPU = %.1f us/call  "
      "bench %.0f%% = %.1f us/call" % (
          res["workload"], res["inflight"], res["calls_per_s"], res["p50_us"] / 1000,
          100.0 * (s1 - s0) / hz / wall, (s1 - s0) / hz / calls * 1e6,
          100.0 * b / hz / wall, b / hz / calls * 1e6))
PY
