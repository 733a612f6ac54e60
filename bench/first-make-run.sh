#!/usr/bin/env bash
# #14: seconds from `make run` in a fresh clone (no .venv, no .tools, an empty uv cache) until the
# sign-in page answers 200; then stops it. Not run by CI.   bench/first-make-run.sh [PORT]
set -euo pipefail
port="${1:-18080}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/portal"
cd "$work/portal"
export UV_CACHE_DIR="$work/uv-cache"
start=$(date +%s.%N)
setsid make run PORT="$port" > "$work/run.log" 2>&1 &
leader=$!
for _ in $(seq 1 3000); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/accounts/login/")" = 200 ]; then
    echo "first make run served the sign-in page after $(echo "$(date +%s.%N) - $start" | bc) s" \
         "(load average $(cut -d' ' -f1 /proc/loadavg))"
    break
  fi
  sleep 0.1
done
kill -TERM -- "-$leader" 2>/dev/null || true
wait "$leader" 2>/dev/null || true
