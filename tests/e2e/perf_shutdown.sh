#!/bin/sh
# Nothing acknowledged is lost: xunchad gets SIGTERM while xuncha-bench keeps
# 64 CreateFinding calls in flight. The server must stop cleanly, and the
# store must then hold every finding the client saw acknowledged (the 1000
# seeds plus the acknowledged creates), and at most the 64 that were in
# flight besides (committed, but the reply was lost with the connection).
#
#   perf_shutdown.sh XUNCHAD XUNCHA_BENCH XUNCHA_CERTS
set -eu
XUNCHAD=$1
BENCH=$2
CERTS=$3
TMP=$(mktemp -d /tmp/xc-perf-shutdown.XXXXXX)
SP=
BP=
cleanup() {
  [ -n "$SP" ] && kill -KILL "$SP" 2>/dev/null || true
  [ -n "$BP" ] && kill -KILL "$BP" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$CERTS" dev "$TMP/certs" >/dev/null
C=$TMP/certs
"$XUNCHAD" --listen 127.0.0.1:0 --port-file "$TMP/port" --data "$TMP/data" \
  --cert "$C/server.pem" --key "$C/server.key" --ca "$C/ca.pem" 2>"$TMP/server.log" &
SP=$!
i=0
while [ ! -s "$TMP/port" ]; do
  i=$((i + 1)); [ $i -le 1000 ] || fail "xunchad did not start"; sleep 0.01
done
"$BENCH" run --server "127.0.0.1:$(cat "$TMP/port")" --ca "$C/ca.pem" --cert "$C/city.pem" \
  --key "$C/city.key" --no-health --inflight 64 --duration 4 --warmup 0 create \
  >"$TMP/bench.out" 2>&1 &
BP=$!
i=0
while ! grep -q '^setup:' "$TMP/bench.out" 2>/dev/null; do
  i=$((i + 1)); [ $i -le 3000 ] || fail "the bench's setup did not finish"; sleep 0.01
done
sleep 1
kill -TERM "$SP"
status=0
wait "$SP" || status=$?
SP=
[ "$status" -eq 0 ] || fail "xunchad exited with $status after SIGTERM"
wait "$BP" || true
BP=
acked=$(awk '/^acknowledged creates/ {print $NF}' "$TMP/bench.out")
stored=$("$BENCH" disk --data "$TMP/data" | awk '$1 == "finding" {print $2}')
[ -n "$acked" ] && [ -n "$stored" ] || { cat "$TMP/bench.out"; fail "no counts"; }
echo "acknowledged creates: $acked; findings stored: $stored (1000 seeded)"
[ "$acked" -gt 0 ] || fail "no create was acknowledged before the shutdown"
[ "$stored" -ge $((acked + 1000)) ] || fail "acknowledged writes were lost"
[ "$stored" -le $((acked + 1000 + 64)) ] || fail "more findings stored than were ever in flight"
grep -q 'server stopped' "$TMP/server.log" || fail "no clean stop in the server log"
echo "PASS"
