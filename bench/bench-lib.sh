# bench/bench-lib.sh: what the bench scripts share. Sourced, not run; the
# sourcing script sets SRC (the source tree) and XUNCHAD first.

# Makes a scratch directory TMP (/tmp/xuncha-NAME.XXXXXX) with development
# certificates in C; at exit, stops xunchad and strace if they run
# (SERVER_PID, STRACE_PID) and removes TMP.
bench_scratch() {
  TMP=$(mktemp -d "/tmp/xuncha-$1.XXXXXX")
  SERVER_PID=
  STRACE_PID=
  trap bench_cleanup EXIT INT TERM
  "$SRC/certs/xuncha-certs" dev "$TMP/certs" >/dev/null
  C=$TMP/certs
}

bench_cleanup() {
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
    i=$((i + 1)); [ $i -lt 2000 ] || { echo "xunchad did not start" >&2; exit 1; }
    sleep 0.005
  done
  PORT=$(cat "$TMP/port")
}
