#!/bin/sh
# What xunchad's durable commits write: starts a fresh xunchad on a
# temporary store, runs `create` at INFLIGHT calls in flight, traces the
# writer thread's page writes and flushes with strace for SECONDS, kills
# xunchad with SIGKILL (so the last traced commit is the newest snapshot in
# data.mdb) and prints, through bench/commit_pages.py, the pages per commit,
# their discontiguous runs, the fdatasync and meta-write times, and which
# database each page of the last commit belongs to. Needs strace, and
# permission to trace (ptrace) a child process.
#
#   bench/commit-pages.sh BUILD_DIR [INFLIGHT] [SECONDS]
#   bench/commit-pages.sh build 1 2
set -eu

[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [INFLIGHT] [SECONDS]" >&2; exit 2; }
BUILD=$1; INFLIGHT=${2:-1}; SECONDS_TRACED=${3:-2}
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/bench/bench-lib.sh"
bench_build "$BUILD"
command -v strace >/dev/null || { echo "strace is not installed" >&2; exit 2; }

bench_scratch pages
start_server "$TMP/data"
bench() {
  "$BENCH" run --server "127.0.0.1:$PORT" --ca "$C/ca.pem" --cert "$C/city.pem" \
    --key "$C/city.key" --connections 4 --inflight "$INFLIGHT" --rounds 1 --no-health \
    --duration "$1" create >"$TMP/bench.txt" 2>&1
}
# A store that has seen some traffic first, as a real one has.
bench 3
WRITER=
for t in /proc/"$SERVER_PID"/task/*; do
  [ "$(cat "$t/comm")" = xc-writer ] && WRITER=$(basename "$t")
done
[ -n "$WRITER" ] || { echo "no xc-writer thread in xunchad" >&2; exit 1; }
strace -T -p "$WRITER" -e trace=pwrite64,pwritev,writev,lseek,fdatasync \
  -o "$TMP/strace.txt" 2>/dev/null &
STRACE_PID=$!
sleep 0.5
bench "$SECONDS_TRACED"
# Once the writer is idle, so that no commit is cut in half: the last
# complete commit in the trace is then the newest snapshot in data.mdb.
sleep 0.2
kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
wait "$STRACE_PID" 2>/dev/null || true; STRACE_PID=
echo "create at $INFLIGHT in flight, $SECONDS_TRACED s traced:"
python3 "$SRC/bench/commit_pages.py" "$TMP/data/data.mdb" "$TMP/strace.txt"
