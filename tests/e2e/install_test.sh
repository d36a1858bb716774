#!/bin/bash
# e2e_install: `cmake --install` into a temporary prefix, then use only what
# was installed: run the binaries from there, start the installed xunchad
# with a config file and development certificates on 127.0.0.1:0, query it
# with the installed CLI, and build a small program against the installed
# libxuncha with nothing but `pkg-config xuncha`.
#
#   install_test.sh BUILD_DIR SOURCE_DIR
set -u
build=$1
src=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xc-install.XXXXXX")
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  fi
  [ -n "${XC_E2E_KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
ok() { echo "  ok    $1"; }
fail() { echo "  FAIL  $1"; fails=$((fails + 1)); }
check() { if eval "$1"; then ok "$2"; else fail "$2"; fi; }

p=$tmp/prefix
if ! cmake --install "$build" --prefix "$p" >"$tmp/install.log" 2>&1; then
  cat "$tmp/install.log"
  echo "cmake --install failed"
  exit 1
fi
libdir=$(dirname "$(find "$p" -name xuncha.pc | head -1)")
libdir=${libdir%/pkgconfig}

for f in sbin/xunchad bin/xuncha bin/xuncha-certs include/xuncha/client.h \
  include/xuncha/xc_status.h include/xuncha/xuncha/v1/xuncha.pb-c.h \
  include/xuncha/xuncha/v1/admin.pb-c.h \
  share/man/man1/xuncha.1 share/man/man8/xunchad.8 etc/xuncha/xunchad.conf.example \
  lib/systemd/system/xunchad.service lib/sysusers.d/xuncha.conf lib/tmpfiles.d/xuncha.conf \
  share/bash-completion/completions/xuncha share/xuncha/xuncha.descriptor_set.pb; do
  check '[ -e "$p/$f" ]' "installed $f"
done
check '[ -e "$libdir/libxuncha.so" ] && [ -e "$libdir/libxuncha.a" ] && [ -e "$libdir/pkgconfig/xuncha.pc" ]' \
  "installed libxuncha.so, libxuncha.a and xuncha.pc in ${libdir#$p/}"
check 'grep -q "^ExecStart=$p/sbin/xunchad --config $p/etc/xuncha/xunchad.conf" "$p/lib/systemd/system/xunchad.service"' \
  "the unit runs the installed xunchad with the installed config path"
for k in NoNewPrivileges=yes ProtectSystem=strict ReadWritePaths=/var/lib/xuncha Restart=on-failure User=xuncha; do
  check 'grep -q "^$k" "$p/lib/systemd/system/xunchad.service"' "the unit has $k"
done
if command -v systemd-analyze >/dev/null 2>&1; then
  # Checks the unit's syntax; the binary path is a temporary one, so only
  # warnings about the unit's own keys count.
  out=$(systemd-analyze verify "$p/lib/systemd/system/xunchad.service" 2>&1)
  check '! grep -qi "unknown key\|unknown section\|failed to parse\|invalid" <<<"$out"' \
    "systemd-analyze verify finds no bad key in the unit"
fi
if command -v groff >/dev/null 2>&1; then
  for m in share/man/man1/xuncha.1 share/man/man8/xunchad.8; do
    out=$(groff -K utf8 -Tutf8 -man -ww -z "$p/$m" 2>&1)
    check '[ -z "$out" ]' "$m formats without warnings"
  done
fi

out=$("$p/sbin/xunchad" --version 2>&1)
check 'grep -q "^xunchad [0-9]" <<<"$out"' "installed xunchad --version ($out)"
out=$("$p/bin/xuncha" --help 2>&1)
check '[ $? -eq 0 ] && grep -q "Usage" <<<"$out"' "installed xuncha --help"

# The example config must be accepted as shipped (apart from its paths).
certs=$tmp/certs
bash "$p/bin/xuncha-certs" dev "$certs" >/dev/null || fail "installed xuncha-certs dev"
sed -e "s|^listen = .*|listen = 127.0.0.1:0|" -e "s|/etc/xuncha/tls/|$certs/|" \
  -e "s|^data = .*|data = $tmp/data|" -e "s|^;port_file = .*|port_file = $tmp/port|" \
  "$p/etc/xuncha/xunchad.conf.example" >"$tmp/xunchad.conf"
out=$("$p/sbin/xunchad" --config "$tmp/xunchad.conf" --check-config 2>&1)
check '[ $? -eq 0 ]' "the example config passes --check-config ($out)"

"$p/sbin/xunchad" --config "$tmp/xunchad.conf" >"$tmp/xunchad.log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do [ -s "$tmp/port" ] && break; sleep 0.1; done
if [ ! -s "$tmp/port" ]; then
  cat "$tmp/xunchad.log"
  echo "the installed xunchad did not start"
  exit 1
fi
port=$(cat "$tmp/port")
export XUNCHA_SERVER=127.0.0.1:$port XUNCHA_CA=$certs/ca.pem
export XUNCHA_CERT=$certs/county-a.pem XUNCHA_KEY=$certs/county-a.key
out=$("$p/bin/xuncha" --lang en health check 2>&1)
check '[ $? -eq 0 ] && grep -q SERVING <<<"$out"' "installed CLI: health check"
out=$("$p/bin/xuncha" target create --region 310104 --name 安装测试单位 --kind 区县直单位 2>&1)
check '[ $? -eq 0 ]' "installed CLI: target create ($out)"
out=$("$p/bin/xuncha" --csv target list 2>&1)
check 'grep -q 安装测试单位 <<<"$out"' "installed CLI: target list shows it"

# Bash completion offers the resources and a resource's flags.
comp() {
  PATH="$p/bin:$PATH" bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1));
    _xuncha; echo "${COMPREPLY[@]}"' _ "$p/share/bash-completion/completions/xuncha" "$@"
}
out=$(comp xuncha ta)
check '[ "$out" = target ]' "bash completion: xuncha ta<TAB> gives target ($out)"
out=$(comp xuncha finding list --ro)
check '[ "$out" = --round ]' "bash completion: a resource's flags ($out)"

# A program built with only pkg-config against the installed library.
cat >"$tmp/hc.c" <<'CEOF'
#include <stdio.h>
#include <stdlib.h>
#include <xuncha/client.h>

int main(int argc, char **argv) {
  xc_client_options opt = {0};
  xc_client *c = NULL;
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  Grpc__Health__V1__HealthCheckResponse *resp = NULL;
  xc_err err;
  int rc;
  if (argc != 5) return 2;
  opt.server = argv[1];
  opt.ca_file = argv[2];
  opt.cert_file = argv[3];
  opt.key_file = argv[4];
  if (xc_client_create(&opt, &c, &err) != XC_OK) {
    fprintf(stderr, "create: %s\n", err.msg);
    return 1;
  }
  rc = xc_health_check(c, &req, &resp, 5000, &err);
  if (rc == XC_OK) printf("status %d\n", (int)resp->status);
  else fprintf(stderr, "check: %s: %s\n", xc_code_name(rc), err.msg);
  xc_message_free(resp);
  xc_client_destroy(c);
  return rc == XC_OK ? 0 : 1;
}
CEOF
export PKG_CONFIG_PATH=$libdir/pkgconfig
flags=$(pkg-config --cflags --libs xuncha 2>&1)
check '[ $? -eq 0 ]' "pkg-config --cflags --libs xuncha ($flags)"
# A sanitizer build (-DXC_SANITIZE=ON) installs a library that needs the
# sanitizer runtime first in line; only then is the program built with it.
san=""
if ldd "$libdir/libxuncha.so" 2>/dev/null | grep -q libasan; then san="-fsanitize=address,undefined"; fi
# shellcheck disable=SC2086
cc -std=c11 -Wall -Werror $san -o "$tmp/hc" "$tmp/hc.c" $flags >"$tmp/cc.log" 2>&1
check '[ $? -eq 0 ]' "a program builds with only pkg-config ($(head -c 400 "$tmp/cc.log"))"
out=$(LD_LIBRARY_PATH=$libdir "$tmp/hc" "127.0.0.1:$port" "$certs/ca.pem" "$certs/city.pem" "$certs/city.key" 2>&1)
check '[ "$out" = "status 1" ]' "it calls Health/Check on the installed server: SERVING ($out)"
check 'LD_LIBRARY_PATH=$libdir ldd "$tmp/hc" | grep -q "$libdir/libxuncha.so"' "it uses the installed libxuncha.so"

kill -TERM "$pid"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait "$pid"
check '[ $? -eq 0 ]' "the installed xunchad stops cleanly on SIGTERM"
pid=""

if [ "$fails" -ne 0 ]; then
  echo "--- xunchad log ---"
  tail -20 "$tmp/xunchad.log"
  echo "$fails checks failed"
  exit 1
fi
echo "all checks passed"
