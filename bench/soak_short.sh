#!/usr/bin/env bash
# soak_short (CTest): the CI-sized soak. pushcore with 2 workers; 1000 stable subscribers on 20
# presence channels, 200 churners joining and leaving them as fast as they can, publishes at
# 10,000 deliveries/s, for 60 s after a 10 s warmup. Fails on any loss, duplicate or error, and
# (outside ASan, whose quarantine grows RSS by design) if the server's RSS grew more than 4 MiB
# between the first and the last sample. The 30-minute run is in bench/RESULTS.md.
#
#   soak_short.sh PUSHCORE_BINARY PUSHCORE_BENCH_BINARY [DURATION_S]
set -euo pipefail

SERVER="$1"
BENCH="$2"
DURATION="${3:-60}"
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=bench/server_lib.sh
source "$HERE/server_lib.sh"
start_server "$TMP/server.log"

bound=(--max-rss-growth-kb 4096)
if [ -n "${ASAN_OPTIONS:-}" ]; then bound=(); fi
status=0
"$BENCH" soak -n 1000 -c 20 --churners 200 --channel-type presence --rate 10000 \
    -d "$DURATION" --warmup 10 --sample-every 5 "${bound[@]}" \
    --port "$PORT" --server-pid "$SPID" --check --quiet >"$TMP/out.txt" 2>&1 || status=$?
cat "$TMP/out.txt"
kill -0 "$SPID" 2>/dev/null || { echo "FAIL  the server died"; tail -20 "$TMP/server.log"; exit 1; }
if grep -q 'level=error' "$TMP/server.log"; then
    echo "FAIL  the server logged errors:"; grep 'level=error' "$TMP/server.log" | head; exit 1
fi
exit "$status"
