#!/bin/sh
# Memory soak: starts a fresh xunchad on a temporary store, runs
# `xuncha-bench run --no-health --inflight 64 --duration DURATION mix`
# against it and every INTERVAL seconds prints the server's RssAnon
# (anonymous memory; LMDB's mapped file does not count) split by where it
# lives, from /proc/PID/smaps ("Anonymous:" per mapping, in KiB):
#   heap    glibc's main arena ([heap])
#   arenas  glibc's thread arenas (anonymous mappings on a 64 MiB boundary)
#   mapped  other anonymous mappings: blocks glibc maps whole, gRPC's, LMDB's
#   fibers  fiber stacks (256 KiB with a guard page below)
#   threads thread stacks (8 MiB with a guard page below)
#   files   private pages of mapped files (the libraries' data)
# The columns are read just after RssAnon, so they may differ from it by
# what changed meanwhile. See bench/README.md, "Memory".
#
#   bench/mem-soak.sh BUILD_DIR [DURATION [INTERVAL]]     (defaults 300 and 10)
set -eu

[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [DURATION [INTERVAL]]" >&2; exit 2; }
BUILD=$1; DURATION=${2:-300}; INTERVAL=${3:-10}
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/bench/bench-lib.sh"
bench_build "$BUILD"

bench_scratch mem
start_server "$TMP/data"

classify() {
  python3 - "$1" <<'PY'
import re, sys
maps, cur = [], None
for line in open("/proc/%s/smaps" % sys.argv[1]):
    m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$", line)
    if m:
        cur = {"start": int(m.group(1), 16), "end": int(m.group(2), 16),
               "perm": m.group(3), "path": m.group(4).strip(), "anon": 0}
        maps.append(cur)
    elif line.startswith("Anonymous:") and cur is not None:
        cur["anon"] = int(line.split()[1])
sums = dict.fromkeys(["heap", "arenas", "mapped", "fibers", "threads", "files"], 0)
for i, m in enumerate(maps):
    kib = (m["end"] - m["start"]) // 1024
    prev = maps[i - 1] if i > 0 else None
    guard = (prev is not None and prev["end"] == m["start"] and prev["perm"].startswith("---")
             and prev["end"] - prev["start"] == 4096)
    if m["path"] == "[heap]": k = "heap"
    elif m["path"].startswith("/"): k = "files"
    elif m["path"] or m["perm"].startswith("---"): continue
    elif guard and kib == 256: k = "fibers"
    elif guard and kib in (8188, 8192): k = "threads"
    elif m["start"] % (64 << 20) == 0: k = "arenas"
    else: k = "mapped"
    sums[k] += m["anon"]
print(" ".join("%7d" % sums[k] for k in sums))
PY
}

echo "idle: $(grep RssAnon "/proc/$SERVER_PID/status")"
"$BENCH" run --server "127.0.0.1:$PORT" --ca "$C/ca.pem" --cert "$C/city.pem" \
  --key "$C/city.key" --connections 4 --no-health --rounds 1 --inflight 64 --duration "$DURATION" mix \
  >"$TMP/bench.txt" 2>&1 &
BENCH_PID=$!
T0=$(date +%s)
echo "     s  RssAnon     heap   arenas   mapped   fibers  threads    files   (KiB)"
while kill -0 "$BENCH_PID" 2>/dev/null; do
  sleep "$INTERVAL"
  kill -0 "$BENCH_PID" 2>/dev/null || break
  RSS=$(awk '/^RssAnon:/ {print $2}' "/proc/$SERVER_PID/status")
  printf '%6d  %7d  %s\n' $(($(date +%s) - T0)) "$RSS" "$(classify "$SERVER_PID")"
done
wait "$BENCH_PID" || { cat "$TMP/bench.txt" >&2; exit 1; }
BENCH_PID=
cat "$TMP/bench.txt"
