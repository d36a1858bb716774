#!/usr/bin/env bash
# Runs xc_fuzz_requests for $XC_FUZZ_SECONDS seconds (default 20) with a
# fixed seed ($XC_FUZZ_SEED, else SEED, else 7) from the seed corpus, in a scratch
# corpus directory (the repository's corpus is only read). Fails on any crash,
# leak or sanitizer report (libFuzzer exits non-zero and leaves a crash-*
# or leak-* file), or when any request type never reached its handler.
#
#   run_fuzz.sh FUZZER CORPUS_DIR [SEED]
set -euo pipefail
fuzzer=$1
seeds=$2
secs=${XC_FUZZ_SECONDS:-20}
seed=${XC_FUZZ_SEED:-${3:-7}}
work=$(mktemp -d "${TMPDIR:-/tmp}/xc-fuzz-run.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
export XC_FUZZ_COUNTS=$work/counts
# Leaks are reported by ASan at exit; UBSan findings abort (the build uses
# -fno-sanitize-recover=undefined).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

echo "fuzz: $fuzzer for ${secs}s, seed $seed, $(ls "$seeds" | wc -l) seeds"
set +e
"$fuzzer" -seed="$seed" -max_total_time="$secs" -max_len=8192 -timeout=20 \
  -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/" \
  "$work/corpus" "$seeds" >"$work/log" 2>&1
rc=$?
set -e
tail -n 25 "$work/log"
if [ $rc -ne 0 ]; then
  echo "fuzz: the fuzzer failed (exit $rc); the input that did it:" >&2
  for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
    [ -e "$f" ] && { echo "  $f:" >&2; od -A d -t x1 "$f" | head -20 >&2; }
  done
  grep -m 40 -E "ERROR|SUMMARY|runtime error|#[0-9]+ 0x" "$work/log" >&2 || true
  exit 1
fi
if [ ! -s "$XC_FUZZ_COUNTS" ]; then
  echo "fuzz: no per-method counts were written" >&2
  exit 1
fi
echo "fuzz: inputs that reached each handler:"
sed 's/^/  /' "$XC_FUZZ_COUNTS"
missing=$(awk '$1 == 0 { print $2 }' "$XC_FUZZ_COUNTS")
if [ -n "$missing" ]; then
  echo "fuzz: these request types never reached their handler:" >&2
  echo "$missing" >&2
  exit 1
fi
echo "fuzz: every request type reached its handler; no crash, leak or sanitizer report"
