#!/bin/sh
# Federation speed (issue: 100,000 findings from a county to the city in a
# few seconds): fills a county store with COUNT findings, starts a city
# server and the county server with the city as its upstream, and reads the
# county's log line "sync with city-1101 done in N ms: M changes pushed".
# In the same run it measures raw LMDB batched writes (`xuncha-bench lmdb`,
# 500 puts per durable commit, no indexes or change log) and prints the
# sync rate as a ratio to it. Everything is in a temporary directory,
# removed at the end; servers listen on 127.0.0.1 only.
#
#   bench/run-sync-bench.sh [BUILD_DIR]        (default: build)
#   COUNT=100000 BATCH=500 bench/run-sync-bench.sh build
set -eu

BUILD=${1:-build}
COUNT=${COUNT:-100000}
BATCH=${BATCH:-500}
SRC=$(cd "$(dirname "$0")/.." && pwd)
XUNCHAD=$BUILD/server/xunchad
BENCH=$BUILD/bench/xuncha-bench
CERTS=$SRC/certs/xuncha-certs
[ -x "$XUNCHAD" ] && [ -x "$BENCH" ] || { echo "build first: $XUNCHAD, $BENCH" >&2; exit 2; }

TMP=$(mktemp -d /tmp/xuncha-sync-bench.XXXXXX)
CITY_PID=
COUNTY_PID=
cleanup() {
  [ -n "$COUNTY_PID" ] && kill "$COUNTY_PID" 2>/dev/null || true
  [ -n "$CITY_PID" ] && kill "$CITY_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

C=$TMP/certs
"$CERTS" ca "$C" >/dev/null
"$CERTS" server "$C" >/dev/null
"$CERTS" client "$C" --cn office:110105 >/dev/null
printf 'city-1101 = 1101\ncounty-110105 = 110105\n' >"$TMP/homes"

# Waits for the port file $1 and prints the port.
wait_port() {
  i=0
  while [ ! -s "$1" ]; do
    i=$((i + 1)); [ $i -lt 3000 ] || { echo "xunchad did not start (see $2)" >&2; cat "$2" >&2; exit 1; }
    sleep 0.01
  done
  cat "$1"
}

echo "raw LMDB floor, $COUNT records:"
mkdir "$TMP/raw"
RAW=$("$BENCH" lmdb --data "$TMP/raw" --count "$COUNT" --per-commit "$BATCH")
echo "  $RAW"
RAW_RATE=$(echo "$RAW" | sed -n 's/.* \([0-9]*\) records\/s$/\1/p')
rm -rf "$TMP/raw"

echo "filling the county store with $COUNT findings (the storage API, 1000 per commit)..."
FILL=$("$BENCH" fill --data "$TMP/county" --count "$COUNT" --region 110105 2>/dev/null)
echo "  $FILL"
FILL_SECS=$(echo "$FILL" | sed -n 's/.* in \([0-9.]*\) s$/\1/p')

"$XUNCHAD" --listen 127.0.0.1:0 --port-file "$TMP/city.port" --data "$TMP/city" \
  --cert "$C/server.pem" --key "$C/server.key" --ca "$C/ca.pem" \
  --server-name city-1101 --homes "$TMP/homes" --log-level warn 2>"$TMP/city.log" &
CITY_PID=$!
CITY_PORT=$(wait_port "$TMP/city.port" "$TMP/city.log")

"$XUNCHAD" --listen 127.0.0.1:0 --port-file "$TMP/county.port" --data "$TMP/county" \
  --cert "$C/server.pem" --key "$C/server.key" --ca "$C/ca.pem" \
  --server-name county-110105 --homes "$TMP/homes" \
  --upstream "127.0.0.1:$CITY_PORT" --upstream-cert "$C/office-110105.pem" \
  --upstream-key "$C/office-110105.key" --sync-batch "$BATCH" --sync-interval 3600 \
  2>"$TMP/county.log" &
COUNTY_PID=$!
wait_port "$TMP/county.port" "$TMP/county.log" >/dev/null

i=0
until grep -q "sync with city-1101 done" "$TMP/county.log"; do
  i=$((i + 1))
  if [ $i -gt 6000 ]; then echo "the sync did not finish in 10 minutes" >&2; cat "$TMP/county.log" >&2; exit 1; fi
  if grep -q "failed" "$TMP/county.log"; then cat "$TMP/county.log" >&2; exit 1; fi
  sleep 0.1
done
LINE=$(grep "sync with city-1101 done" "$TMP/county.log" | head -1)
MS=$(echo "$LINE" | sed -n 's/.*done in \([0-9]*\) ms.*/\1/p')
PUSHED=$(echo "$LINE" | sed -n 's/.*: \([0-9]*\) changes pushed.*/\1/p')
echo "sync county -> city: $PUSHED changes in $MS ms, batches of $BATCH"
awk -v p="$PUSHED" -v ms="$MS" -v raw="$RAW_RATE" -v n="$COUNT" -v fs="$FILL_SECS" 'BEGIN {
  rate = p / (ms / 1000.0);
  fill = n / fs;
  printf "  %.0f changes/s; raw LMDB batched writes %d records/s: ratio %.0f %%\n", rate, raw, 100.0 * rate / raw;
  printf "  (the storage API with indexes, counters and change log, batched: %.0f records/s: ratio %.0f %%)\n", fill, 100.0 * rate / fill }'
