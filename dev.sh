#!/usr/bin/env bash
# dev.sh: set up, build, demo and test xuncha on a Debian 12 machine.
#
#   ./dev.sh demo    install missing packages, build, make development
#                    certificates, start xunchad on 127.0.0.1:7443 with a demo
#                    data set, and run a few CLI queries against it
#   ./dev.sh test    install missing packages, build, run every test (ctest),
#                    then again under AddressSanitizer + UBSan
#   ./dev.sh stop    stop the demo server
#   ./dev.sh deps    only install the missing Debian packages
#   ./dev.sh build   only build (into build/)
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$top"

# Every Debian package the build, the demo and the tests need.
packages=(build-essential cmake pkg-config libgrpc-dev protobuf-c-compiler
          libprotobuf-c-dev liblmdb-dev libcunit1-dev libssl-dev openssl
          libinih-dev libjansson-dev libcsv-dev protobuf-compiler grpc-proto
          python3 python3-grpcio python3-protobuf clang libclang-rt-14-dev)

build_dir=${XC_BUILD_DIR:-$top/build}
demo_dir=$top/.demo
demo_addr=127.0.0.1:7443

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else log "need root to run: $*"; exit 1
  fi
}

deps() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing missing packages: ${missing[*]}"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  fi
}

build() {
  log "building in $build_dir"
  cmake -S "$top" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${XC_CMAKE_ARGS:-} >/dev/null
  cmake --build "$build_dir" -j"$(nproc)"
}

stop_demo() {
  if [ -f "$demo_dir/xunchad.pid" ]; then
    local pid
    pid=$(cat "$demo_dir/xunchad.pid")
    if kill -0 "$pid" 2>/dev/null; then
      log "stopping xunchad (pid $pid)"
      kill -TERM "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$demo_dir/xunchad.pid"
  fi
}

demo() {
  deps
  build
  stop_demo
  mkdir -p "$demo_dir"
  log "development certificates in $demo_dir/certs"
  "$top/certs/xuncha-certs" dev "$demo_dir/certs" >/dev/null
  log "starting xunchad on $demo_addr (data in $demo_dir/data, log in $demo_dir/xunchad.log)"
  rm -f "$demo_dir/port"
  "$build_dir/server/xunchad" --listen "$demo_addr" --data "$demo_dir/data" \
    --cert "$demo_dir/certs/server.pem" --key "$demo_dir/certs/server.key" \
    --ca "$demo_dir/certs/ca.pem" --port-file "$demo_dir/port" \
    >>"$demo_dir/xunchad.log" 2>&1 &
  echo $! >"$demo_dir/xunchad.pid"
  for _ in $(seq 1 100); do [ -s "$demo_dir/port" ] && break; sleep 0.1; done
  if [ ! -s "$demo_dir/port" ]; then
    log "xunchad did not start; its log:"; cat "$demo_dir/xunchad.log" >&2; exit 1
  fi
  XC_BIN="$build_dir/client/xuncha" XC_CERTS="$demo_dir/certs" XC_SERVER="$demo_addr" \
    bash "$top/client/demo/load-demo.sh"
  log "xunchad keeps running on $demo_addr; stop it with ./dev.sh stop"
}

# Runs the whole suite twice: on the normal build, then on a build with
# AddressSanitizer and UndefinedBehaviorSanitizer (leaks included), so memory
# errors fail the run rather than pass unseen.
run_tests() {
  deps
  build
  log "running the test suite"
  (cd "$build_dir" && ctest --output-on-failure --timeout 600 ${XC_CTEST_ARGS:-})
  log "building with AddressSanitizer + UBSan in $build_dir-asan"
  cmake -S "$top" -B "$build_dir-asan" -DCMAKE_BUILD_TYPE=Debug -DXC_SANITIZE=ON >/dev/null
  cmake --build "$build_dir-asan" -j"$(nproc)"
  log "running the test suite under the sanitizers"
  (cd "$build_dir-asan" &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --output-on-failure --timeout 900 ${XC_CTEST_ARGS:-})
}

case "${1:-}" in
  demo) demo ;;
  test) run_tests ;;
  stop) stop_demo ;;
  deps) deps ;;
  build) deps; build ;;
  *) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
