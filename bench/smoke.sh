#!/usr/bin/env bash
# bench_smoke (CTest): start pushcore on port 0, run every bench scenario for about a second
# with small N, and check that deliveries arrived with no losses, duplicates or errors
# (pushcore-bench --check). No timing assertions. Also exercises --procs, --json and summarize.
#
#   smoke.sh PUSHCORE_BINARY PUSHCORE_BENCH_BINARY
set -euo pipefail

SERVER="$1"
BENCH="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=bench/server_lib.sh
source "$HERE/server_lib.sh"
start_server "$TMP/server.log"

COMMON=(--port "$PORT" --server-pid "$SPID" --check --quiet --json "$TMP/runs.jsonl" --warmup 0.2)
FAILED=0
run() {
    local t0 t1
    t0=$(date +%s%N)
    if "$BENCH" "$@" "${COMMON[@]}" >"$TMP/out.txt" 2>&1; then
        t1=$(date +%s%N)
        printf 'ok    %-70s %d ms\n' "$*" $(((t1 - t0) / 1000000))
    else
        echo "FAIL  $*"
        cat "$TMP/out.txt"
        FAILED=1
    fi
}

run fanout -n 60 -c 3 --rate 6000 -d 1
run fanout -n 60 -c 2 --channel-type private --max --inflight 4 -d 1
run fanout -n 40 -c 4 --channel-type presence --procs 2 --src-addrs 2 --rate 4000 --batch 2 -d 1
run connect -n 300 --channel-type private
run connect -n 100 --phased
run churn -n 50 -c 2 --churners 20 --rate 5000 -d 1
run presence -n 40 -c 2 --watchers 2 -d 1
run client-events -n 20 -c 2 --event-rate 500 -d 1
run slow -n 40 -c 1 --rate 4000 --slow-share 0.25 -d 0.5
run soak -n 60 -c 2 --churners 20 --channel-type presence --rate 3000 -d 1 --sample-every 0.5

if ! "$BENCH" summarize "$TMP/runs.jsonl" >"$TMP/summary.txt" 2>&1; then
    echo "FAIL  summarize"; cat "$TMP/summary.txt"; FAILED=1
fi
for s in fanout connect churn presence client-events slow soak; do
    grep -q "== $s " "$TMP/summary.txt" || { echo "FAIL  summary lacks $s"; FAILED=1; }
done
kill -0 "$SPID" 2>/dev/null || { echo "FAIL  the server died"; FAILED=1; }
kill "$SPID" && wait "$SPID" 2>/dev/null || true

# Slow consumer among a thousand: small budgets (64 KiB queue, 16 KiB SO_SNDBUF) so that one
# subscriber that never reads must be closed with 4100 within the window while the other 999
# receive every message, and the server's RSS stays bounded. The slow one trips after ~100 KB,
# i.e. after ~100 MB went to the others; 20 MB/s (4 KB events, 5 per second each) gets there in
# ~5 s of the 8 s window while a reader may lag ~3 s (16 events) before it counts as slow, so a
# loaded machine or a sanitizer build does not shed the fast ones.
# close_timeout 60: the shed subscriber reads its 4100 only when the bench lets it read again.
start_server "$TMP/server-slow.log" SENDQ_MAX_BYTES=65536 SENDQ_SOCKET_KB=16 CLOSE_TIMEOUT=60
COMMON=(--port "$PORT" --server-pid "$SPID" --check --quiet --json "$TMP/slow.jsonl" --warmup 0.2)
run slow -n 1000 -c 1 --payload 4000 --rate 5000 --slow-share 0.001 -d 8 --expect-shed --max-rss-growth-kb 32768
grep -q 'slow_consumer_closed' "$TMP/server-slow.log" || { echo "FAIL  no slow_consumer_closed log line"; FAILED=1; }
kill -0 "$SPID" 2>/dev/null || { echo "FAIL  the server died"; FAILED=1; }
[ "$FAILED" = 0 ] && echo "bench smoke: all scenarios passed"
exit "$FAILED"
