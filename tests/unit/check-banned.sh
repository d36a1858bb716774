#!/usr/bin/env bash
# Fails if any of our C sources calls a function the house bans (see README).
set -u
top=${1:-.}
hits=$(grep -rnE '\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol)[[:space:]]*\(' \
  --include='*.c' --include='*.h' "$top/common" "$top/proto" "$top/storage" \
  "$top/server" "$top/client" "$top/tests" "$top/bench" 2>/dev/null |
  grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)' )
if [ -n "$hits" ]; then
  echo "banned calls found:"; echo "$hits"; exit 1
fi
echo "no banned calls in the sources"
