# bench/bench-lib.sh: what the bench scripts share. Sourced, not run; the
# sourcing script sets SRC (the source tree) first.

# Sets XUNCHAD and BENCH from the build directory BUILD_DIR, or exits with
# status 2 if they are not built there.
bench_build() {
  XUNCHAD=$1/server/xunchad
  BENCH=$1/bench/xuncha-bench
  [ -x "$XUNCHAD" ] && [ -x "$BENCH" ] || { echo "build first: $XUNCHAD, $BENCH" >&2; exit 2; }
}

# Makes a scratch directory TMP (/tmp/xuncha-NAME.XXXXXX) with development
# certificates in C; at exit, stops the bench, strace and xunchad if they
# run (BENCH_PID, STRACE_PID, SERVER_PID) and removes TMP.
bench_scratch() {
  TMP=$(mktemp -d "/tmp/xuncha-$1.XXXXXX")
  SERVER_PID=
  STRACE_PID=
  BENCH_PID=
  trap bench_cleanup EXIT INT TERM
  "$SRC/certs/xuncha-certs" dev "$TMP/certs" >/dev/null
  C=$TMP/certs
}

bench_cleanup() {
  [ -n "$BENCH_PID" ] && kill "$BENCH_PID" 2>/dev/null || true
  [ -n "$STRACE_PID" ] && kill "$STRACE_PID" 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  rm -rf "$TMP"
}

# Starts xunchad on the store DIR, with any further arguments, and waits
# (at most 10 s) until it serves; sets SERVER_PID and PORT.
start_server() {
  dir=$1
  shift
  rm -f "$TMP/port"
  "$XUNCHAD" --listen 127.0.0.1:0 --port-file "$TMP/port" --data "$dir" \
    --cert "$C/server.pem" --key "$C/server.key" --ca "$C/ca.pem" "$@" 2>"$TMP/server.log" &
  SERVER_PID=$!
  i=0
  while [ ! -s "$TMP/port" ]; do
    i=$((i + 1))
    [ $i -lt 2000 ] || { echo "xunchad did not start:" >&2; cat "$TMP/server.log" >&2; exit 1; }
    sleep 0.005
  done
  PORT=$(cat "$TMP/port")
}
